"""Notifications (``workflows.notifications``): created once per recipient and key, e-mailed once in the
recipient's language; and the texts of the notifications that come with running a case (assignment, fee
quotes and messages). Reading them over the API is tests/workflows/api/test_notifications.py's.

Each of those kinds is rendered for a staff and a client recipient, in English and Chinese. A client
never reads staff names, internal notes or why automatic assignment failed.
"""

from __future__ import annotations

import datetime as dt
import re
from smtplib import SMTPException
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.core import mail

from agency.accounts.models import User
from cases.models import Case
from tests.workflows.helpers import CJK, DUE_LOCAL, NOON, ZH_COLON, deadline_params, remind
from workflows import notifications
from workflows.models import DeadlineKind, EmailStatus, Notification, NotificationKind
from workflows.notifications import email_link_line, notification_email_send, notify, render
from workflows.tasks import send_notification_email

pytestmark = pytest.mark.django_db


def with_email(user: User, address: str, language: str = "zh-hans") -> User:
    user.email = address
    user.preferred_language = language
    user.save(update_fields=["email", "preferred_language"])
    return user


# --- notify -------------------------------------------------------------------------------


def test_notify_creates_one_row_per_distinct_recipient_once(
    case, deadline, alice, bob, queued, django_capture_on_commit_callbacks
):
    with_email(alice, "alice@blossom.example")
    with_email(bob, "bob@blossom.example")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = remind([alice, bob, alice], case, deadline=deadline)

    assert sorted(n.recipient_id for n in created) == sorted([alice.pk, bob.pk])
    assert Notification.objects.count() == 2
    assert len(callbacks) == 2
    assert sorted(call.args[0] for call in queued.call_args_list) == sorted(n.pk for n in created)
    row = Notification.objects.get(recipient=alice)
    assert (row.kind, row.case_id, row.deadline_id) == (NotificationKind.DEADLINE_REMINDER, case.pk, deadline.pk)
    assert row.email_status == EmailStatus.PENDING

    queued.reset_mock()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = remind([alice, bob], case, deadline=deadline)

    assert again == []
    assert Notification.objects.count() == 2
    assert callbacks == []
    queued.assert_not_called()


def test_notify_adds_only_the_recipients_that_lack_the_key(
    case, alice, bob, queued, django_capture_on_commit_callbacks
):
    with_email(alice, "alice@blossom.example")
    with_email(bob, "bob@blossom.example")
    with django_capture_on_commit_callbacks(execute=True):
        remind([alice], case)

    with django_capture_on_commit_callbacks(execute=True):
        created = remind([alice, bob], case)

    assert [n.recipient_id for n in created] == [bob.pk]
    assert queued.call_count == 2  # alice's first notice, then bob's; never alice's twice


def test_the_same_key_for_another_recipient_or_another_key_is_new(case, alice, bob, queued):
    remind([alice], case, key="k1")
    assert len(remind([alice], case, key="k2")) == 1
    assert len(remind([bob], case, key="k1")) == 1
    assert Notification.objects.count() == 3


def test_a_unique_violation_from_a_racing_insert_is_skipped_without_breaking_the_transaction(case, alice, bob, queued):
    """The race is decided by the constraint: simulate losing it after the pre-read said "new"."""
    with_email(alice, "alice@blossom.example")
    with_email(bob, "bob@blossom.example")
    real_filter = Notification.objects.filter

    def pre_read_sees_nothing(*args: Any, **kwargs: Any) -> Any:
        # The racing twin inserts alice's row just after our pre-read.
        result = real_filter(*args, **kwargs).none()
        Notification.objects.create(recipient=alice, kind="deadline_reminder", dedupe_key="race", case=case)
        return result

    with mock.patch.object(Notification.objects, "filter", side_effect=pre_read_sees_nothing):
        created = remind([alice, bob], case, key="race")

    assert [n.recipient_id for n in created] == [bob.pk]
    assert Notification.objects.filter(dedupe_key="race").count() == 2
    assert Case.objects.filter(pk=case.pk).exists()  # the outer transaction still works


