"""The deadline sweep (``workflows.sweep``): reminders at 72, 24 and 4 hours, the miss escalated, each exactly
once, to the right people; and each due alert fired exactly once with workers racing, after a crash, and when
run again."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from agency.accounts.models import User
from cases.models import Case, CaseEvent, EventKind
from evidence.requests import evidence_request_create
from tests.conftest import requires_postgres
from tests.factories import UserFactory
from workflows import deadlines, sweep
from workflows.deadlines import deadline_set
from workflows.models import (
    AlertKind,
    Deadline,
    DeadlineAlert,
    DeadlineKind,
    DeadlineStatus,
    Notification,
    NotificationKind,
)
from workflows.sweep import SweepResult, deadlines_sweep
from workflows.tasks import send_notification_email, sweep_deadlines

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


THREADS = 4
# Set with ten hours to go, a deadline's next alert is its 4-hour reminder (six hours on);
# set with three hours to go, it has no reminder left and its next alert is the due time.
REMINDER_DUE_IN = dt.timedelta(hours=10)
MISS_DUE_IN = dt.timedelta(hours=3)
# Seven hours on, the first are due for their 4-hour reminder and the second are missed.
SWEEP_AFTER = dt.timedelta(hours=7)


@dataclass
class DueSet:
    """The deadlines built due at ``sweep_at``, and who each alert must reach."""

    sweep_at: dt.datetime
    reminders: list[Deadline]
    misses: list[Deadline]
    # (recipient, deadline, notification kind) for every notification the sweep must create.
    expected: set[tuple[int, int, str]]

    @property
    def ids(self) -> set[int]:
        return {deadline.pk for deadline in self.reminders + self.misses}


@pytest.fixture
def queued_emails(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The notification ids whose e-mail was queued on commit; recorded instead of sent to a broker."""
    queued: list[int] = []
    lock = threading.Lock()

    def record(notification_id: int) -> None:
        with lock:
            queued.append(notification_id)

    monkeypatch.setattr(send_notification_email, "delay", record)
    return queued


@pytest.fixture
def build_due(
    make_case: Callable[..., Case],
    blossom_shop: Any,
    manager: User,
    teammate: User,
    supervisor: User,
    alice: User,
    bob: User,
) -> Callable[..., DueSet]:
    """``cases`` assigned cases with ``per_case`` open deadlines each, half due a reminder, half missed."""

    def build(*, cases: int, per_case: int) -> DueSet:
        built = [make_case(blossom_shop, assignee=(manager, teammate)[index % 2]) for index in range(cases)]
        # Opening and assigning the cases notifies people (nobody to auto-assign, the
        # assignment); only the sweep's notifications are counted, so those go, and the
        # addresses are set afterwards so that no e-mail was queued for them either.
        Notification.objects.all().delete()
        for user in (manager, teammate, supervisor, alice, bob):
            user.email = f"{user.username}@example.com"
            user.save(update_fields=["email"])
        # The cases' own clocks (appeal window, intake SLA, chat evidence) are set aside, so
        # the due set is exactly the one built here.
        Deadline.objects.filter(status=DeadlineStatus.OPEN).update(
            status=DeadlineStatus.CANCELLED, cancelled_at=timezone.now(), next_alert_at=None
        )
        start = timezone.now()
        reminders: list[Deadline] = []
        misses: list[Deadline] = []
        expected: set[tuple[int, int, str]] = set()
        for number, case in enumerate(built):
            assert case.assignee is not None
            for index in range(number * per_case, (number + 1) * per_case):
                # Supplement requests are for staff; a recovery check-in is the client's to do.
                kind = DeadlineKind.PLATFORM_SUPPLEMENT if index % 4 < 2 else DeadlineKind.RECOVERY_CHECK_IN
                missed = index % 2 == 1
                deadline = deadline_set(
                    case=case,
                    kind=kind,
                    actor=supervisor,
                    starts_at=start,
                    due_at=start + (MISS_DUE_IN if missed else REMINDER_DUE_IN),
                    title=f"Deadline {index}",
                )
                if missed:
                    misses.append(deadline)
                    expected.add((case.assignee.pk, deadline.pk, NotificationKind.DEADLINE_MISSED))
                    expected.add((supervisor.pk, deadline.pk, NotificationKind.DEADLINE_ESCALATION))
                else:
                    reminders.append(deadline)
                    recipients = [case.assignee] + ([alice, bob] if deadline.client_facing else [])
                    expected |= {(user.pk, deadline.pk, NotificationKind.DEADLINE_REMINDER) for user in recipients}
        due = DueSet(sweep_at=start + SWEEP_AFTER, reminders=reminders, misses=misses, expected=expected)
        open_due = Deadline.objects.filter(status=DeadlineStatus.OPEN, next_alert_at__lte=due.sweep_at)
        assert set(open_due.values_list("pk", flat=True)) == due.ids
        return due

    return build


