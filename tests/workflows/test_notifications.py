"""Notifications: created once per recipient and key, e-mailed once in the recipient's language, read in the API."""

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
from workflows import notifications
from workflows.models import Deadline, DeadlineKind, EmailStatus, Notification, NotificationKind
from workflows.notifications import email_link_line, notification_email_send, notify, render
from workflows.tasks import send_notification_email

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 2, 23, 4, 0, tzinfo=dt.UTC)
DUE_AT = "2026-02-24T07:00:00+00:00"
DUE_LOCAL = "2026-02-24 15:00 (Asia/Shanghai)"
CJK = re.compile(r"[\u4e00-\u9fff]")
LIST_URL = "/api/v1/notifications/"
COUNT_URL = "/api/v1/notifications/unread-count/"
READ_ALL_URL = "/api/v1/notifications/read-all/"


def read_url(notification_id: int) -> str:
    return f"/api/v1/notifications/{notification_id}/read/"


def deadline_params(case: Case, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "reference": case.reference,
        "deadline_kind": DeadlineKind.CLIENT_EVIDENCE_REQUEST.value,
        "title": "Signed delivery slips",
        "due_at": DUE_AT,
        "offset_hours": 24,
        "assignee": "Manager",
    }
    params.update(overrides)
    return params


def with_email(user: User, address: str, language: str = "zh-hans") -> User:
    user.email = address
    user.preferred_language = language
    user.save(update_fields=["email", "preferred_language"])
    return user


@pytest.fixture
def case(case_in: Any) -> Case:
    result: Case = case_in("evidence", with_evidence=False)
    # Walking the case there notifies people (the assignment, the fee quote); these tests
    # count only the notifications they make themselves.
    Notification.objects.all().delete()
    return result


@pytest.fixture
def deadline(case: Case) -> Deadline:
    return Deadline.objects.create(
        case=case,
        kind=DeadlineKind.CLIENT_EVIDENCE_REQUEST,
        title="Signed delivery slips",
        client_facing=True,
        starts_at=NOON - dt.timedelta(days=1),
        due_at=dt.datetime.fromisoformat(DUE_AT),
    )


@pytest.fixture
def queued() -> Any:
    """The task's delay, replaced: records which notifications were queued for e-mail."""
    with mock.patch.object(send_notification_email, "delay") as delay:
        yield delay


def remind(users: list[User], case: Case, *, key: str = "reminder-1", deadline: Deadline | None = None, **params: Any):
    return notify(
        recipients=users,
        kind=NotificationKind.DEADLINE_REMINDER,
        case=case,
        deadline=deadline,
        params=deadline_params(case, **params),
        dedupe_key=key,
    )


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


# --- API ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", LIST_URL), ("get", COUNT_URL), ("post", READ_ALL_URL), ("post", read_url(1))],
)
def test_anonymous_gets_401(api, method, url):
    response = getattr(api(None), method)(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_list_shows_only_my_own_notifications_newest_first(
    api, case, deadline, alice, bob, queued, time_machine: time_machine.TimeMachineFixture
):
    time_machine.move_to(NOON, tick=False)
    remind([alice, bob], case, key="first", deadline=deadline)
    time_machine.shift(dt.timedelta(hours=1))
    (newest,) = remind([alice], case, key="second")

    response = api(alice).get(LIST_URL)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [item["id"] for item in results] == [
        newest.pk,
        Notification.objects.get(recipient=alice, dedupe_key="first").pk,
    ]
    assert results[1] == {
        "id": results[1]["id"],
        "kind": "deadline_reminder",
        "case": case.pk,
        "case_reference": case.reference,
        "deadline": deadline.pk,
        "title": f"Reminder: case {case.reference}, due by {DUE_LOCAL}",
        "body": results[1]["body"],
        "created_at": "2026-02-23T12:00:00+08:00",
        "read_at": None,
    }
    assert "Manager" not in results[1]["body"]


def test_staff_use_the_same_endpoints_for_their_own(api, case, manager, alice, queued):
    remind([manager, alice], case)

    response = api(manager).get(LIST_URL)

    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert item["title"] == f"Reminder: Signed delivery slips on {case.reference}, due by {DUE_LOCAL}"
    assert "Assigned to: Manager" in item["body"]


def test_a_notification_without_a_case(api, alice, queued):
    notify(recipients=[alice], kind="something_new", case=None, deadline=None, params={}, dedupe_key="no-case")

    (item,) = api(alice).get(LIST_URL).json()["results"]

    assert (item["case"], item["case_reference"], item["deadline"]) == (None, None, None)
    assert item["title"] == "New notification"


def test_unread_filter_and_count(api, case, alice, bob, queued):
    first, second, third = (remind([alice], case, key=key)[0] for key in ("a", "b", "c"))
    remind([bob], case, key="bob's")
    client = api(alice)
    client.post(read_url(second.pk))

    unread = client.get(LIST_URL, {"unread": "true"}).json()["results"]
    read = client.get(LIST_URL, {"unread": "false"}).json()["results"]

    assert sorted(item["id"] for item in unread) == sorted([first.pk, third.pk])
    assert [item["id"] for item in read] == [second.pk]
    assert client.get(COUNT_URL).json() == {"unread": 2}
    assert api(bob).get(COUNT_URL).json() == {"unread": 1}


def test_an_invalid_unread_value_is_400(api, alice):
    response = api(alice).get(LIST_URL, {"unread": "perhaps"})

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]["fields"]) == {"unread"}