def test_inactive_recipients_are_skipped(case, alice, bob, queued):
    bob.is_active = False
    bob.save(update_fields=["is_active"])

    created = remind([alice, bob], case)

    assert [n.recipient_id for n in created] == [alice.pk]


def test_a_recipient_without_an_address_gets_the_notice_but_no_email(
    case, alice, queued, django_capture_on_commit_callbacks
):
    assert alice.email == ""

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        (created,) = remind([alice], case)

    assert created.email_status == EmailStatus.NOT_SENT
    assert callbacks == []
    queued.assert_not_called()


# --- Rendering ----------------------------------------------------------------------------

STAFF_ONLY = ("Manager", "Deadline kind", "client_evidence_request", "escalat", "Escalat", "Assigned", "assignee")


@pytest.mark.parametrize(
    "kind", [NotificationKind.DEADLINE_REMINDER, NotificationKind.DEADLINE_MISSED, NotificationKind.DEADLINE_ESCALATION]
)
def test_client_text_says_what_when_and_what_to_do_and_nothing_internal(case, alice, queued, kind):
    (notification,) = notify(
        recipients=[alice], kind=kind, case=case, deadline=None, params=deadline_params(case), dedupe_key="k"
    )

    title, body = render(notification, "en")

    text = f"{title}\n{body}"
    assert case.reference in title
    assert "What is due: Signed delivery slips" in body
    assert f"Due by: {DUE_LOCAL}" in body
    assert "upload the requested evidence in the client portal" in body
    for internal in (*STAFF_ONLY, str(NotificationKind(kind).label), "Evidence requested from the client"):
        assert internal not in text, internal


def test_client_never_sees_the_title_of_a_deadline_that_is_not_client_facing(case, alice, queued):
    (notification,) = remind(
        [alice], case, deadline_kind=DeadlineKind.STAGE_SLA.value, title="Chase the reviewer about order 7"
    )

    _title, body = render(notification, "en")

    assert "Chase the reviewer" not in body
    assert "Internal stage SLA" not in body
    assert "What is due: the next step on your case" in body


def test_staff_text_adds_the_kind_and_for_an_escalation_the_miss_and_the_assignee(case, supervisor, queued):
    (notification,) = notify(
        recipients=[supervisor],
        kind=NotificationKind.DEADLINE_ESCALATION,
        case=case,
        deadline=None,
        params=deadline_params(case, assignee="Mia Manager"),
        dedupe_key="escalation",
    )

    title, body = render(notification, "en")

    assert title == f"Escalation: missed deadline on {case.reference}"
    assert "the deadline was missed" in body
    assert "Deadline kind: Evidence requested from the client" in body
    assert f"Due by: {DUE_LOCAL}" in body
    assert "Assigned to: Mia Manager" in body


def test_staff_reminder_says_how_long_before(case, manager, queued):
    (notification,) = remind([manager], case, offset_hours=4, assignee="")

    title, body = render(notification, "en")

    assert title == f"Reminder: Signed delivery slips on {case.reference}, due by {DUE_LOCAL}"
    assert "This reminder comes 4 h before the due time." in body
    assert "Assigned to: nobody" in body


def test_follow_up_due_for_staff(case, manager, queued):
    (notification,) = notify(
        recipients=[manager],
        kind=NotificationKind.FOLLOW_UP_DUE,
        case=case,
        deadline=None,
        params={"reference": case.reference, "last_contact_at": None, "silence": "3 working days"},
        dedupe_key="follow-up",
    )

    title, body = render(notification, "en")

    assert title == f"Follow up with the platform on {case.reference}"
    assert "no contact with the platform for 3 working days" in body
    assert "Last contact: none recorded" in body


