"""The log of contacts with the platform and the follow-up cadence: the gap, the silence, who may log."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connections

from agency.errors import NotAllowed, NotFound
from cases.models import CaseEvent, EventKind, PlatformRuleProfile
from tests.conftest import requires_postgres
from workflows import contacts
from workflows.calendar import load_calendar
from workflows.models import (
    Deadline,
    DeadlineKind,
    DeadlineStatus,
    Notification,
    NotificationKind,
    PlatformContact,
)
from workflows.sweep import deadlines_sweep

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday in a week without public holidays.
SUBMITTED_AT = dt.datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI)
HOUR = dt.timedelta(hours=1)


def url(case):
    return f"/api/v1/cases/{case.pk}/platform-contacts/"


def follow_ups(case, **filters):
    return Deadline.objects.filter(case=case, kind=DeadlineKind.PLATFORM_FOLLOW_UP, **filters)


def open_follow_up(case):
    return follow_ups(case, status=DeadlineStatus.OPEN).get()


def contact_events(case):
    return CaseEvent.objects.filter(case=case, kind=EventKind.PLATFORM_CONTACTED)


def counts(case):
    return (
        PlatformContact.objects.filter(case=case).count(),
        CaseEvent.objects.filter(case=case).count(),
        Deadline.objects.filter(case=case).count(),
        list(follow_ups(case).values_list("pk", "status", "due_at", "met_at")),
    )


def payload(**overrides):
    return {"channel": "appeal_portal", "summary": "Asked the reviewer for the status of the appeal.", **overrides}


@pytest.fixture
def submitted(case_in, time_machine):
    """A Blossom case assigned to ``manager``, submitted on SUBMITTED_AT (clock frozen there)."""
    time_machine.move_to(SUBMITTED_AT, tick=False)
    return case_in("submitted")


# --- The follow-up deadline ---------------------------------------------------------------------


def test_submission_opens_a_follow_up_deadline_three_working_days_out(submitted):
    deadline = open_follow_up(submitted)

    assert deadline.starts_at == SUBMITTED_AT
    assert deadline.due_at == load_calendar().add(SUBMITTED_AT, 3, "working_days")
    assert deadline.due_at == dt.datetime(2025, 3, 6, 10, 0, tzinfo=SHANGHAI)


def test_a_contact_meets_the_follow_up_and_starts_the_next(api, manager, submitted, time_machine):
    first = open_follow_up(submitted)
    contacted_at = SUBMITTED_AT + 26 * HOUR  # Tuesday 12:00
    time_machine.move_to(contacted_at + HOUR, tick=False)

    response = api(manager).post(
        url(submitted), payload(contacted_at=contacted_at.isoformat(), platform_reference="TM-123"), format="json"
    )

    assert response.status_code == 201, response.data
    assert response.data["direction"] == "outbound"
    assert response.data["logged_by"]["username"] == "manager"
    first.refresh_from_db()
    assert (first.status, first.met_at) == (DeadlineStatus.MET, contacted_at + HOUR)
    following = open_follow_up(submitted)
    assert following.starts_at == contacted_at
    assert following.due_at == load_calendar().add(contacted_at, 3, "working_days")
    assert following.due_at == dt.datetime(2025, 3, 7, 12, 0, tzinfo=SHANGHAI)
    contact = PlatformContact.objects.get(case=submitted)
    assert (contact.channel, contact.platform_reference, contact.contacted_at) == (
        "appeal_portal",
        "TM-123",
        contacted_at,
    )
    event = contact_events(submitted).get()
    assert event.actor == manager
    assert not event.client_visible
    logged = dict(event.new_value)
    assert dt.datetime.fromisoformat(logged.pop("contacted_at")) == contacted_at
    assert logged == {"contact": contact.pk, "channel": "appeal_portal", "direction": "outbound", "overridden": False}


def test_contacted_at_defaults_to_now(api, manager, submitted, time_machine):
    time_machine.move_to(SUBMITTED_AT + 3 * HOUR, tick=False)

    response = api(manager).post(url(submitted), payload(), format="json")

    assert response.status_code == 201, response.data
    assert PlatformContact.objects.get().contacted_at == SUBMITTED_AT + 3 * HOUR
    assert open_follow_up(submitted).starts_at == SUBMITTED_AT + 3 * HOUR


# --- The minimum gap ----------------------------------------------------------------------------


def test_a_second_outbound_contact_inside_the_gap_needs_a_reason(api, manager, submitted, time_machine):
    time_machine.move_to(SUBMITTED_AT + HOUR, tick=False)
    assert api(manager).post(url(submitted), payload(), format="json").status_code == 201
    time_machine.move_to(SUBMITTED_AT + 5 * HOUR, tick=False)
    before = counts(submitted)

    refused = api(manager).post(url(submitted), payload(channel="phone"), format="json")

    assert refused.status_code == 400
    reasons = refused.data["error"]["details"]["fields"]["override_reason"]
    assert "2025-03-03 11:00" in reasons[0]
    assert "24" in reasons[0]
    assert counts(submitted) == before

    allowed = api(manager).post(
        url(submitted),
        payload(channel="phone", override_reason="The client's shop is closed until the appeal is decided."),
        format="json",
    )

    assert allowed.status_code == 201, allowed.data
    assert allowed.data["override_reason"] == "The client's shop is closed until the appeal is decided."
    event = contact_events(submitted).latest("id")
    assert event.reason == "The client's shop is closed until the appeal is decided."
    assert event.new_value["overridden"] is True
    assert open_follow_up(submitted).starts_at == SUBMITTED_AT + 5 * HOUR


def test_an_outbound_contact_exactly_one_gap_later_needs_no_reason(api, manager, submitted, time_machine):
    time_machine.move_to(SUBMITTED_AT + HOUR, tick=False)
    assert api(manager).post(url(submitted), payload(), format="json").status_code == 201
    time_machine.move_to(SUBMITTED_AT + 25 * HOUR, tick=False)

    response = api(manager).post(url(submitted), payload(), format="json")

    assert response.status_code == 201, response.data
    assert contact_events(submitted).latest("id").new_value["overridden"] is False


def test_an_inbound_contact_inside_the_gap_needs_no_reason_and_ends_the_silence(api, manager, submitted, time_machine):
    time_machine.move_to(SUBMITTED_AT + HOUR, tick=False)
    assert api(manager).post(url(submitted), payload(), format="json").status_code == 201
    time_machine.move_to(SUBMITTED_AT + 2 * HOUR, tick=False)

    response = api(manager).post(
        url(submitted),
        payload(direction="inbound", summary="The reviewer called asking for the invoices."),
        format="json",
    )

    assert response.status_code == 201, response.data
    assert open_follow_up(submitted).starts_at == SUBMITTED_AT + 2 * HOUR
    # An inbound contact does not start a new gap for the next outbound one.
    cadence = api(manager).get(url(submitted)).data["cadence"]
    assert dt.datetime.fromisoformat(cadence["next_contact_allowed_at"]) == SUBMITTED_AT + 25 * HOUR


def test_a_backfilled_contact_leaves_the_running_clock_alone(api, manager, submitted, time_machine):
    time_machine.move_to(SUBMITTED_AT + 5 * HOUR, tick=False)
    assert api(manager).post(url(submitted), payload(), format="json").status_code == 201
    running = open_follow_up(submitted)

    response = api(manager).post(
        url(submitted),
        payload(direction="inbound", contacted_at=(SUBMITTED_AT + 2 * HOUR).isoformat(), summary="A missed call."),
        format="json",
    )

    assert response.status_code == 201, response.data
    assert open_follow_up(submitted) == running
    assert running.starts_at == SUBMITTED_AT + 5 * HOUR


def test_a_backfilled_outbound_contact_close_to_a_later_one_needs_a_reason(api, manager, submitted, time_machine):
    time_machine.move_to(SUBMITTED_AT + 5 * HOUR, tick=False)
    assert api(manager).post(url(submitted), payload(), format="json").status_code == 201

    response = api(manager).post(
        url(submitted), payload(contacted_at=(SUBMITTED_AT + 2 * HOUR).isoformat()), format="json"
    )

    assert response.status_code == 400
    assert "2025-03-03 15:00" in response.data["error"]["details"]["fields"]["override_reason"][0]


def test_a_profile_with_a_48_hour_gap_changes_the_rule(api, administrator, manager, submitted, time_machine):
    profile = submitted.rule_profile
    response = api(administrator).patch(
        f"/api/v1/rule-profiles/{profile.pk}/", {"follow_up_min_gap_hours": 48}, format="json"
    )
    assert response.status_code == 200, response.data
    time_machine.move_to(SUBMITTED_AT + HOUR, tick=False)
    assert api(manager).post(url(submitted), payload(), format="json").status_code == 201

    time_machine.move_to(SUBMITTED_AT + 30 * HOUR, tick=False)
    refused = api(manager).post(url(submitted), payload(), format="json")
    time_machine.move_to(SUBMITTED_AT + 49 * HOUR, tick=False)
    allowed = api(manager).post(url(submitted), payload(), format="json")

    assert refused.status_code == 400
    assert "48" in refused.data["error"]["details"]["fields"]["override_reason"][0]
    assert allowed.status_code == 201, allowed.data


def test_a_profiles_silence_sets_the_next_follow_up(api, administrator, manager, submitted, time_machine):
    profile = submitted.rule_profile
    response = api(administrator).patch(
        f"/api/v1/rule-profiles/{profile.pk}/",
        {"follow_up_max_silence_value": 36, "follow_up_max_silence_unit": "hours"},
        format="json",
    )
    assert response.status_code == 200, response.data
    assert (response.data["follow_up_max_silence_value"], response.data["follow_up_max_silence_unit"]) == (36, "hours")
    time_machine.move_to(SUBMITTED_AT + HOUR, tick=False)

    assert api(manager).post(url(submitted), payload(), format="json").status_code == 201

    assert open_follow_up(submitted).due_at == SUBMITTED_AT + 37 * HOUR


# --- Silence ------------------------------------------------------------------------------------


def test_silence_past_the_maximum_reminds_the_assignee_once(api, manager, supervisor, submitted, time_machine):
    deadline = open_follow_up(submitted)
    assert deadline.due_at is not None
    time_machine.move_to(deadline.due_at - dt.timedelta(minutes=1), tick=False)
    deadlines_sweep()
    assert not Notification.objects.filter(deadline=deadline).exists()  # no reminders ahead of the silence
    assert api(manager).get(url(submitted)).data["cadence"]["silence_exceeded"] is False

    time_machine.move_to(deadline.due_at + dt.timedelta(minutes=1), tick=False)
    deadlines_sweep()

    sent = Notification.objects.filter(deadline=deadline)
    assert [(n.recipient, n.kind) for n in sent] == [(manager, NotificationKind.FOLLOW_UP_DUE)]
    assert not Notification.objects.filter(
        recipient=supervisor, deadline__kind=DeadlineKind.PLATFORM_FOLLOW_UP
    ).exists()
    deadline.refresh_from_db()
    assert (deadline.status, deadline.met_at) == (DeadlineStatus.MISSED, None)
    cadence = api(manager).get(url(submitted)).data["cadence"]
    assert cadence["silence_exceeded"] is True
    assert dt.datetime.fromisoformat(cadence["follow_up_due_at"]) == deadline.due_at

    time_machine.move_to(deadline.due_at + 2 * HOUR, tick=False)
    deadlines_sweep()
    assert Notification.objects.filter(deadline=deadline).count() == 1
    assert Notification.objects.filter(kind=NotificationKind.FOLLOW_UP_DUE).count() == 1

    response = api(manager).post(url(submitted), payload(), format="json")

    assert response.status_code == 201, response.data
    deadline.refresh_from_db()
    assert (deadline.status, deadline.met_at) == (DeadlineStatus.MISSED, deadline.due_at + 2 * HOUR)
    assert not follow_ups(submitted, status=DeadlineStatus.MISSED, met_at__isnull=True).exists()
    assert open_follow_up(submitted).starts_at == deadline.due_at + 2 * HOUR
    cadence = api(manager).get(url(submitted)).data["cadence"]
    assert cadence["silence_exceeded"] is False
    deadlines_sweep()
    assert Notification.objects.filter(kind=NotificationKind.FOLLOW_UP_DUE).count() == 1


def test_cadence_before_the_sweep_runs_already_says_the_silence_is_exceeded(submitted, manager, time_machine):
    deadline = open_follow_up(submitted)
    time_machine.move_to(deadline.due_at + dt.timedelta(seconds=1), tick=False)
    case = contacts.platform_contact_case_get(user=manager, case_id=submitted.pk)

    cadence = contacts.platform_contact_cadence(case=case)

    assert cadence["silence_exceeded"] is True
    assert cadence["follow_up_due_at"] == deadline.due_at
    assert cadence["last_contact_at"] is None
    assert cadence["next_contact_allowed_at"] is None


# --- Input and state ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "status_code"),
    [
        (dt.timedelta(minutes=10), 400),  # the future
        (dt.timedelta(minutes=4), 201),  # within the clock skew allowed
        (-4 * HOUR, 400),  # before the appeal was submitted
    ],
)
def test_contacted_at_is_neither_in_the_future_nor_before_submission(
    api, manager, submitted, time_machine, offset, status_code
):
    now = SUBMITTED_AT + 3 * HOUR
    time_machine.move_to(now, tick=False)
    before = counts(submitted)

    response = api(manager).post(url(submitted), payload(contacted_at=(now + offset).isoformat()), format="json")

    assert response.status_code == status_code, response.data
    if status_code == 400:
        assert list(response.data["error"]["details"]["fields"]) == ["contacted_at"]
        assert counts(submitted) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"summary": "   "}, "summary"),
        ({"summary": ""}, "summary"),
        ({"channel": "carrier_pigeon"}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"platform_reference": "x" * 101}, "platform_reference"),
        ({"contacted_at": "yesterday"}, "contacted_at"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(api, manager, submitted, changes, field):
    before = counts(submitted)

    response = api(manager).post(url(submitted), payload(**changes), format="json")

    assert response.status_code == 400
    assert field in response.data["error"]["details"]["fields"]
    assert counts(submitted) == before


@pytest.mark.parametrize("state", ["evidence", "resolved", "closed"])
def test_contacts_are_logged_only_while_the_platform_reviews(api, manager, case_in, state):
    case = case_in(state)

    response = api(manager).post(url(case), payload(), format="json")

    assert response.status_code == 409
    assert response.data["error"]["details"]["state"] == state
    assert not PlatformContact.objects.exists()


# --- Who may log and read -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "supervisor", "administrator"])
def test_case_workers_log_contacts(api, request, submitted, who):
    response = api(request.getfixturevalue(who)).post(url(submitted), payload(), format="json")

    assert response.status_code == 201, response.data


def test_anonymous_gets_401(api, submitted):
    assert api(None).get(url(submitted)).status_code == 401
    assert api(None).post(url(submitted), payload(), format="json").status_code == 401


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_clients_get_403_on_the_staff_paths(api, request, submitted, who):
    client = api(request.getfixturevalue(who))

    assert client.get(url(submitted)).status_code == 403
    assert client.post(url(submitted), payload(), format="json").status_code == 403
    assert not PlatformContact.objects.exists()


def test_another_teams_manager_gets_404(api, outsider_manager, submitted):
    client = api(outsider_manager)

    assert client.get(url(submitted)).status_code == 404
    assert client.post(url(submitted), payload(), format="json").status_code == 404
    assert api(outsider_manager).get("/api/v1/cases/999999999/platform-contacts/").status_code == 404


@pytest.mark.parametrize("who", ["reviewer", "intake"])
def test_staff_who_see_the_case_but_do_not_work_it_read_but_cannot_log(api, request, submitted, who):
    client = api(request.getfixturevalue(who))

    assert client.get(url(submitted)).status_code == 200
    assert client.post(url(submitted), payload(), format="json").status_code == 403
    assert not PlatformContact.objects.exists()


def test_the_service_refuses_clients_and_cases_out_of_scope(alice, charlie, outsider_manager, submitted):
    with pytest.raises(NotAllowed):
        contacts.platform_contact_log(case_id=submitted.pk, actor=alice, channel="phone", summary="Hello")
    for actor in (charlie, outsider_manager):
        with pytest.raises(NotFound):
            contacts.platform_contact_log(case_id=submitted.pk, actor=actor, channel="phone", summary="Hello")
    with pytest.raises(NotFound):
        contacts.platform_contact_case_get(user=alice, case_id=submitted.pk)


def test_contacts_stay_out_of_the_portal(api, alice, manager, submitted, time_machine):
    time_machine.move_to(SUBMITTED_AT + HOUR, tick=False)
    assert api(manager).post(url(submitted), payload(), format="json").status_code == 201

    timeline = api(alice).get(f"/api/v1/portal/cases/{submitted.pk}/timeline/")

    assert timeline.status_code == 200
    assert "platform_contacted" not in str(timeline.content)
    assert "Asked the reviewer" not in timeline.content.decode()


# --- The list -----------------------------------------------------------------------------------


def test_the_list_is_newest_first_with_the_cadence(api, manager, submitted, time_machine):
    for hours, direction in ((1, "outbound"), (3, "inbound"), (30, "outbound")):
        time_machine.move_to(SUBMITTED_AT + hours * HOUR, tick=False)
        assert api(manager).post(url(submitted), payload(direction=direction), format="json").status_code == 201

    body = api(manager).get(url(submitted)).data

    assert body["count"] == 3
    assert [dt.datetime.fromisoformat(row["contacted_at"]) for row in body["results"]] == [
        SUBMITTED_AT + 30 * HOUR,
        SUBMITTED_AT + 3 * HOUR,
        SUBMITTED_AT + 1 * HOUR,
    ]
    cadence = body["cadence"]
    assert dt.datetime.fromisoformat(cadence["last_contact_at"]) == SUBMITTED_AT + 30 * HOUR
    assert dt.datetime.fromisoformat(cadence["next_contact_allowed_at"]) == SUBMITTED_AT + 54 * HOUR
    assert dt.datetime.fromisoformat(cadence["follow_up_due_at"]) == open_follow_up(submitted).due_at
    assert cadence["silence_exceeded"] is False
    assert (cadence["min_gap_hours"], cadence["max_silence_value"], cadence["max_silence_unit"]) == (
        24,
        3,
        "working_days",
    )


@pytest.mark.parametrize("size", [1, 6])
def test_the_list_takes_a_constant_number_of_queries(
    api, manager, supervisor, submitted, time_machine, django_assert_num_queries, size
):
    for index in range(size):
        time_machine.move_to(SUBMITTED_AT + (index + 1) * 25 * HOUR, tick=False)
        logger = manager if index % 2 else supervisor
        assert api(logger).post(url(submitted), payload(), format="json").status_code == 201
    client = api(manager)

    # The case, the page count, the page, the contact times, the follow-up deadline.
    with django_assert_num_queries(5):
        response = client.get(url(submitted))

    assert response.status_code == 200
    assert len(response.data["results"]) == size


# --- The rule profile's cadence fields ----------------------------------------------------------


def test_an_administrator_sets_the_cadence_on_a_profile(api, administrator):
    profile = PlatformRuleProfile.objects.get(platform="tmall", violation_type="fake_transaction")

    response = api(administrator).patch(
        f"/api/v1/rule-profiles/{profile.pk}/",
        {"follow_up_min_gap_hours": 12, "follow_up_max_silence_value": 5, "follow_up_max_silence_unit": "natural_days"},
        format="json",
    )

    assert response.status_code == 200, response.data
    profile.refresh_from_db()
    cadence = (profile.follow_up_min_gap_hours, profile.follow_up_max_silence_value, profile.follow_up_max_silence_unit)
    assert cadence == (12, 5, "natural_days")


@pytest.mark.parametrize(
    "changes",
    [
        {"follow_up_min_gap_hours": 0},
        {"follow_up_min_gap_hours": 721},
        {"follow_up_max_silence_value": 0},
        {"follow_up_max_silence_value": 366},
        {"follow_up_max_silence_unit": "fortnights"},
    ],
)
def test_bad_cadence_values_are_refused(api, administrator, changes):
    profile = PlatformRuleProfile.objects.get(platform="tmall", violation_type="fake_transaction")
    before = PlatformRuleProfile.objects.values().get(pk=profile.pk)

    response = api(administrator).patch(f"/api/v1/rule-profiles/{profile.pk}/", changes, format="json")

    assert response.status_code == 400
    assert list(response.data["error"]["details"]["fields"]) == list(changes)
    assert PlatformRuleProfile.objects.values().get(pk=profile.pk) == before


def test_only_administrators_set_the_cadence(api, manager, supervisor):
    profile = PlatformRuleProfile.objects.get(platform="tmall", violation_type="fake_transaction")

    for user in (manager, supervisor):
        response = api(user).patch(
            f"/api/v1/rule-profiles/{profile.pk}/", {"follow_up_min_gap_hours": 1}, format="json"
        )
        assert response.status_code == 403


# --- Two people logging at once -----------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_contacts_logged_at_once_cannot_both_slip_inside_the_gap(api, manager, supervisor, case_in, monkeypatch):
    case = case_in("submitted")
    # Each request waits at the gap check for the other one to get there too. With the case
    # row locked, the second is still blocked on the lock, so the first waits in vain, goes
    # on and commits; the second then finds its contact. Without the lock both would check
    # the gap before either wrote, and both would pass.
    both_checking = threading.Barrier(2)
    original = contacts._gap_conflict

    def check_together(case, contacted_at):
        # The lock held the other request back: the wait breaks and this one goes on alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checking.wait(timeout=3)
        return original(case, contacted_at)

    monkeypatch.setattr(contacts, "_gap_conflict", check_together)
    statuses: list[int] = []

    def log(user):
        try:
            statuses.append(api(user).post(url(case), payload(), format="json").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=log, args=(user,)) for user in (manager, supervisor)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 400]
    assert PlatformContact.objects.filter(case=case).count() == 1
    assert follow_ups(case, status=DeadlineStatus.OPEN).count() == 1