def test_mark_read_is_idempotent(api, case, alice, queued, time_machine: time_machine.TimeMachineFixture):
    time_machine.move_to(NOON, tick=False)
    (notification,) = remind([alice], case)
    client = api(alice)

    first = client.post(read_url(notification.pk))
    time_machine.shift(dt.timedelta(minutes=5))
    again = client.post(read_url(notification.pk))

    assert first.status_code == again.status_code == 200
    assert first.json()["read_at"] == again.json()["read_at"] == "2026-02-23T12:00:00+08:00"
    assert first.json()["id"] == notification.pk


def test_nobody_can_read_or_mark_someone_elses(api, case, alice, bob, charlie, manager, queued):
    (bobs,) = remind([bob], case)

    for user in (alice, charlie, manager):
        client = api(user)
        response = client.post(read_url(bobs.pk))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert client.get(LIST_URL).json()["results"] == []
        assert client.post(READ_ALL_URL).json() == {"marked": 0}

    bobs.refresh_from_db()
    assert bobs.read_at is None
    assert api(alice).post(read_url(10**17)).status_code == 404


def test_read_all_marks_only_my_unread_ones(api, case, alice, bob, queued):
    first, _second = (remind([alice], case, key=key)[0] for key in ("a", "b"))
    remind([bob], case, key="a")
    client = api(alice)
    client.post(read_url(first.pk))

    assert client.post(READ_ALL_URL).json() == {"marked": 1}
    assert client.post(READ_ALL_URL).json() == {"marked": 0}
    assert client.get(COUNT_URL).json() == {"unread": 0}
    assert api(bob).get(COUNT_URL).json() == {"unread": 1}


def test_accept_language_chinese_gives_chinese_text(api, case, alice, queued):
    alice.preferred_language = "en"  # the app follows the request, e-mails the preference
    alice.save(update_fields=["preferred_language"])
    (notification,) = remind([alice], case)

    response = api(alice).get(LIST_URL, HTTP_ACCEPT_LANGUAGE="zh-Hans")

    (item,) = response.json()["results"]
    assert response["Content-Language"] == "zh-hans"
    assert CJK.search(item["title"])
    assert CJK.search(item["body"])
    assert (item["title"], item["body"]) == render(notification, "zh-hans")
    english = api(alice).get(LIST_URL, HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]
    assert not CJK.search(english["title"] + english["body"])


@pytest.mark.parametrize(("rows", "page_size"), [(3, 2), (30, 25)])
def test_the_list_costs_a_fixed_number_of_queries(
    api, case, deadline, alice, queued, django_assert_num_queries, rows, page_size
):
    for index in range(rows):
        kind = (NotificationKind.DEADLINE_REMINDER, NotificationKind.DEADLINE_MISSED)[index % 2]
        notify(
            recipients=[alice],
            kind=kind,
            case=case,
            deadline=deadline if index % 3 else None,
            params=deadline_params(case),
            dedupe_key=f"k{index}",
        )
    client = api(alice)

    # The count and the page, with the case and the recipient joined.
    with django_assert_num_queries(2):
        response = client.get(LIST_URL, {"page_size": page_size, "unread": "true"})

    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size


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
