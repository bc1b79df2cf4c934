"""The texts of the notifications that come with running a case: assignment, fee quotes and messages.

Each kind is rendered for a staff and a client recipient, in English and Chinese. A client
never reads staff names, internal notes or why automatic assignment failed.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from agency.accounts.models import User
from cases.models import Case
from casework import conversation
from workflows.models import Notification, NotificationKind
from workflows.notifications import render

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
REFERENCE = "AP-2026-000042"

PARAMS: dict[str, dict[str, Any]] = {
    NotificationKind.CASE_ASSIGNED: {
        "reference": REFERENCE,
        "assigned_by": "Sue Supervisor",
        "reason": "Li is on leave; taking over.",
        "automatic": False,
    },
    NotificationKind.AUTO_ASSIGNMENT_FAILED: {"reference": REFERENCE, "platform": "tmall", "why": "all_away"},
    NotificationKind.QUOTE_PROPOSED: {
        "reference": REFERENCE,
        "fee_model": "per_order_cleared",
        "amount": "300.00",
        "currency": "CNY",
        "quoted_total": "900.00",
        "refund_if_failed": False,
    },
    NotificationKind.QUOTE_DECIDED: {
        "reference": REFERENCE,
        "decision": "accepted",
        "version": 2,
        "note": "Agreed by phone with the owner; he sounded unsure.",
    },
    NotificationKind.MESSAGE_RECEIVED: {
        "reference": REFERENCE,
        "from_client": False,
        "excerpt": "Please upload the signed delivery slips.",
    },
}
NEW_KINDS = list(PARAMS)
# Chinese punctuation (a full-width colon) is expected in the Chinese texts below.
ZH_COLON = "\uff1a"
# Words and values that belong to the agency's internal work: never in a client's text.
INTERNAL = (
    "Sue Supervisor",
    "on leave",
    "he sounded unsure",
    "assigned",
    "skill",
    "away",
    "supervisor",
    "case manager",
    "assessment",
    "internal",
)


def notification(user: User, kind: str, **overrides: Any) -> Notification:
    return Notification(recipient=user, kind=kind, params={**PARAMS[kind], **overrides}, dedupe_key="k")


def text_of(user: User, kind: str, language: str = "en", **overrides: Any) -> str:
    title, body = render(notification(user, kind, **overrides), language)
    return f"{title}\n{body}"


@pytest.mark.parametrize("kind", NEW_KINDS)
@pytest.mark.parametrize("audience", ["manager", "alice"])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_new_kind_renders_for_both_audiences_in_both_languages(request, kind, audience, language):
    user = request.getfixturevalue(audience)

    title, body = render(notification(user, kind), language)

    assert REFERENCE in title
    assert body
    if language == "zh-hans":
        assert CJK.search(title), title
        assert CJK.search(body), body
    else:
        assert not CJK.search(f"{title}{body}")


@pytest.mark.parametrize("kind", NEW_KINDS)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_client_never_reads_anything_internal(alice, kind, language):
    text = text_of(alice, kind, language)

    for word in INTERNAL:
        assert word.lower() not in text.lower(), (kind, word)
    for word in ("主管", "技能", "不在岗", "案件经理", "备注"):
        assert word not in text, (kind, word)


@pytest.mark.parametrize("kind", [NotificationKind.CASE_ASSIGNED, NotificationKind.AUTO_ASSIGNMENT_FAILED])
def test_assignment_notices_reaching_a_client_fall_back_to_the_generic_text(alice, kind):
    assert text_of(alice, kind) == (
        f"Update on case {REFERENCE}\nThere is an update on case {REFERENCE}. Please open the case for details."
    )


def test_case_assigned_by_a_supervisor(manager):
    assert text_of(manager, NotificationKind.CASE_ASSIGNED) == (
        f"Case {REFERENCE} is assigned to you\n"
        f"Sue Supervisor assigned case {REFERENCE} to you.\n"
        "Reason: Li is on leave; taking over."
    )


def test_case_assigned_automatically_without_a_reason(manager):
    text = text_of(manager, NotificationKind.CASE_ASSIGNED, automatic=True, reason="", assigned_by="intake")

    assert text == f"Case {REFERENCE} is assigned to you\nCase {REFERENCE} was assigned to you automatically at intake."


def test_case_assigned_in_chinese(manager):
    text = text_of(manager, NotificationKind.CASE_ASSIGNED, "zh-hans")

    assert f"Sue Supervisor 将案件 {REFERENCE} 分配给了您。" in text
    assert f"原因{ZH_COLON}Li is on leave; taking over." in text


@pytest.mark.parametrize(
    ("why", "because"),
    [
        ("all_away", "Why: Every case manager with the Tmall skill is away."),
        ("no_skill", "Why: No case manager has the Tmall skill."),
        ("something_new", "Why: No eligible case manager was found."),
    ],
)
def test_auto_assignment_failed_says_why_and_what_to_do(supervisor, why, because):
    text = text_of(supervisor, NotificationKind.AUTO_ASSIGNMENT_FAILED, why=why)

    assert text == (
        f"New case {REFERENCE} needs a case manager\n"
        f"Case {REFERENCE} could not be assigned automatically.\n"
        f"{because}\n"
        "What to do: Assign the case to a case manager."
    )


def test_quote_proposed_to_the_client_gives_the_terms_and_what_to_do(alice):
    assert text_of(alice, NotificationKind.QUOTE_PROPOSED) == (
        f"A fee quote for case {REFERENCE} is waiting for you\n"
        f"We have proposed a fee for your case {REFERENCE}.\n"
        "Fee model: Success fee per order cleared\n"
        "Amount: 300.00 CNY\n"
        "At most: 900.00 CNY\n"
        "What to do: Please accept or reject the quote in the client portal."
    )


def test_a_flat_quote_with_a_refund_says_so(alice):
    text = text_of(
        alice, NotificationKind.QUOTE_PROPOSED, fee_model="flat", amount="8000.00", quoted_total="8000.00",
        refund_if_failed=True,
    )  # fmt: skip

    assert "Fee model: Flat fee" in text
    assert "The fee is refunded in full if the appeal fails." in text


def test_quote_proposed_in_chinese(alice):
    text = text_of(alice, NotificationKind.QUOTE_PROPOSED, "zh-hans")

    assert f"案件 {REFERENCE} 的费用报价等待您确认" in text
    assert f"金额{ZH_COLON}300.00 CNY" in text
    assert f"需要您做的{ZH_COLON}请在客户门户中接受或拒绝该报价。" in text


def test_quote_proposed_for_staff(supervisor):
    text = text_of(supervisor, NotificationKind.QUOTE_PROPOSED)

    assert text.startswith(f"Fee quote proposed on {REFERENCE}\nCase {REFERENCE}: a fee quote was sent to the client.")
    assert "At most: 900.00 CNY" in text


@pytest.mark.parametrize(
    ("decision", "title", "action"),
    [
        ("accepted", "The client accepted the fee quote on", "The case can now be taken on."),
        ("rejected", "The client rejected the fee quote on", "Propose a revised quote or decline the case."),
        ("reject", "The client rejected the fee quote on", "Propose a revised quote or decline the case."),
        ("", "The client decided on the fee quote on", "Open the case to see the decision."),
    ],
)
def test_quote_decided_tells_staff_the_decision_the_note_and_the_next_step(manager, decision, title, action):
    assert text_of(manager, NotificationKind.QUOTE_DECIDED, decision=decision) == (
        f"{title} {REFERENCE}\n"
        "Quote version: 2\n"
        "Note: Agreed by phone with the owner; he sounded unsure.\n"
        f"What to do: {action}"
    )


def test_quote_decided_reaching_a_client_has_no_note(alice):
    assert text_of(alice, NotificationKind.QUOTE_DECIDED) == (
        f"Fee quote on case {REFERENCE}\nThe fee quote for your case {REFERENCE} is accepted."
    )


def test_a_message_from_the_agency_for_the_client(alice):
    assert text_of(alice, NotificationKind.MESSAGE_RECEIVED) == (
        f"New message from the agency on case {REFERENCE}\n"
        f"The agency has written to you about your case {REFERENCE}.\n"
        "Message: Please upload the signed delivery slips.\n"
        "What to do: Please open your case in the client portal to read and answer it."
    )


def test_a_message_from_the_client_for_staff(manager):
    text = text_of(manager, NotificationKind.MESSAGE_RECEIVED, from_client=True, excerpt="Uploaded them.")

    assert text == (
        f"New message from the client on {REFERENCE}\n"
        "Message: Uploaded them.\n"
        "What to do: Read and answer it in the case's message thread."
    )


def test_a_message_in_chinese(alice):
    text = text_of(alice, NotificationKind.MESSAGE_RECEIVED, "zh-hans")

    assert f"案件 {REFERENCE}{ZH_COLON}代理机构发来新消息" in text
    assert f"消息{ZH_COLON}Please upload the signed delivery slips." in text


@pytest.mark.parametrize("kind", NEW_KINDS)
@pytest.mark.parametrize("audience", ["manager", "alice"])
def test_malformed_params_never_break_rendering(request, kind, audience):
    user = request.getfixturevalue(audience)
    broken = Notification(
        recipient=user,
        kind=kind,
        params={"reference": REFERENCE, "amount": None, "version": ["x"], "why": 3, "excerpt": {"a": 1}, "note": 5},
        dedupe_key="k",
    )

    title, body = render(broken, "en")

    assert REFERENCE in title
    assert "None" not in body
    assert "['x']" not in body


def test_the_reference_comes_from_the_case_when_params_lack_it(alice, case_in):
    case: Case = case_in("intake")
    row = Notification(recipient=alice, kind=NotificationKind.MESSAGE_RECEIVED, case=case, params={}, dedupe_key="k")

    title, _body = render(row, "en")

    assert title == f"New message from the agency on case {case.reference}"


def test_a_posted_message_reaches_the_clients_notification_list_in_their_language(api, case_in, manager, alice):
    case: Case = case_in("assessment")
    conversation.message_post(case_id=case.pk, actor=manager, body="请上传签收单。")

    en = api(alice).get("/api/v1/notifications/").data["results"]
    zh = api(alice).get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="zh-hans").data["results"]

    messages_en = [row for row in en if row["kind"] == NotificationKind.MESSAGE_RECEIVED]
    messages_zh = [row for row in zh if row["kind"] == NotificationKind.MESSAGE_RECEIVED]
    assert [row["title"] for row in messages_en] == [f"New message from the agency on case {case.reference}"]
    assert "Message: 请上传签收单。" in messages_en[0]["body"]
    assert "manager" not in messages_en[0]["body"].lower()
    assert [row["title"] for row in messages_zh] == [f"案件 {case.reference}{ZH_COLON}代理机构发来新消息"]


# --- A system reason travels as a code and is worded for the reader (issue 12) --------------------

SYSTEM_REASON = {
    "reason_code": "auto_assigned_least_work",
    "reason_params": {"work": 14, "cases": 1, "orders": 4},
    "automatic": True,
}


def test_a_coded_reason_is_worded_in_english(manager):
    text = text_of(manager, NotificationKind.CASE_ASSIGNED, reason="", **SYSTEM_REASON)

    assert text.endswith("Reason: Automatic: least open work (score 14: 1 open cases, 4 open orders).")


def test_a_coded_reason_is_worded_in_chinese_with_no_english_left(manager):
    text = text_of(manager, NotificationKind.CASE_ASSIGNED, "zh-hans", reason="", **SYSTEM_REASON)

    reason = "自动分配：未结工作量最少（得分 14：1 个未结案件，4 个未结被标记订单）。"  # noqa: RUF001 - Chinese punctuation
    assert text.endswith(f"原因{ZH_COLON}{reason}")
    assert re.findall(r"[A-Za-z]{2,}", text.replace(REFERENCE, "")) == []


@pytest.mark.parametrize("params", [{"work": "x"}, None, ["x"]])
def test_a_coded_reason_that_cannot_be_worded_is_left_out(manager, params):
    text = text_of(manager, NotificationKind.CASE_ASSIGNED, reason="", reason_code="auto_assigned_least_work",
                   reason_params=params, automatic=True)  # fmt: skip

    assert text == f"Case {REFERENCE} is assigned to you\nCase {REFERENCE} was assigned to you automatically at intake."