def assert_fired_exactly_once(due: DueSet, queued_emails: list[int] | None = None) -> None:
    """One alert, one notification per recipient, one history row per due deadline; nothing else."""
    alerts = list(DeadlineAlert.objects.values_list("deadline_id", "kind", "offset_minutes"))
    assert len(alerts) == len(due.ids)
    assert Counter(deadline_id for deadline_id, _kind, _offset in alerts) == Counter(due.ids)
    assert {(deadline_id, kind, offset) for deadline_id, kind, offset in alerts} == {
        (deadline.pk, AlertKind.REMINDER, 240) for deadline in due.reminders
    } | {(deadline.pk, AlertKind.MISSED, 0) for deadline in due.misses}

    notifications = list(Notification.objects.values_list("recipient_id", "deadline_id", "kind"))
    assert len(notifications) == len(due.expected)
    assert set(notifications) == due.expected

    for kind, deadlines in ((EventKind.REMINDER_SENT, due.reminders), (EventKind.DEADLINE_MISSED, due.misses)):  # noqa: F402
        events = CaseEvent.objects.filter(kind=kind).values_list("new_value__deadline", flat=True)
        assert Counter(events) == Counter(deadline.pk for deadline in deadlines)

    states = dict(Deadline.objects.filter(pk__in=due.ids).values_list("pk", "status"))
    assert {states[deadline.pk] for deadline in due.reminders} == {DeadlineStatus.OPEN}
    assert {states[deadline.pk] for deadline in due.misses} == {DeadlineStatus.MISSED}

    if queued_emails is not None:
        # Every recipient has an address, so each notification queued its e-mail once, on commit.
        assert sorted(queued_emails) == sorted(Notification.objects.values_list("pk", flat=True))


def assert_fires_nothing(result: SweepResult) -> None:
    assert (result.reminders, result.missed, result.skipped, result.deadlines) == (0, 0, 0, [])


@requires_postgres
# serialized_rollback: the flush after each transactional test would otherwise take the
# calendar, stage SLAs and rule profiles the data migrations seed with it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_sweeps_fire_each_due_alert_exactly_once(
    build_due: Callable[..., DueSet], queued_emails: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    due = build_due(cases=4, per_case=25)
    assert len(due.ids) == 100

    # Every worker reads the whole due list before any of them claims a row, so each of
    # them really tries every deadline and all but one lose each claim.
    all_have_read = threading.Barrier(THREADS, timeout=30)
    original_supervisors = sweep._supervisors

    def read_then_wait() -> list[User]:
        supervisors = original_supervisors()
        all_have_read.wait()
        return supervisors

    monkeypatch.setattr(sweep, "_supervisors", read_then_wait)
    start_together = threading.Barrier(THREADS, timeout=30)
    results: list[SweepResult | None] = [None] * THREADS
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            start_together.wait()
            results[index] = deadlines_sweep(now=due.sweep_at)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    finished = [result for result in results if result is not None]
    assert len(finished) == THREADS

    # Each worker went through all 100; together they fired each exactly once.
    assert [result.reminders + result.missed + result.skipped for result in finished] == [100] * THREADS
    assert sum(result.reminders for result in finished) == len(due.reminders) == 50
    assert sum(result.missed for result in finished) == len(due.misses) == 50
    assert sum(result.skipped for result in finished) == 100 * (THREADS - 1)
    fired = [deadline_id for result in finished for deadline_id in result.deadlines]
    assert Counter(fired) == Counter(due.ids)
    assert_fired_exactly_once(due, queued_emails)

    # A retry of the task (or the next beat tick) finds nothing left to fire.
    monkeypatch.setattr(sweep, "_supervisors", original_supervisors)
    assert_fires_nothing(deadlines_sweep(now=due.sweep_at))
    assert_fires_nothing(deadlines_sweep(now=due.sweep_at + dt.timedelta(minutes=1)))
    assert_fired_exactly_once(due, queued_emails)