@pytest.mark.parametrize(
    ("silence", "shown"),
    [("3 working_days", "3 working days"), ("36 natural_hours", "36 hours"), ("about a week", "about a week")],
)
def test_follow_up_silence_from_the_sweep_is_worded(case, manager, queued, silence, shown):
    (notification,) = notify(
        recipients=[manager],
        kind=NotificationKind.FOLLOW_UP_DUE,
        case=case,
        deadline=None,
        params={"reference": case.reference, "last_contact_at": "2026-02-20T02:00:00+00:00", "silence": silence},
        dedupe_key="follow-up",
    )

    _title, body = render(notification, "en")

    assert f"no contact with the platform for {shown}." in body
    assert "Last contact: 2026-02-20 10:00 (Asia/Shanghai)" in body


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("something_new", {"reference": "AP-2026-000001"}),
        (NotificationKind.DEADLINE_REMINDER, {"due_at": "not a time", "offset_hours": "many", "title": 7}),
        (NotificationKind.FOLLOW_UP_DUE, {"last_contact_at": 12}),
        (NotificationKind.DEADLINE_MISSED, {}),
    ],
)
def test_unknown_kinds_and_odd_params_render_without_crashing(case, alice, manager, queued, kind, params, language):
    for user in (alice, manager):
        (notification,) = notify(
            recipients=[user], kind=kind, case=case, deadline=None, params=params, dedupe_key=f"{kind}-{language}"
        )
        title, body = render(notification, language)
        assert title
        assert body
        assert case.reference in title  # taken from the case when the params lack it


# --- E-mail -------------------------------------------------------------------------------


def run_now(notification_id: int) -> Any:
    return send_notification_email.apply(args=(notification_id,))


def test_email_goes_out_through_the_task_in_each_recipients_language(
    case, alice, manager, mailoutbox, django_capture_on_commit_callbacks
):
    with_email(alice, "alice@blossom.example", "zh-hans")
    with_email(manager, "manager@agency.example", "en")

    with (
        mock.patch.object(send_notification_email, "delay", side_effect=run_now),
        django_capture_on_commit_callbacks(execute=True),
    ):
        created = remind([alice, manager], case)

    assert len(mailoutbox) == 2
    to_alice = next(m for m in mailoutbox if m.to == ["alice@blossom.example"])
    to_manager = next(m for m in mailoutbox if m.to == ["manager@agency.example"])
    assert CJK.search(to_alice.subject)
    assert CJK.search(to_alice.body)
    assert DUE_LOCAL in to_alice.body
    assert not CJK.search(to_manager.subject + to_manager.body)
    assert f"Due by: {DUE_LOCAL}" in to_manager.body
    alice_row = next(n for n in created if n.recipient_id == alice.pk)
    title, body = render(alice_row, "zh-hans")
    assert to_alice.subject == title
    # The e-mail is the in-app text plus a link to the page it is about, on the configured site.
    assert to_alice.body == f"{body}\n\n{email_link_line(alice_row, 'zh-hans')}"
    assert to_alice.body.endswith(f"http://127.0.0.1:8000/notifications/{alice_row.pk}/")
    assert to_alice.from_email == "appeals@agency.example"
    for row in Notification.objects.all():
        assert row.email_status == EmailStatus.SENT
        assert row.email_sent_at is not None
        assert row.email_attempts == 1


def test_a_failed_send_is_retried_and_sent_once(case, alice, mailoutbox, queued):
    with_email(alice, "alice@blossom.example")
    (notification,) = remind([alice], case)
    calls = []

    def down_once(*args: Any, **kwargs: Any) -> int:
        calls.append(args)
        if len(calls) == 1:
            raise SMTPException("421 try again later")
        return mail.send_mail(*args, **kwargs)

    with mock.patch.object(notifications, "send_mail", side_effect=down_once):
        send_notification_email.apply(args=(notification.pk,))

    assert len(mailoutbox) == 1
    notification.refresh_from_db()
    assert notification.email_status == EmailStatus.SENT
    assert notification.email_attempts == 2
    assert notification.email_claimed_at is not None


