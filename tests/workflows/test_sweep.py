"""The sweep: reminders at 72, 24 and 4 hours, the miss escalated, each exactly once, to the right people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from agency.accounts.models import User
from cases.models import Case, CaseEvent, EventKind
from evidence.requests import evidence_request_create
from tests.factories import UserFactory
from workflows import deadlines
from workflows.models import Deadline, DeadlineAlert, DeadlineKind, Notification
from workflows.sweep import deadlines_sweep
from workflows.tasks import sweep_deadlines

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
DUE = dt.datetime(2026, 3, 20, 12, 0, tzinfo=SH)


def notified(kind: str | None = None) -> list[tuple[str, str]]:
    rows = Notification.objects.order_by("id")
    if kind:
        rows = rows.filter(kind=kind)
    return [(n.recipient.username, n.kind) for n in rows]


@pytest.fixture
def supplement(time_machine: time_machine.TimeMachineFixture, case_in: Callable[..., Case], manager: User) -> Deadline:
    """A platform supplement request due on Friday 20 March at noon, set a week before."""
    time_machine.move_to(DUE - dt.timedelta(days=7), tick=False)
    case = case_in("submitted")
    # The case's own clocks (the follow-up cadence) are tested elsewhere; here one deadline is watched.
    for other in Deadline.objects.filter(case=case, status="open"):
        deadlines.deadline_close(other, status="cancelled", actor=None, reason="Not under test.")
    # Walking the case there notifies people (the assignment, the fee quote); not under test.
    Notification.objects.all().delete()
    return deadlines.deadline_set(
        case=case,
        kind=DeadlineKind.PLATFORM_SUPPLEMENT,
        actor=manager,
        starts_at=timezone.now(),
        due_at=DUE,
        title="Supplement: signed delivery slips",
    )


def test_each_reminder_fires_once_at_its_offset_and_the_miss_escalates(
    time_machine: time_machine.TimeMachineFixture,
    supplement: Deadline,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    assert deadlines_sweep().reminders == 0  # nothing is due a week ahead

    fired: list[tuple[str, int, int]] = []
    for hours_before in (72, 24, 4):
        time_machine.move_to(DUE - dt.timedelta(hours=hours_before, seconds=-30), tick=False)
        first, again = deadlines_sweep(), deadlines_sweep()
        fired.append((f"{hours_before}h", first.reminders, again.reminders))
    assert fired == [("72h", 1, 0), ("24h", 1, 0), ("4h", 1, 0)]
    assert notified() == [("manager", "deadline_reminder")] * 3
    assert [n.params["offset_hours"] for n in Notification.objects.order_by("id")] == [72, 24, 4]

    time_machine.move_to(DUE + dt.timedelta(seconds=30), tick=False)
    missed = deadlines_sweep()
    assert (missed.missed, deadlines_sweep().missed) == (1, 0)
    supplement.refresh_from_db()
    assert (supplement.status, supplement.missed_at, supplement.next_alert_at) == ("missed", DUE, None)
    assert notified("deadline_escalation") == [("supervisor", "deadline_escalation")]
    assert notified("deadline_missed") == [("manager", "deadline_missed")]
    alerts = list(DeadlineAlert.objects.filter(deadline=supplement).values_list("kind", "offset_minutes"))
    assert alerts == [("reminder", 4320), ("reminder", 1440), ("reminder", 240), ("missed", 0)]
    history = CaseEvent.objects.filter(
        case=supplement.case, kind__in=[EventKind.REMINDER_SENT, EventKind.DEADLINE_MISSED]
    )
    assert [event.kind for event in history.order_by("id")] == ["reminder_sent"] * 3 + ["deadline_missed"]
    assert not any(event.client_visible for event in history)


def test_a_late_sweep_sends_the_most_urgent_reminder_only(
    time_machine: time_machine.TimeMachineFixture, supplement: Deadline
) -> None:
    time_machine.move_to(DUE - dt.timedelta(hours=3), tick=False)  # the worker was down for days
    result = deadlines_sweep()
    assert (result.reminders, result.missed) == (1, 0)
    assert [n.params["offset_hours"] for n in Notification.objects.all()] == [4]
    supplement.refresh_from_db()
    assert supplement.next_alert_at == DUE


def test_a_deadline_moved_later_is_reminded_again_for_its_new_time(
    time_machine: time_machine.TimeMachineFixture, supplement: Deadline, manager: User
) -> None:
    time_machine.move_to(DUE - dt.timedelta(hours=23), tick=False)
    assert deadlines_sweep().reminders == 1
    deadlines.deadline_move(supplement, due_at=DUE + dt.timedelta(days=2), actor=manager, reason="Extension granted.")
    supplement.refresh_from_db()
    assert supplement.next_alert_at == DUE + dt.timedelta(days=2) - dt.timedelta(hours=24)

    time_machine.move_to(DUE + dt.timedelta(days=1, hours=1), tick=False)
    assert deadlines_sweep().reminders == 1
    assert Notification.objects.count() == 2


def test_a_met_deadline_fires_nothing(time_machine: time_machine.TimeMachineFixture, supplement: Deadline) -> None:
    deadlines.deadline_close(supplement, status="met", actor=None, reason="Sent.")
    time_machine.move_to(DUE + dt.timedelta(days=1), tick=False)
    assert deadlines_sweep().deadlines == []
    assert not Notification.objects.exists()


def test_unassigned_reminders_go_to_the_supervisors(
    time_machine: time_machine.TimeMachineFixture, supplement: Deadline, supervisor: User
) -> None:
    other_supervisor = UserFactory.create(username="sofia", role="supervisor")
    Case.objects.filter(pk=supplement.case_id).update(assignee=None)
    time_machine.move_to(DUE - dt.timedelta(hours=1), tick=False)
    deadlines_sweep()
    assert sorted(notified()) == [("sofia", "deadline_reminder"), ("supervisor", "deadline_reminder")]
    assert other_supervisor.notifications.count() == 1


def test_client_facing_deadlines_remind_the_clients_of_the_case_only(
    time_machine: time_machine.TimeMachineFixture,
    case_in: Callable[..., Case],
    manager: User,
    alice: User,
    bob: User,
    charlie: User,
) -> None:
    time_machine.move_to(DUE - dt.timedelta(days=3), tick=False)
    case = case_in("evidence", with_evidence=False)
    evidence_request_create(case_id=case.pk, actor=manager, items=[{"order": None, "kind": "other"}], due_at=DUE)
    time_machine.move_to(DUE - dt.timedelta(hours=20), tick=False)
    deadlines_sweep()
    reminded = {
        n.recipient.username for n in Notification.objects.filter(deadline__kind=DeadlineKind.CLIENT_EVIDENCE_REQUEST)
    }
    assert reminded == {"manager", "alice", "bob"}


def test_the_task_runs_the_sweep_and_queues_another_run_when_the_batch_was_full(
    time_machine: time_machine.TimeMachineFixture,
    supplement: Deadline,
    manager: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for hours in (1, 2):
        deadlines.deadline_set(
            case=supplement.case,
            kind=DeadlineKind.RECOVERY_CHECK_IN,
            actor=manager,
            starts_at=timezone.now(),
            due_at=DUE + dt.timedelta(hours=hours),
        )
    queued: list[bool] = []
    monkeypatch.setattr(sweep_deadlines, "delay", lambda: queued.append(True))
    time_machine.move_to(DUE + dt.timedelta(days=1), tick=False)
    with override_settings(DEADLINE_SWEEP_BATCH=2):
        first = sweep_deadlines.apply().get()
        second = sweep_deadlines.apply().get()
    assert (first["missed"], first["more"], second["missed"], second["more"]) == (2, True, 1, False)
    assert queued == [True]


def test_offsets_come_from_settings() -> None:
    with override_settings(DEADLINE_REMINDER_OFFSETS_HOURS="1, 48,0.5"):
        assert deadlines.reminder_offsets_minutes() == [2880, 60, 30]
    from django.core.exceptions import ImproperlyConfigured

    for bad in ("a,b", "-1"):
        with override_settings(DEADLINE_REMINDER_OFFSETS_HOURS=bad), pytest.raises(ImproperlyConfigured):
            deadlines.reminder_offsets_minutes()


def test_a_missed_chat_deadline_hands_over_to_the_next_order(
    time_machine: time_machine.TimeMachineFixture, case_in: Callable[..., Case]
) -> None:
    time_machine.move_to(DUE - dt.timedelta(days=30), tick=False)
    case = case_in("evidence", with_evidence=False)
    orders = list(case.flagged_orders.order_by("order_time"))
    first = Deadline.objects.get(case=case, kind=DeadlineKind.CHAT_EVIDENCE_EXPIRY, status="open")
    assert first.due_at == orders[0].order_time + dt.timedelta(days=75)

    time_machine.move_to(first.due_at + dt.timedelta(minutes=1), tick=False)
    assert deadlines_sweep().missed >= 1

    first.refresh_from_db()
    assert first.status == "missed"
    following = Deadline.objects.get(case=case, kind=DeadlineKind.CHAT_EVIDENCE_EXPIRY, status="open")
    assert following.due_at == orders[1].order_time + dt.timedelta(days=75)
    assert following.next_alert_at is not None


def test_api_key_users_are_never_notified(
    time_machine: time_machine.TimeMachineFixture,
    case_in: Callable[..., Case],
    supervisor: User,
    administrator: User,
    blossom: object,
) -> None:
    from integrations.api_keys import api_key_create

    time_machine.move_to(DUE - dt.timedelta(days=3), tick=False)
    api_key_create(actor=administrator, name="CRM", organisation_id=None, permission="read")
    api_key_create(actor=administrator, name="ERP", organisation_id=blossom.pk, permission="read")  # type: ignore[attr-defined]
    case = case_in("evidence", with_evidence=False)
    Case.objects.filter(pk=case.pk).update(assignee=None)
    evidence_request_create(case_id=case.pk, actor=supervisor, items=[{"order": None, "kind": "other"}], due_at=DUE)

    time_machine.move_to(DUE - dt.timedelta(hours=20), tick=False)
    deadlines_sweep()
    reminded = set(
        Notification.objects.filter(deadline__kind=DeadlineKind.CLIENT_EVIDENCE_REQUEST).values_list(
            "recipient__username", flat=True
        )
    )
    assert reminded == {"supervisor"}
