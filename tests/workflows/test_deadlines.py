"""The deadline engine: deadlines follow the case, clocks pause and resume, the calendar moves them.

Times are controlled with time-machine and written in Shanghai time; every expected due
time below is worked out by hand from the 2026 holiday schedule (Spring Festival
15-23 February with make-up Saturdays 14 and 28 February; National Day 1-7 October with
make-up Sunday 20 September and Saturday 10 October) and 09:00-18:00 working hours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agency.accounts.models import User
from agency.organisations.models import Shop
from cases.models import Case, CaseEvent, EventKind
from casework import services
from evidence.requests import evidence_request_cancel, evidence_request_create
from evidence.services import evidence_review
from tests.factories import evidence_item
from workflows import deadlines
from workflows.models import CalendarDay, CalendarYear, CaseWait, Deadline, DeadlineKind, DeadlineStatus, StageSla

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


def when(value: str) -> dt.datetime | None:
    return parse_datetime(value)


def open_deadline(case: Case, kind: str) -> Deadline:
    return Deadline.objects.get(case=case, kind=kind, status=DeadlineStatus.OPEN)


def events(case: Case, kind: str) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case, kind=kind).order_by("id"))


@pytest.fixture
def new_case(make_case: Callable[..., Case], blossom_shop: Shop, manager: User) -> Callable[..., Case]:
    def make(**details: Any) -> Case:
        return make_case(blossom_shop, assignee=manager, **details)

    return make


# --- Deadlines follow the case ------------------------------------------------------------------


def test_a_new_case_gets_its_appeal_window_intake_sla_and_chat_deadline(
    time_machine: time_machine.TimeMachineFixture, new_case: Callable[..., Case]
) -> None:
    time_machine.move_to(at(2026, 3, 2, 10, 0), tick=False)  # a Monday
    case = new_case(notice_received_at=at(2026, 3, 2, 8, 30))

    window = open_deadline(case, DeadlineKind.PLATFORM_APPEAL_WINDOW)
    # Tmall fake transactions: 72 natural hours from the notice.
    assert window.due_at == at(2026, 3, 5, 8, 30)
    assert (window.budget_amount, window.budget_unit, window.pausable) == (72, "natural_hours", False)
    assert window.basis["source"] == "rule_profile"

    sla = open_deadline(case, DeadlineKind.STAGE_SLA)
    # Intake: 2 working days (18 working hours) from Monday 10:00 → Wednesday 10:00.
    assert (sla.stage, sla.due_at, sla.pausable) == ("intake", at(2026, 3, 4, 10, 0), True)

    chat = open_deadline(case, DeadlineKind.CHAT_EVIDENCE_EXPIRY)
    earliest = case.flagged_orders.order_by("order_time").first()
    assert earliest is not None
    assert chat.due_at == earliest.order_time + dt.timedelta(days=75)
    assert chat.client_facing

    set_events = events(case, EventKind.DEADLINE_SET)
    assert {(event.new_value or {})["kind"] for event in set_events} == {
        "platform_appeal_window",
        "stage_sla",
        "chat_evidence_expiry",
    }
    # Only the client's own deadline is on the client's timeline.
    assert [(event.new_value or {})["kind"] for event in set_events if event.client_visible] == ["chat_evidence_expiry"]


def test_the_notices_own_deadline_wins_and_corrections_move_it(
    time_machine: time_machine.TimeMachineFixture, new_case: Callable[..., Case], intake: User
) -> None:
    time_machine.move_to(at(2026, 3, 2, 10, 0), tick=False)
    case = new_case(appeal_deadline=at(2026, 3, 4, 18, 0))
    window = open_deadline(case, DeadlineKind.PLATFORM_APPEAL_WINDOW)
    assert (window.due_at, window.budget_amount, window.basis["source"]) == (at(2026, 3, 4, 18, 0), None, "notice")

    services.case_update_details(case_id=case.pk, actor=intake, changes={"appeal_deadline": at(2026, 3, 4, 12, 0)})
    window.refresh_from_db()
    assert window.due_at == at(2026, 3, 4, 12, 0)

    # Clearing the notice's deadline falls back to the profile's window from the notice time.
    services.case_update_details(
        case_id=case.pk, actor=intake, changes={"appeal_deadline": None, "notice_received_at": at(2026, 3, 2, 9, 0)}
    )
    window.refresh_from_db()
    assert (window.due_at, window.budget_amount) == (at(2026, 3, 5, 9, 0), 72)
    moved = events(case, EventKind.DEADLINE_MOVED)
    assert [when((event.new_value or {})["due_at"]) for event in moved] == [at(2026, 3, 4, 12, 0), at(2026, 3, 5, 9, 0)]
    assert Deadline.objects.filter(case=case, kind=DeadlineKind.PLATFORM_APPEAL_WINDOW).count() == 1


def test_transitions_meet_the_stage_sla_and_start_the_next(
    time_machine: time_machine.TimeMachineFixture, case_in: Callable[..., Case], supervisor: User
) -> None:
    time_machine.move_to(at(2026, 3, 2, 10, 0), tick=False)
    case = case_in("intake")
    intake_sla = open_deadline(case, DeadlineKind.STAGE_SLA)

    time_machine.move_to(at(2026, 3, 3, 11, 0), tick=False)
    services.case_transition(case_id=case.pk, name="start_assessment", actor=supervisor)

    intake_sla.refresh_from_db()
    assert (intake_sla.status, intake_sla.met_at) == ("met", at(2026, 3, 3, 11, 0))
    assessment_sla = open_deadline(case, DeadlineKind.STAGE_SLA)
    # Assessment: 3 working days from Tuesday 11:00 → Friday 11:00.
    assert (assessment_sla.stage, assessment_sla.due_at) == ("assessment", at(2026, 3, 6, 11, 0))


def test_submitting_meets_the_appeal_window_and_starts_the_follow_up_clock(
    time_machine: time_machine.TimeMachineFixture, case_in: Callable[..., Case], supervisor: User
) -> None:
    time_machine.move_to(at(2026, 3, 2, 10, 0), tick=False)
    case = case_in("submitted")

    window = Deadline.objects.get(case=case, kind=DeadlineKind.PLATFORM_APPEAL_WINDOW)
    assert window.status == "met"
    follow_up = open_deadline(case, DeadlineKind.PLATFORM_FOLLOW_UP)
    # The profile's maximum silence: 3 working days from the submission.
    assert (follow_up.due_at, follow_up.reminder_offsets_minutes) == (at(2026, 3, 5, 10, 0), [])
    assert not Deadline.objects.filter(case=case, status="open", kind=DeadlineKind.CHAT_EVIDENCE_EXPIRY).exists()
    assert not Deadline.objects.filter(case=case, status="open", kind=DeadlineKind.STAGE_SLA).exists()

    services.case_transition(case_id=case.pk, name="record_outcome", actor=supervisor, outcome="accepted")
    follow_up.refresh_from_db()
    assert follow_up.status == "met"
    assert open_deadline(case, DeadlineKind.STAGE_SLA).stage == "resolved"


def test_a_finished_case_cancels_every_open_deadline(
    case_in: Callable[..., Case], supervisor: User, manager: User
) -> None:
    case = case_in("evidence", with_evidence=False)
    evidence_request_create(
        case_id=case.pk,
        actor=manager,
        items=[{"order": None, "kind": "other"}],
        due_at=timezone.now() + dt.timedelta(days=2),
    )
    assert Deadline.objects.filter(case=case, status="open").count() >= 3

    services.case_transition(case_id=case.pk, name="withdraw", actor=supervisor, reason="Settled.")

    assert not Deadline.objects.filter(case=case, status="open").exists()
    assert not CaseWait.objects.filter(case=case, ended_at__isnull=True).exists()
    cancelled = list(Deadline.objects.filter(case=case, status="cancelled"))
    assert {d.closing_reason_code for d in cancelled} == {"case_finished"}
    assert all(deadlines.deadline_closing_reason(d) == "The case is Withdrawn." for d in cancelled)


def test_stage_slas_are_configuration(
    time_machine: time_machine.TimeMachineFixture, new_case: Callable[..., Case]
) -> None:
    time_machine.move_to(at(2026, 3, 2, 10, 0), tick=False)
    StageSla.objects.filter(state="intake").update(amount=6, unit="working_hours")
    case = new_case()
    assert open_deadline(case, DeadlineKind.STAGE_SLA).due_at == at(2026, 3, 2, 16, 0)

    StageSla.objects.filter(state="intake").update(active=False)
    assert not Deadline.objects.filter(case=new_case(), kind=DeadlineKind.STAGE_SLA).exists()


# --- The working calendar -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opened", "due"),
    [
        # Spring Festival: Friday 10:00 has 8 h, make-up Saturday 14 Feb 9 h, then nine days off.
        (at(2026, 2, 13, 10, 0), at(2026, 2, 24, 10, 0)),
        # Opened on the make-up Saturday itself: it is a working day.
        (at(2026, 2, 14, 15, 0), at(2026, 2, 25, 15, 0)),
        # Opened during the holiday: the clock starts on the first working morning.
        (at(2026, 2, 18, 11, 0), at(2026, 2, 25, 18, 0)),
        # After the holiday, the make-up Saturday 28 Feb counts: Friday 2 h, Saturday 9 h, Monday 7 h
        # (a plain weekday rule would say Tuesday 16:00).
        (at(2026, 2, 27, 16, 0), at(2026, 3, 2, 16, 0)),
        # National Day: Tuesday 29 Sep 14:00 has 4 h, Wednesday 9 h, then 1-7 October off.
        (at(2026, 9, 29, 14, 0), at(2026, 10, 8, 14, 0)),
        # The make-up Sunday 20 September counts: Friday 17:00 → Sunday → Monday 17:00.
        (at(2026, 9, 18, 17, 0), at(2026, 9, 21, 17, 0)),
        # The make-up Saturday 10 October: Friday 9 Oct 12:00 → Saturday → Monday 12:00.
        (at(2026, 10, 9, 12, 0), at(2026, 10, 12, 12, 0)),
    ],
)
def test_intake_sla_on_the_official_calendar(
    time_machine: time_machine.TimeMachineFixture, new_case: Callable[..., Case], opened: dt.datetime, due: dt.datetime
) -> None:
    time_machine.move_to(opened, tick=False)
    case = new_case(notice_received_at=opened)
    assert open_deadline(case, DeadlineKind.STAGE_SLA).due_at == due


def test_a_holiday_added_later_moves_a_running_deadline_and_removing_it_moves_it_back(
    time_machine: time_machine.TimeMachineFixture, new_case: Callable[..., Case], administrator: User
) -> None:
    time_machine.move_to(at(2026, 3, 2, 10, 0), tick=False)
    case = new_case()
    sla = open_deadline(case, DeadlineKind.STAGE_SLA)
    window = open_deadline(case, DeadlineKind.PLATFORM_APPEAL_WINDOW)
    assert sla.due_at == at(2026, 3, 4, 10, 0)
    window_due = window.due_at

    CalendarDay.objects.create(date=dt.date(2026, 3, 3), kind="holiday", name="Typhoon closure")
    moved = deadlines.deadlines_recompute_for_dates(
        dates=[dt.date(2026, 3, 3)], actor=administrator, reason="Holiday added"
    )

    assert moved == 1
    sla.refresh_from_db()
    window.refresh_from_db()
    assert sla.due_at == at(2026, 3, 5, 10, 0)
    assert window.due_at == window_due  # natural hours: the platform's clock ignores our holidays
    event = events(case, EventKind.DEADLINE_MOVED)[-1]
    assert (when((event.new_value or {})["old_due_at"]), when((event.new_value or {})["due_at"]), event.reason) == (
        at(2026, 3, 4, 10, 0),
        at(2026, 3, 5, 10, 0),
        "Holiday added",
    )

    CalendarDay.objects.filter(date=dt.date(2026, 3, 3)).delete()
    deadlines.deadlines_recompute_for_dates(dates=[dt.date(2026, 3, 3)], actor=administrator, reason="Removed")
    sla.refresh_from_db()
    assert sla.due_at == at(2026, 3, 4, 10, 0)


def test_a_holiday_outside_a_deadlines_span_leaves_it_alone(
    time_machine: time_machine.TimeMachineFixture, new_case: Callable[..., Case], administrator: User
) -> None:
    time_machine.move_to(at(2026, 3, 2, 10, 0), tick=False)
    case = new_case()
    CalendarDay.objects.create(date=dt.date(2026, 3, 20), kind="holiday", name="Later")
    assert deadlines.deadlines_recompute_for_dates(dates=[dt.date(2026, 3, 20)], actor=administrator, reason="x") == 0
    assert open_deadline(case, DeadlineKind.STAGE_SLA).due_at == at(2026, 3, 4, 10, 0)


def test_a_deadline_across_the_year_boundary_follows_next_years_schedule_once_entered(
    time_machine: time_machine.TimeMachineFixture, new_case: Callable[..., Case], administrator: User
) -> None:
    time_machine.move_to(at(2026, 12, 30, 15, 0), tick=False)  # Wednesday
    case = new_case(notice_received_at=at(2026, 12, 30, 15, 0))
    sla = open_deadline(case, DeadlineKind.STAGE_SLA)
    # 2027's arrangement is not in the library yet, so 2027 runs on its statutory holidays:
    # Wednesday 3 h, Thursday 31 Dec 9 h, New Year's Day off, Monday 4 Jan 6 h. Provisional.
    assert sla.due_at == at(2027, 1, 4, 15, 0)
    assert (sla.provisional, sla.provisional_years) == (True, [2027])
    window = open_deadline(case, DeadlineKind.PLATFORM_APPEAL_WINDOW)
    assert window.due_at == at(2027, 1, 2, 15, 0)  # 72 natural hours, across New Year
    assert not window.provisional  # natural time does not depend on the holidays

    # Next year's arrangement is announced: 1 January is a holiday, and Monday 4 January too.
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), kind="holiday", name="New Year's Day")
    CalendarDay.objects.create(date=dt.date(2027, 1, 4), kind="holiday", name="New Year's Day")
    CalendarYear.objects.create(year=2027, official=True)
    deadlines.deadlines_recompute_for_dates(
        dates=[dt.date(2027, 1, 1), dt.date(2027, 12, 31)], actor=administrator, reason="2027 schedule"
    )
    sla.refresh_from_db()
    assert sla.due_at == at(2027, 1, 5, 15, 0)  # the Tuesday after
    assert (sla.provisional, sla.provisional_years) == (False, [])


# --- Pausing and resuming ---------------------------------------------------------------------


def test_waiting_on_the_client_pauses_the_stage_clock_and_keeps_the_time_used(
    time_machine: time_machine.TimeMachineFixture,
    case_in: Callable[..., Case],
    manager: User,
    alice: User,
) -> None:
    time_machine.move_to(at(2026, 3, 2, 9, 0), tick=False)  # Monday
    case = case_in("evidence", with_evidence=False)
    sla = open_deadline(case, DeadlineKind.STAGE_SLA)
    # Evidence: 10 working days from Monday 2 March 09:00 → the end of Friday 13 March.
    assert sla.due_at == at(2026, 3, 13, 18, 0)

    time_machine.move_to(at(2026, 3, 3, 13, 0), tick=False)  # 1 day 4 h used
    request = evidence_request_create(
        case_id=case.pk, actor=manager, items=[{"order": None, "kind": "other"}], due_at=at(2026, 3, 6, 18, 0)
    )
    sla.refresh_from_db()
    assert (sla.due_at, sla.paused_at, sla.used_seconds) == (None, at(2026, 3, 3, 13, 0), 13 * 3600)
    assert deadlines.next_alert_at(sla, timezone.now()) is None

    time_machine.move_to(at(2026, 3, 9, 10, 0), tick=False)  # the next Monday
    item = evidence_item(case, order=None, kind="other", uploaded_by=alice, review_state="pending")
    from evidence.requests import request_items_fulfil

    request_items_fulfil(item=item, actor=alice)
    request.refresh_from_db()
    assert request.status == "fulfilled"
    sla.refresh_from_db()
    # 90 - 13 = 77 working hours left from Monday 9 March 10:00: 8 h that day, then 7 days
    # of 9 h (63) to Wednesday 18 March 18:00, then 6 h → Thursday 19 March 15:00.
    assert (sla.paused_at, sla.due_at) == (None, at(2026, 3, 19, 15, 0))
    kinds = [event.kind for event in CaseEvent.objects.filter(case=case).order_by("id")]
    assert kinds.count(EventKind.CLOCKS_PAUSED) == 1
    assert kinds.count(EventKind.CLOCKS_RESUMED) == 1
    assert open_deadline(case, DeadlineKind.PLATFORM_APPEAL_WINDOW).paused_at is None  # platform clocks never pause


def test_two_waits_that_overlap_pause_once(
    time_machine: time_machine.TimeMachineFixture, case_in: Callable[..., Case], manager: User
) -> None:
    time_machine.move_to(at(2026, 3, 2, 9, 0), tick=False)
    case = case_in("evidence", with_evidence=False)
    sla = open_deadline(case, DeadlineKind.STAGE_SLA)

    time_machine.move_to(at(2026, 3, 2, 12, 0), tick=False)
    deadlines.case_wait_start(case=case, waiting_on="client", actor=manager)
    time_machine.move_to(at(2026, 3, 2, 14, 0), tick=False)
    deadlines.case_wait_start(case=case, waiting_on="platform", actor=manager)
    assert deadlines.case_wait_start(case=case, waiting_on="platform", actor=manager) is None
    time_machine.move_to(at(2026, 3, 2, 15, 0), tick=False)
    deadlines.case_wait_end(case=case, waiting_on="client", actor=manager)
    sla.refresh_from_db()
    assert sla.due_at is None  # still waiting on the platform

    time_machine.move_to(at(2026, 3, 2, 17, 0), tick=False)
    deadlines.case_wait_end(case=case, waiting_on="platform", actor=manager)
    sla.refresh_from_db()
    # Paused 12:00-17:00 = 5 working hours: the end of Friday 13 March + 5 h = Monday 16 March 14:00.
    assert sla.due_at == at(2026, 3, 16, 14, 0)


# --- Evidence requests and chat evidence -------------------------------------------------------


def test_an_evidence_request_has_a_client_deadline_met_and_reopened_with_the_request(
    case_in: Callable[..., Case], manager: User, alice: User, reviewer: User
) -> None:
    case = case_in("evidence", with_evidence=False)
    order = case.flagged_orders.first()
    assert order is not None
    request = evidence_request_create(
        case_id=case.pk,
        actor=manager,
        items=[{"order": order.pk, "kind": "shipping_slip"}],
        due_at=timezone.now() + dt.timedelta(days=3),
    )
    deadline = Deadline.objects.get(evidence_request=request)
    assert (deadline.kind, deadline.client_facing, deadline.due_at) == (
        "client_evidence_request",
        True,
        request.due_at,
    )

    item = evidence_item(case, order=order, kind="shipping_slip", uploaded_by=alice, review_state="pending")
    from evidence.requests import request_items_fulfil

    request_items_fulfil(item=item, actor=alice)
    deadline.refresh_from_db()
    assert deadline.status == "met"

    evidence_review(item_id=item.pk, actor=reviewer, decision="reject", reason="Blurred.")
    deadline.refresh_from_db()
    assert (deadline.status, deadline.met_at) == ("open", None)
    assert deadline.next_alert_at is not None
    assert CaseWait.objects.filter(case=case, ended_at__isnull=True, waiting_on="client").exists()

    evidence_request_cancel(request_id=request.pk, actor=manager, reason="Not needed after all.")
    deadline.refresh_from_db()
    assert (deadline.status, deadline.closing_reason) == ("cancelled", "Not needed after all.")
    assert not CaseWait.objects.filter(case=case, ended_at__isnull=True).exists()


def test_the_chat_deadline_follows_the_earliest_order_still_missing_its_chat_log(
    case_in: Callable[..., Case], alice: User
) -> None:
    case = case_in("evidence", with_evidence=False)
    orders = list(case.flagged_orders.order_by("order_time"))
    deadline = open_deadline(case, DeadlineKind.CHAT_EVIDENCE_EXPIRY)
    assert deadline.due_at == orders[0].order_time + dt.timedelta(days=75)

    from evidence.requests import request_items_fulfil

    item = evidence_item(case, order=orders[0], kind="chat_log", uploaded_by=alice, review_state="pending")
    request_items_fulfil(item=item, actor=alice)
    deadline.refresh_from_db()
    assert (deadline.status, deadline.due_at) == ("open", orders[1].order_time + dt.timedelta(days=75))

    for order in orders[1:]:
        request_items_fulfil(
            item=evidence_item(case, order=order, kind="chat_log", uploaded_by=alice, review_state="pending"),
            actor=alice,
        )
    deadline.refresh_from_db()
    assert deadline.status == "met"


# --- Reminders: when they are due ------------------------------------------------------------


def test_reminder_points_already_past_are_skipped(new_case: Callable[..., Case], manager: User) -> None:
    case = new_case()
    now = timezone.now()
    deadline = deadlines.deadline_set(
        case=case,
        kind=DeadlineKind.PLATFORM_SUPPLEMENT,
        actor=manager,
        starts_at=now,
        due_at=now + dt.timedelta(hours=5),
    )
    assert deadline.reminder_offsets_minutes == [72 * 60, 24 * 60, 4 * 60]
    assert deadline.next_alert_at == now + dt.timedelta(hours=1)

    overdue = deadlines.deadline_set(
        case=case,
        kind=DeadlineKind.RECOVERY_CHECK_IN,
        actor=manager,
        starts_at=now,
        due_at=now - dt.timedelta(minutes=1),
    )
    assert overdue.next_alert_at == overdue.due_at  # the sweep escalates it at once


def test_a_basis_must_be_a_budget_or_a_fixed_time(new_case: Callable[..., Case], manager: User) -> None:
    case = new_case()
    with pytest.raises(ValueError, match="either a budget"):
        deadlines.deadline_set(case=case, kind="platform_supplement", actor=manager, starts_at=timezone.now())
    with pytest.raises(ValueError, match="Unknown time unit"):
        deadlines.deadline_set(
            case=case, kind="platform_supplement", actor=manager, starts_at=timezone.now(), amount=1, unit="weeks"
        )


def test_merged_waits() -> None:
    class Wait:
        def __init__(self, start: int, end: int | None) -> None:
            self.started_at = at(2026, 1, 1) + dt.timedelta(hours=start)
            self.ended_at = None if end is None else at(2026, 1, 1) + dt.timedelta(hours=end)

    def hours(intervals: list[tuple[dt.datetime, dt.datetime | None]]) -> list[tuple[int, int | None]]:
        base = at(2026, 1, 1)
        return [
            (int((s - base).total_seconds() // 3600), None if e is None else int((e - base).total_seconds() // 3600))
            for s, e in intervals
        ]

    waits: Any = [Wait(5, 8), Wait(1, 3), Wait(2, 4), Wait(9, None), Wait(10, 12)]
    assert hours(deadlines.merged_waits(waits)) == [(1, 4), (5, 8), (9, None)]


def test_names_of_kinds_and_stages_are_rendered_in_the_readers_language(
    new_case: Callable[..., Case], manager: User, api: Callable[..., Any]
) -> None:
    case = new_case()
    deadlines.deadline_set(
        case=case,
        kind="platform_supplement",
        actor=manager,
        starts_at=timezone.now(),
        due_at=timezone.now() + dt.timedelta(days=1),
    )
    deadlines.deadline_set(
        case=case,
        kind="recovery_check_in",
        actor=manager,
        starts_at=timezone.now(),
        due_at=timezone.now() + dt.timedelta(days=9),
        title="Call the shop owner",
    )
    assert set(Deadline.objects.filter(case=case).values_list("title", flat=True)) == {"", "Call the shop owner"}

    def titles(language: str) -> dict[str, str]:
        response = api(manager).get(f"/api/v1/cases/{case.pk}/deadlines/", HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        return {row["kind"]: row["title"] for row in response.data["results"]}

    assert titles("en") == {
        "platform_appeal_window": "Platform appeal window",
        "stage_sla": "Leave “Intake”",
        "chat_evidence_expiry": "Chat evidence expires",
        "platform_supplement": "Platform supplement request",
        "recovery_check_in": "Call the shop owner",
    }
    chinese = titles("zh-hans")
    assert (chinese["platform_supplement"], chinese["stage_sla"], chinese["recovery_check_in"]) == (
        "平台补充材料要求",
        "完成“受理中”阶段",
        "Call the shop owner",
    )