def test_a_failed_send_releases_the_claim_and_keeps_the_error(case, alice, queued):
    with_email(alice, "alice@blossom.example")
    (notification,) = remind([alice], case)

    with (
        mock.patch.object(notifications, "send_mail", side_effect=SMTPException("421 try again later")),
        pytest.raises(SMTPException),
    ):
        notification_email_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.email_status == EmailStatus.PENDING
    assert notification.email_claimed_at is None
    assert notification.email_attempts == 1
    assert "421 try again later" in notification.email_error


def test_after_the_last_retry_the_email_is_marked_failed(case, alice, mailoutbox, queued):
    with_email(alice, "alice@blossom.example")
    (notification,) = remind([alice], case)

    with mock.patch.object(notifications, "send_mail", side_effect=SMTPException("550 mailbox unavailable")):
        result = send_notification_email.apply(args=(notification.pk,), retries=send_notification_email.max_retries)

    assert result.successful(), result.traceback
    assert mailoutbox == []
    notification.refresh_from_db()
    assert notification.email_status == EmailStatus.FAILED
    assert "550 mailbox unavailable" in notification.email_error


def test_the_claim_prevents_a_second_send(case, alice, mailoutbox, queued):
    with_email(alice, "alice@blossom.example")
    (notification,) = remind([alice], case)

    notification_email_send(notification_id=notification.pk)
    notification_email_send(notification_id=notification.pk)
    send_notification_email.apply(args=(notification.pk,))

    assert len(mailoutbox) == 1
    notification.refresh_from_db()
    assert notification.email_attempts == 1


def test_a_fresh_claim_by_another_worker_is_respected_and_a_stale_one_is_taken_over(
    case, alice, mailoutbox, queued, time_machine: time_machine.TimeMachineFixture
):
    time_machine.move_to(NOON, tick=False)
    with_email(alice, "alice@blossom.example")
    (notification,) = remind([alice], case)
    Notification.objects.filter(pk=notification.pk).update(email_claimed_at=NOON, email_attempts=1)

    time_machine.shift(dt.timedelta(minutes=9))
    notification_email_send(notification_id=notification.pk)
    assert mailoutbox == []

    time_machine.shift(dt.timedelta(minutes=2))
    notification_email_send(notification_id=notification.pk)
    assert len(mailoutbox) == 1
    notification.refresh_from_db()
    assert (notification.email_status, notification.email_attempts) == (EmailStatus.SENT, 2)


def test_an_address_removed_before_sending_is_not_sent(case, alice, mailoutbox, queued):
    with_email(alice, "alice@blossom.example")
    (notification,) = remind([alice], case)
    with_email(alice, "")

    notification_email_send(notification_id=notification.pk)

    assert mailoutbox == []
    notification.refresh_from_db()
    assert notification.email_status == EmailStatus.NOT_SENT


def test_the_task_is_registered_under_its_name() -> None:
    assert send_notification_email.name == "workflows.send_notification_email"
    assert send_notification_email.max_retries == 8
    assert send_notification_email.acks_late is True


def test_emails_whose_task_never_ran_are_queued_again_by_the_sweep_task(
    case, alice, bob, manager, queued, time_machine: time_machine.TimeMachineFixture
) -> None:
    from workflows.tasks import sweep_deadlines

    time_machine.move_to(NOON, tick=False)
    for user in (alice, bob, manager):
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    lost, failing, fresh = (remind([user], case, key=f"k-{user.pk}")[0] for user in (alice, bob, manager))
    Notification.objects.filter(pk=failing.pk).update(email_attempts=1)  # in Celery's own retry schedule
    Notification.objects.filter(pk=fresh.pk).update(created_at=NOON + dt.timedelta(minutes=9))
    queued.reset_mock()

    time_machine.move_to(NOON + dt.timedelta(minutes=11), tick=False)
    result = sweep_deadlines.apply().get()

    assert result["emails_requeued"] == 1
    assert [call.args for call in queued.call_args_list] == [(lost.pk,)]
    notification_email_send(notification_id=lost.pk)
    queued.reset_mock()
    assert notifications.notification_emails_requeue(now=NOON + dt.timedelta(hours=1)) == 1  # only `fresh` now


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