# Transactional on every database, so the crashed alert's transaction really rolls back
# and its e-mails, queued on commit, are really dropped.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_crash_mid_alert_rolls_back_its_claim_and_the_retry_fires_it_once(
    build_due: Callable[..., DueSet], queued_emails: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    due = build_due(cases=1, per_case=6)
    # Misses come first (their alert time is earlier); crash on the second one, after its
    # assignee's notice was written but before the escalation to the supervisors.
    first, target = due.misses[0], due.misses[1]
    real_notify = sweep.notify
    crashed: list[int] = []

    def notify_then_crash(**kwargs: Any) -> list[Notification]:
        deadline = kwargs["deadline"]
        if deadline.pk == target.pk and kwargs["kind"] == NotificationKind.DEADLINE_ESCALATION and not crashed:
            crashed.append(deadline.pk)
            raise RuntimeError("the worker died mid-alert")
        return real_notify(**kwargs)

    monkeypatch.setattr(sweep, "notify", notify_then_crash)

    with pytest.raises(RuntimeError, match="mid-alert"):
        deadlines_sweep(now=due.sweep_at)

    assert crashed == [target.pk]
    # The deadline before it fired and committed; the crashed one left no trace and is still due.
    assert list(DeadlineAlert.objects.values_list("deadline_id", flat=True)) == [first.pk]
    assert not Notification.objects.filter(deadline=target).exists()
    assert not CaseEvent.objects.filter(kind=EventKind.DEADLINE_MISSED, new_value__deadline=target.pk).exists()
    target.refresh_from_db()
    assert (target.status, target.next_alert_at, target.missed_at) == (DeadlineStatus.OPEN, target.due_at, None)
    assert sorted(queued_emails) == sorted(Notification.objects.values_list("pk", flat=True))

    # The retry fires the crashed deadline and the rest, each once.
    retry = deadlines_sweep(now=due.sweep_at)
    assert (retry.reminders, retry.missed, retry.skipped) == (3, 2, 0)
    assert target.pk in retry.deadlines
    assert first.pk not in retry.deadlines
    assert_fired_exactly_once(due, queued_emails)
    assert_fires_nothing(deadlines_sweep(now=due.sweep_at))


@pytest.mark.django_db
def test_a_second_sweep_fires_nothing(build_due: Callable[..., DueSet], queued_emails: list[int]) -> None:
    due = build_due(cases=2, per_case=5)

    first = deadlines_sweep(now=due.sweep_at)

    assert (first.reminders, first.missed, first.skipped) == (len(due.reminders), len(due.misses), 0)
    assert sorted(first.deadlines) == sorted(due.ids)
    assert_fired_exactly_once(due)
    assert_fires_nothing(deadlines_sweep(now=due.sweep_at))
    assert_fires_nothing(deadlines_sweep(now=due.sweep_at + dt.timedelta(hours=2)))
    assert_fired_exactly_once(due)


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_sweep_and_a_request_that_locked_the_case_do_not_deadlock(
    build_due: Callable[..., DueSet],
    queued_emails: list[int],
    supervisor: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sweep locks a deadline, then writes rows that reference its case; a request locks
    the case, then the deadline. Were the case lock FOR UPDATE, each would wait on the other
    and PostgreSQL would kill one; the services lock the case FOR NO KEY UPDATE instead."""
    from workflows.deadline_services import deadline_cancel

    due = build_due(cases=1, per_case=1)
    deadline = due.reminders[0]
    claimed, request_blocked = threading.Event(), threading.Event()
    real_notify = sweep.notify
    errors: list[BaseException] = []

    def notify_after_the_request_locked_the_case(**kwargs: Any) -> Any:
        claimed.set()  # the deadline row is locked by our claim
        request_blocked.wait(timeout=10)
        return real_notify(**kwargs)  # inserts rows referencing the case the request locked

    monkeypatch.setattr(sweep, "notify", notify_after_the_request_locked_the_case)

    def run_sweep() -> None:
        try:
            deadlines_sweep(now=due.sweep_at)
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    def run_request() -> None:
        try:
            claimed.wait(timeout=10)
            # Give the request time to lock the case and block on the deadline row.
            threading.Timer(0.5, request_blocked.set).start()
            deadline_cancel(deadline_id=deadline.pk, actor=supervisor, reason="Withdrawn by the platform.")
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run_sweep), threading.Thread(target=run_request)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    deadline.refresh_from_db()
    assert deadline.status == DeadlineStatus.CANCELLED
    assert DeadlineAlert.objects.filter(deadline=deadline).count() == 1
