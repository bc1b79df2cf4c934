"""The client's timeline (``casework.timeline``): the sentences for running a case (messages, fee quotes, the
platform's requests, outcomes and recovery) and for its deadlines.

Every sentence is the client's business and reveals nothing internal: no reasons (which
can be staff notes), no per-order notes, no staff names, no deadline titles.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone, translation

from cases.history import CLIENT_VISIBLE_KINDS
from cases.models import Case, CaseEvent, EventKind
from casework import conversation
from casework.timeline import describe

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
SECRET = "Owner sounded evasive on the phone"


def event(kind: str, new_value: Any = None, reason: str = SECRET) -> CaseEvent:
    return CaseEvent(kind=kind, new_value=new_value, reason=reason)


QUOTE = {
    "quote": 7,
    "version": 1,
    "fee_model": "flat",
    "amount": "8000.00",
    "currency": "CNY",
    "refund_if_failed": False,
    "quoted_total": "8000.00",
    "status": "proposed",
}

SENTENCES = [
    (
        event(EventKind.MESSAGE_POSTED, {"message": 1, "from_client": True, "body": "hi"}),
        "You sent the agency a message.",
    ),
    (
        event(EventKind.MESSAGE_POSTED, {"message": 2, "from_client": False, "body": "hi"}),
        "The agency sent you a message.",
    ),
    (event(EventKind.QUOTE_PROPOSED, QUOTE), "We proposed a flat fee of 8000.00 CNY."),
    (
        event(EventKind.QUOTE_PROPOSED, {**QUOTE, "refund_if_failed": True}),
        "We proposed a flat fee of 8000.00 CNY. It is refunded in full if the appeal fails.",
    ),
    (
        event(
            EventKind.QUOTE_PROPOSED,
            {**QUOTE, "fee_model": "per_order_cleared", "amount": "300.00", "quoted_total": "900.00"},
        ),
        "We proposed a success fee of 300.00 CNY per order cleared, at most 900.00 CNY.",
    ),
    (
        event(EventKind.QUOTE_PROPOSED, {**QUOTE, "fee_model": "per_case_won"}),
        "We proposed a success fee of 8000.00 CNY if the appeal succeeds.",
    ),
    (event(EventKind.QUOTE_ACCEPTED, {**QUOTE, "status": "accepted"}), "The fee quote was accepted."),
    (event(EventKind.QUOTE_REJECTED, {**QUOTE, "status": "rejected"}), "The fee quote was rejected."),
    (event(EventKind.QUOTE_WITHDRAWN, {**QUOTE, "status": "withdrawn"}), "An earlier fee quote no longer applies."),
    (
        event(EventKind.FEE_DUE_COMPUTED, {"quote": 7, "amount_due": "600.00", "currency": "CNY"}),
        "The fee due for your case is 600.00 CNY.",
    ),
    (event(EventKind.FEE_DUE_COMPUTED, {"quote": 7}), "The fee due for your case has been worked out."),
    (
        event(EventKind.SUPPLEMENT_REQUESTED, {"what": "Staff: chase the courier", "due_at": None}),
        "The platform asked for more material. We are preparing it.",
    ),
    (event(EventKind.SUPPLEMENT_ANSWERED, {"supplement": 3}), "We sent the additional material to the platform."),
    (
        event(EventKind.ORDER_OUTCOMES_RECORDED, {"orders_cleared": 2, "orders_upheld": 1, "points_restored": 4}),
        "The platform's decision per order: 2 cleared, 1 upheld. Points restored: 4.",
    ),
    (
        event(EventKind.ORDER_OUTCOMES_RECORDED, {"cleared": 3, "upheld": 0, "points_restored": 0}),
        "The platform's decision per order: 3 cleared, 0 upheld.",
    ),
    (
        event(EventKind.ORDER_OUTCOMES_RECORDED, {"orders": [{"order": 1, "note": SECRET}]}),
        "The platform's decision on each flagged order has been recorded.",
    ),
    (
        event(EventKind.EVIDENCE_BATCH_UPLOADED, {"batch": 4, "stored": 800, "archive_name": "warehouse.zip"}),
        "Evidence received: 800 files from “warehouse.zip”.",
    ),
    (
        event(EventKind.EVIDENCE_BATCH_UPLOADED, {"batch": 4, "stored": 1, "archive_name": "一个.zip"}),
        "Evidence received: 1 file from “一个.zip”.",
    ),
    (
        event(EventKind.RECOVERY_PLAN_CREATED, {"plan": 1}),
        "We have drawn up a plan to help your shop recover its reputation.",
    ),
    (
        event(EventKind.RECOVERY_TASK_CHANGED, {"task": 1, "title": "Train staff", "status": "done"}),
        "A step of your recovery plan is done: Train staff.",
    ),
    (event(EventKind.RECOVERY_TASK_CHANGED, {"task": 1, "status": "done"}), "A step of your recovery plan is done."),
    (
        event(EventKind.RECOVERY_TASK_CHANGED, {"task": 1, "title": "Train staff", "status": "in_progress"}),
        "A step of your recovery plan was updated: Train staff.",
    ),
    (event(EventKind.RECOVERY_TASK_CHANGED, None), "A step of your recovery plan was updated."),
    (
        event(EventKind.RECOVERY_PLAN_WAIVED, {"plan": 1}),
        "The remaining steps of the recovery plan are no longer needed.",
    ),
]


@pytest.mark.parametrize(("row", "sentence"), SENTENCES)
def test_each_kind_has_a_plain_sentence_without_the_reason(row, sentence):
    assert describe(row) == sentence
    assert SECRET not in describe(row)


def test_a_supplement_request_says_by_when():
    due = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)

    text = describe(event(EventKind.SUPPLEMENT_REQUESTED, {"due_at": due.isoformat()}))

    assert text == (
        f"The platform asked for more material by {timezone.localtime(due):%Y-%m-%d %H:%M}. We are preparing it."
    )


@pytest.mark.parametrize(("row", "sentence"), SENTENCES)
def test_each_sentence_is_translated(row, sentence):
    with translation.override("zh-hans"):
        text = describe(row)

    assert CJK.search(text), text


def test_the_new_client_kinds_are_visible_and_internal_ones_never_are():
    for kind in (
        EventKind.MESSAGE_POSTED,
        EventKind.QUOTE_PROPOSED,
        EventKind.QUOTE_ACCEPTED,
        EventKind.QUOTE_REJECTED,
        EventKind.QUOTE_WITHDRAWN,
        EventKind.FEE_DUE_COMPUTED,
        EventKind.SUPPLEMENT_REQUESTED,
        EventKind.SUPPLEMENT_ANSWERED,
        EventKind.ORDER_OUTCOMES_RECORDED,
        EventKind.RECOVERY_PLAN_CREATED,
        EventKind.RECOVERY_TASK_CHANGED,
        EventKind.RECOVERY_PLAN_WAIVED,
    ):
        assert kind in CLIENT_VISIBLE_KINDS
    for kind in (EventKind.NOTE_ADDED, EventKind.ASSESSMENT_RECORDED, EventKind.AUTO_ASSIGNMENT_FAILED):
        assert kind not in CLIENT_VISIBLE_KINDS


def test_the_portal_timeline_tells_of_messages_and_never_of_notes(api, case_in, manager, alice):
    case: Case = case_in("assessment")
    conversation.message_post(case_id=case.pk, actor=alice, body="When will you start?")
    conversation.note_add(case_id=case.pk, actor=manager, body="Not before the quote is agreed.")
    conversation.message_post(case_id=case.pk, actor=manager, body="This week.")

    response = api(alice).get(f"/api/v1/portal/cases/{case.pk}/timeline/", {"page_size": 200})

    rows = response.data["results"]
    assert [row["text"] for row in rows][-2:] == ["You sent the agency a message.", "The agency sent you a message."]
    assert "note_added" not in [row["kind"] for row in rows]
    assert "Not before the quote" not in response.content.decode()


def _event(kind: str, deadline_kind: str, due_at: str | None = "2026-03-01T02:00:00Z") -> CaseEvent:
    return CaseEvent(
        kind=kind, new_value={"deadline": 1, "kind": deadline_kind, "title": "Internal title", "due_at": due_at}
    )


@pytest.mark.parametrize(
    ("kind", "deadline_kind", "text"),
    [
        (
            EventKind.DEADLINE_SET,
            "chat_evidence_expiry",
            "Chat records for your orders must be saved by 2026-03-01 10:00.",
        ),
        (
            EventKind.DEADLINE_MOVED,
            "chat_evidence_expiry",
            "The next chat records to save are due by 2026-03-01 10:00.",
        ),
        (EventKind.DEADLINE_MET, "chat_evidence_expiry", "The chat records we need for your orders are saved."),
        (
            EventKind.DEADLINE_MISSED,
            "chat_evidence_expiry",
            "Chat records due by 2026-03-01 10:00 were not saved in time.",
        ),
        (EventKind.DEADLINE_CANCELLED, "chat_evidence_expiry", "Chat records are no longer needed at this stage."),
        (
            EventKind.DEADLINE_REOPENED,
            "chat_evidence_expiry",
            "Chat records for your orders are needed again, by 2026-03-01 10:00.",
        ),
        (EventKind.DEADLINE_REOPENED, "recovery_check_in", "The recovery check-in is open again, by 2026-03-01 10:00."),
        (EventKind.DEADLINE_SET, "client_evidence_request", "A deadline on your case is set for 2026-03-01 10:00."),
        (EventKind.DEADLINE_MET, "client_evidence_request", "A deadline on your case was met."),
        (EventKind.DEADLINE_MISSED, "client_evidence_request", "A deadline on your case has passed."),
        (EventKind.DEADLINE_CANCELLED, "client_evidence_request", "A deadline on your case no longer applies."),
    ],
)
def test_every_deadline_event_has_a_sentence_without_internal_titles(kind: str, deadline_kind: str, text: str) -> None:
    assert describe(_event(kind, deadline_kind)) == text


def test_a_deadline_sentence_survives_a_missing_due_time() -> None:
    assert describe(_event(EventKind.DEADLINE_MOVED, "recovery_check_in", None)) == (
        "Our recovery check-in with you is now planned by ?."
    )
