"""Deadlines and SLA clocks: setting them from their basis, keeping them right, and closing them.

A deadline's due time is always derived from its basis (a budget in a unit from a start,
or a fixed time from a platform's notice), the working calendar and, for pausable clocks,
the intervals in which the case waited on the client or the platform. Anything that could
change one of those inputs (a holiday edited, a wait started or ended, the notice time
corrected) recomputes the open deadlines it touches here, and every change writes one
history row. ``workflows.sweep`` fires the reminders and escalations.

A working-time clock whose span reaches a year without an official holiday arrangement is
computed on that year's statutory holidays and marked provisional (``provisional_years``);
entering the arrangement recomputes it through ``deadlines_recompute_for_dates`` like any
other calendar edit, and the mark goes with the recompute.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import User
from agency.errors import InvalidInput
from cases.history import record_case_event
from cases.models import TERMINAL_STATES, Case, CaseState, EventKind, WindowUnit
from cases.reasons import Reason, ReasonCode, reason_fields, reason_text, system_reason
from workflows.calendar import CalendarRangeError, WorkingCalendar, load_calendar, range_error_fields
from workflows.models import (
    CLIENT_FACING_KINDS,
    PLATFORM_KINDS,
    WORKING_UNITS,
    CaseWait,
    Deadline,
    DeadlineKind,
    DeadlineStatus,
    StageSla,
    TimeUnit,
    WaitingOn,
    WaitSource,
)

# A rule profile's window units, as deadline units.
WINDOW_UNITS = {
    WindowUnit.HOURS: TimeUnit.NATURAL_HOURS,
    WindowUnit.NATURAL_DAYS: TimeUnit.NATURAL_DAYS,
    WindowUnit.WORKING_DAYS: TimeUnit.WORKING_DAYS,
}
# The states in which chat evidence is still being gathered for an appeal.
CHAT_EVIDENCE_STATES = (CaseState.INTAKE, CaseState.ASSESSMENT, CaseState.EVIDENCE)
# Only internal clocks pause: the platform's clocks run whatever the case waits on, and a
# deadline the client must meet is the very thing the case waits for.
PAUSABLE_KINDS = (DeadlineKind.STAGE_SLA,)

Interval = tuple[dt.datetime, dt.datetime | None]

logger = logging.getLogger(__name__)


def reminder_offsets_minutes() -> list[int]:
    """The configured reminder offsets (hours before the due time), as minutes, largest first."""
    raw = str(settings.DEADLINE_REMINDER_OFFSETS_HOURS)
    try:
        hours = [float(part) for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise ImproperlyConfigured(f"DEADLINE_REMINDER_OFFSETS_HOURS must be numbers of hours, got {raw!r}") from exc
    if any(value <= 0 for value in hours):
        raise ImproperlyConfigured("DEADLINE_REMINDER_OFFSETS_HOURS must be positive.")
    return sorted({round(value * 60) for value in hours}, reverse=True)


def merged_waits(waits: Iterable[CaseWait]) -> list[Interval]:
    """The union of the case's wait intervals, sorted; an open interval (no end) absorbs what follows."""
    merged: list[Interval] = []
    for wait in sorted(waits, key=lambda wait: wait.started_at):
        start, end = wait.started_at, wait.ended_at
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None:
                break
            if start <= last_end:
                merged[-1] = (last_start, None if end is None else max(last_end, end))
                continue
        merged.append((start, end))
    return merged


def schedule(
    calendar: WorkingCalendar, deadline: Deadline, waits: Sequence[Interval]
) -> tuple[dt.datetime | None, int, dt.datetime | None]:
    """(due time or None while paused, budget used so far if paused, when the pause began).

    The clock runs from ``starts_at`` in the budget unit's measure, skipping the case's
    wait intervals when the deadline is pausable, until the budget is spent.
    """
    if deadline.budget_amount is None:
        return deadline.due_at, 0, None
    unit = deadline.budget_unit
    budget = calendar.budget_seconds(deadline.budget_amount, unit)
    relevant = [(start, end) for start, end in waits if end is None or end > deadline.starts_at]
    if not deadline.pausable or not relevant:
        return calendar.add(deadline.starts_at, deadline.budget_amount, unit), 0, None
    cursor, remaining = deadline.starts_at, budget
    for start, end in relevant:
        if start > cursor:
            running = calendar.measure(cursor, start, unit)
            if running >= remaining:
                return calendar.advance(cursor, remaining, unit), 0, None
            remaining -= running
        if end is None:
            return None, budget - remaining, max(start, deadline.starts_at)
        cursor = max(cursor, end)
    return calendar.advance(cursor, remaining, unit), 0, None


def provisional_years(
    calendar: WorkingCalendar, deadline: Deadline, due_at: dt.datetime | None, paused_at: dt.datetime | None
) -> list[int]:
    """The years without an official arrangement that a working-time clock's computed span reaches.

    The span is from the start to the due time, or to the pause of a paused clock (its rest
    is computed again when it resumes). Natural time and fixed due times never depend on
    the holidays, so they are never provisional.
    """
    if deadline.budget_amount is None or deadline.budget_unit not in WORKING_UNITS:
        return []
    return list(calendar.unofficial_years(deadline.starts_at, due_at or paused_at or deadline.starts_at))


def _schedule_or_refuse(
    calendar: WorkingCalendar, deadline: Deadline, waits: Sequence[Interval], *, start_field: str
) -> tuple[dt.datetime | None, int, dt.datetime | None, list[int]]:
    """``schedule`` plus the provisional years; a span outside the supported years is bad input (400)."""
    try:
        due_at, used, paused_at = schedule(calendar, deadline, waits)
    except CalendarRangeError as exc:
        raise InvalidInput(details={"fields": range_error_fields(exc, start_field=start_field)}) from exc
    return due_at, used, paused_at, provisional_years(calendar, deadline, due_at, paused_at)


def next_alert_at(deadline: Deadline, now: dt.datetime) -> dt.datetime | None:
    """The next moment the sweep has something to do: a reminder still ahead, else the due time.

    Reminder points already behind ``now`` when the due time is set are skipped: a clock
    set with six hours to go gets its 4-hour reminder, not a burst of the 72- and 24-hour ones.
    """
    if deadline.status != DeadlineStatus.OPEN or deadline.due_at is None:
        return None
    points = [deadline.due_at - dt.timedelta(minutes=offset) for offset in deadline.reminder_offsets_minutes]
    ahead = [point for point in points if point > now]
    return min(ahead) if ahead else deadline.due_at


def deadline_label(deadline: Deadline) -> str:
    """What the deadline is called, in the active language: its title, else a name for its kind."""
    if deadline.title:
        return deadline.title
    if deadline.kind == DeadlineKind.STAGE_SLA and deadline.stage in CaseState.values:
        return _("Leave “%(state)s”") % {"state": CaseState(deadline.stage).label}
    return str(DeadlineKind(deadline.kind).label)


def deadline_closing_reason(deadline: Deadline) -> str:
    """Why the deadline was met or cancelled, in the active language: the system's words, or a person's."""
    return reason_text(deadline.closing_reason_code, deadline.closing_reason_params, deadline.closing_reason)


def _describe(deadline: Deadline) -> dict[str, Any]:
    return {
        "deadline": deadline.pk,
        "kind": deadline.kind,
        "title": deadline.title,
        "due_at": deadline.due_at,
    }


def _record(deadline: Deadline, *, actor: User | None, kind: EventKind, reason: Reason = "", **values: Any) -> None:
    # Deadlines the client acts on appear on the client's timeline, except those of evidence
    # requests, whose own events already tell the client what is wanted and by when.
    visible = deadline.client_facing and deadline.kind != DeadlineKind.CLIENT_EVIDENCE_REQUEST
    record_case_event(
        case=deadline.case,
        actor=actor,
        kind=kind,
        new_value={**_describe(deadline), **values},
        reason=reason,
        client_visible=visible,
    )


# --- Setting deadlines -------------------------------------------------------------------------


def lock_cases(case_ids: Iterable[int]) -> None:
    """Take the cases' rows FOR NO KEY UPDATE, in id order, before touching their deadlines.

    The lock order everywhere is a case, then its deadlines; cases in id order among
    themselves. Requests lock their case first, and writing history locks it too (the
    case's event sequence), so code that reaches deadlines by another road must take the
    cases first or it could deadlock with them.
    """
    list(
        Case.objects.filter(pk__in=sorted(set(case_ids)))
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )


def _waits_of(case: Case) -> list[Interval]:
    return merged_waits(CaseWait.objects.filter(case_id=case.pk))


def deadline_set(
    *,
    case: Case,
    kind: str,
    actor: User | None,
    starts_at: dt.datetime,
    amount: int | None = None,
    unit: str = "",
    due_at: dt.datetime | None = None,
    title: str = "",
    note: str = "",
    stage: str = "",
    evidence_request_id: int | None = None,
    basis: dict[str, Any] | None = None,
    reminders: bool = True,
    calendar: WorkingCalendar | None = None,
    start_field: str = "starts_at",
) -> Deadline:
    """Create an open deadline from a budget (``amount`` ``unit`` from ``starts_at``) or a fixed ``due_at``.

    Call inside the transaction that caused it. Raises ValueError for a basis that is
    neither or both: callers validate user input before they get here. A working-time
    budget outside the calendar's supported years raises InvalidInput naming ``start_field``
    (the caller's name for the start) or the amount.
    """
    if (amount is None) == (due_at is None):
        raise ValueError("Give either a budget (amount and unit) or a fixed due time.")
    if amount is not None and unit not in TimeUnit.values:
        raise ValueError(f"Unknown time unit {unit!r}.")
    now = timezone.now()
    deadline = Deadline(
        case=case,
        kind=kind,
        # A title only when someone wrote one: names of kinds and stages are rendered in the
        # reader's language when read (deadline_label), never frozen in the language of the
        # request that happened to set the deadline.
        title=title,
        note=note,
        client_facing=kind in CLIENT_FACING_KINDS,
        pausable=kind in PAUSABLE_KINDS,
        starts_at=starts_at,
        budget_amount=amount,
        budget_unit=unit if amount is not None else "",
        due_at=due_at,
        stage=stage,
        evidence_request_id=evidence_request_id,
        reminder_offsets_minutes=reminder_offsets_minutes() if reminders else [],
        created_by=actor,
        created_at=now,
    )
    deadline.basis = {
        "method": "budget" if amount is not None else "fixed",
        "starts_at": starts_at,
        "amount": amount,
        "unit": deadline.budget_unit,
        "pauses_with_case": deadline.pausable,
        **(basis or {}),
    }
    if amount is not None:
        waits = _waits_of(case) if deadline.pausable else []
        deadline.due_at, deadline.used_seconds, deadline.paused_at, years = _schedule_or_refuse(
            calendar or load_calendar(), deadline, waits, start_field=start_field
        )
        deadline.provisional, deadline.provisional_years = bool(years), years
    deadline.next_alert_at = next_alert_at(deadline, now)
    deadline.save()
    _record(
        deadline,
        actor=actor,
        kind=EventKind.DEADLINE_SET,
        basis=deadline.basis,
        paused=deadline.paused_at,
        provisional_years=deadline.provisional_years,
    )
    return deadline


def _store_schedule(
    deadline: Deadline,
    *,
    due_at: dt.datetime | None,
    used_seconds: int,
    paused_at: dt.datetime | None,
    provisional_years: list[int],
    actor: User | None,
    reason: Reason,
    now: dt.datetime,
) -> bool:
    """Save a new schedule if it differs from the stored one, with its history row.

    A schedule that only stops (or starts) being provisional is a change too: the due time
    is the same, but it now rests on the official arrangement, and the history says so.
    """
    if (due_at, paused_at, provisional_years) == (deadline.due_at, deadline.paused_at, deadline.provisional_years):
        return False
    old_due, was_paused, was_provisional = deadline.due_at, deadline.paused_at is not None, deadline.provisional
    deadline.due_at, deadline.used_seconds, deadline.paused_at = due_at, used_seconds, paused_at
    deadline.provisional, deadline.provisional_years = bool(provisional_years), provisional_years
    deadline.next_alert_at = next_alert_at(deadline, now)
    deadline.save(
        update_fields=[
            "due_at",
            "used_seconds",
            "paused_at",
            "provisional",
            "provisional_years",
            "next_alert_at",
            "updated_at",
        ]
    )
    _record(
        deadline,
        actor=actor,
        kind=EventKind.DEADLINE_MOVED,
        reason=reason,
        old_due_at=old_due,
        was_paused=was_paused,
        paused=paused_at is not None,
        used_seconds=used_seconds,
        was_provisional=was_provisional,
        provisional_years=provisional_years,
    )
    return True


def deadline_reschedule(
    deadline: Deadline,
    *,
    actor: User | None,
    reason: Reason,
    calendar: WorkingCalendar | None = None,
    waits: Sequence[Interval] | None = None,
    start_field: str = "starts_at",
) -> bool:
    """Recompute an open clock from its basis; True if its due time, pause or provisional mark changed."""
    if deadline.status != DeadlineStatus.OPEN or deadline.budget_amount is None:
        return False
    if waits is None:
        waits = _waits_of(deadline.case) if deadline.pausable else []
    due_at, used, paused_at, years = _schedule_or_refuse(
        calendar or load_calendar(), deadline, waits, start_field=start_field
    )
    return _store_schedule(
        deadline,
        due_at=due_at,
        used_seconds=used,
        paused_at=paused_at,
        provisional_years=years,
        actor=actor,
        reason=reason,
        now=timezone.now(),
    )


def deadline_move(deadline: Deadline, *, due_at: dt.datetime, actor: User | None, reason: Reason) -> bool:
    """Give a deadline a new fixed due time (a corrected notice, a platform's extension)."""
    if deadline.status != DeadlineStatus.OPEN:
        return False
    if deadline.budget_amount is not None:
        deadline.budget_amount, deadline.budget_unit = None, ""
        deadline.basis = {**deadline.basis, "method": "fixed", "amount": None, "unit": "", "replaced_budget": True}
        deadline.save(update_fields=["budget_amount", "budget_unit", "basis"])
    return _store_schedule(
        deadline,
        due_at=due_at,
        used_seconds=0,
        paused_at=None,
        provisional_years=[],
        actor=actor,
        reason=reason,
        now=timezone.now(),
    )


def deadlines_recompute_for_dates(*, dates: Sequence[dt.date], actor: User | None, reason: Reason) -> int:
    """After a calendar day changed: recompute every running working-time clock that spans one of ``dates``.

    A clock is affected when it started before the end of the latest changed day and is
    due after the start of the earliest (or is paused, so its future is open). Natural-time
    and fixed deadlines do not depend on the calendar. A year's official arrangement
    entered (or withdrawn) is a change of every day of that year: pass its first and last
    day, and every provisional clock that reaches it is recomputed and loses (or gets) the mark.
    """
    if not dates:
        return 0
    calendar = load_calendar()
    first = dt.datetime.combine(min(dates), dt.time.min, tzinfo=calendar.tz)
    last = dt.datetime.combine(max(dates) + dt.timedelta(days=1), dt.time.min, tzinfo=calendar.tz)
    spanning = Deadline.objects.filter(
        status=DeadlineStatus.OPEN, budget_amount__isnull=False, budget_unit__in=WORKING_UNITS, starts_at__lt=last
    ).filter(Q(due_at__gte=first) | Q(due_at__isnull=True))
    lock_cases(spanning.values_list("case_id", flat=True))
    affected = (
        spanning.select_related("case")
        .prefetch_related(Prefetch("case__waits"))
        .order_by("pk")
        .select_for_update(of=("self",))
    )
    moved = 0
    for deadline in affected:
        waits = merged_waits(deadline.case.waits.all()) if deadline.pausable else []
        try:
            if deadline_reschedule(deadline, actor=actor, reason=reason, calendar=calendar, waits=waits):
                moved += 1
        except InvalidInput:
            # A clock stored before the supported years were enforced (a start typed as 1990)
            # keeps its due time rather than block the administrator's calendar edit.
            logger.warning("Deadline %s spans years the calendar does not support; left as it was", deadline.pk)
    return moved


# --- Closing deadlines -------------------------------------------------------------------------


def _close(deadline: Deadline, *, status: str, reason: Reason, at: dt.datetime) -> tuple[EventKind, bool] | None:
    """Close ``deadline`` in memory; the history kind and whether it was met late, or None if nothing changed."""
    if deadline.status == DeadlineStatus.MISSED and status == DeadlineStatus.MET and deadline.met_at is None:
        deadline.met_at = at
        return EventKind.DEADLINE_MET, True
    if deadline.status != DeadlineStatus.OPEN:
        return None
    deadline.status = status
    deadline.next_alert_at = None
    if status == DeadlineStatus.MET:
        deadline.met_at = at
        kind = EventKind.DEADLINE_MET
    elif status == DeadlineStatus.CANCELLED:
        deadline.cancelled_at = at
        kind = EventKind.DEADLINE_CANCELLED
    else:
        raise ValueError(f"Cannot close a deadline as {status!r}.")
    deadline.closing_reason, deadline.closing_reason_code, deadline.closing_reason_params = reason_fields(reason)
    return kind, False


CLOSING_FIELDS = [
    "status",
    "next_alert_at",
    "met_at",
    "cancelled_at",
    "closing_reason",
    "closing_reason_code",
    "closing_reason_params",
    "updated_at",
]


def deadline_close(
    deadline: Deadline, *, status: str, actor: User | None, reason: Reason = "", at: dt.datetime | None = None
) -> bool:
    """Mark an open deadline met or cancelled; a missed one that is now met is recorded as met late.

    Returns True if anything changed. Missed stays missed (the record of the miss is not
    rewritten); ``met_at`` says when the work was done after all, which takes it off the
    overdue lists.
    """
    closed = _close(deadline, status=status, reason=reason, at=at or timezone.now())
    if closed is None:
        return False
    kind, late = closed
    deadline.save(update_fields=["met_at", "updated_at"] if late else CLOSING_FIELDS)
    _record(deadline, actor=actor, kind=kind, reason=reason, late=late)
    return True


def _close_each(
    closures: list[tuple[Deadline, str, Reason]], *, actor: User | None, record: bool = True
) -> list[tuple[Deadline, EventKind, bool, Reason]]:
    """Close several deadlines with one UPDATE, recording each in the order given (or leaving it to the caller)."""
    now = timezone.now()
    changed: list[tuple[Deadline, EventKind, bool, Reason]] = []
    for deadline, status, reason in closures:
        closed = _close(deadline, status=status, reason=reason, at=now)
        if closed is not None:
            deadline.updated_at = now
            changed.append((deadline, *closed, reason))
    if changed:
        Deadline.objects.bulk_update([deadline for deadline, *_rest in changed], CLOSING_FIELDS)
    if record:
        _record_closed(changed, actor=actor)
    return changed


def _record_closed(changed: list[tuple[Deadline, EventKind, bool, Reason]], *, actor: User | None) -> None:
    for deadline, kind, late, reason in changed:
        _record(deadline, actor=actor, kind=kind, reason=reason, late=late)


def deadline_reopen(deadline: Deadline, *, actor: User | None, reason: Reason) -> bool:
    """Open a met deadline again (the evidence that met it turned out unusable)."""
    if deadline.status != DeadlineStatus.MET:
        return False
    deadline.status, deadline.met_at = DeadlineStatus.OPEN, None
    deadline.closing_reason, deadline.closing_reason_code, deadline.closing_reason_params = "", "", None
    deadline.next_alert_at = next_alert_at(deadline, timezone.now())
    deadline.save(
        update_fields=[
            "status",
            "met_at",
            "closing_reason",
            "closing_reason_code",
            "closing_reason_params",
            "next_alert_at",
            "updated_at",
        ]
    )
    _record(deadline, actor=actor, kind=EventKind.DEADLINE_REOPENED, reason=reason)
    return True


def open_deadlines(case: Case, *kinds: str) -> list[Deadline]:
    """The case's open deadlines of ``kinds``, row-locked (take the case's row first)."""
    return list(
        Deadline.objects.select_for_update().filter(case_id=case.pk, status=DeadlineStatus.OPEN, kind__in=kinds)
    )


# --- Waiting on the client or the platform ----------------------------------------------------


def _reschedule_pausable(case: Case, *, actor: User | None, reason: Reason) -> None:
    deadlines = list(
        Deadline.objects.select_for_update().filter(
            case_id=case.pk, status=DeadlineStatus.OPEN, pausable=True, budget_amount__isnull=False
        )
    )
    if not deadlines:
        return
    calendar, waits = load_calendar(), _waits_of(case)
    for deadline in deadlines:
        deadline.case = case
        deadline_reschedule(deadline, actor=actor, reason=reason, calendar=calendar, waits=waits)


def case_wait_start(
    *, case: Case, waiting_on: str, actor: User | None, source: str = WaitSource.MANUAL, note: str = ""
) -> CaseWait | None:
    """Start waiting on a party; internal clocks pause. None if the case already waits on it."""
    if CaseWait.objects.filter(case_id=case.pk, waiting_on=waiting_on, ended_at__isnull=True).exists():
        return None
    wait = CaseWait.objects.create(
        case=case, waiting_on=waiting_on, source=source, note=note, started_at=timezone.now(), started_by=actor
    )
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.CLOCKS_PAUSED,
        new_value={"wait": wait.pk, "waiting_on": waiting_on, "source": source},
        reason=note,
    )
    _reschedule_pausable(case, actor=actor, reason=system_reason(ReasonCode.WAITING_ON, party=waiting_on))
    return wait


def case_wait_end(
    *, case: Case, waiting_on: str, actor: User | None, source: str | None = None, note: Reason = ""
) -> CaseWait | None:
    """Stop waiting on a party; paused clocks resume with the time already used kept."""
    waits = CaseWait.objects.select_for_update().filter(case_id=case.pk, waiting_on=waiting_on, ended_at__isnull=True)
    if source is not None:
        waits = waits.filter(source=source)
    wait = waits.first()
    if wait is None:
        return None
    wait.ended_at, wait.ended_by = timezone.now(), actor
    wait.save(update_fields=["ended_at", "ended_by"])
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.CLOCKS_RESUMED,
        new_value={"wait": wait.pk, "waiting_on": waiting_on, "source": wait.source},
        reason=note,
    )
    _reschedule_pausable(case, actor=actor, reason=system_reason(ReasonCode.NO_LONGER_WAITING_ON, party=waiting_on))
    return wait


# --- Deadlines that follow the case ------------------------------------------------------------


def appeal_window_basis(case: Case) -> dict[str, Any]:
    """How the platform's appeal window is set: the notice's own deadline, or the profile's window."""
    if case.appeal_deadline is not None:
        return {"due_at": case.appeal_deadline, "basis": {"source": "notice"}}
    profile = case.rule_profile
    if profile is None:
        return {}
    return {
        "amount": profile.appeal_window_value,
        "unit": WINDOW_UNITS[WindowUnit(profile.appeal_window_unit)],
        "basis": {"source": "rule_profile", "rule_profile": profile.pk},
    }


def appeal_window_sync(case: Case, *, actor: User | None) -> Deadline | None:
    """Keep the open appeal-window deadline in line with the notice and the profile."""
    if case.state not in CHAT_EVIDENCE_STATES:
        return None
    wanted = appeal_window_basis(case)
    existing = next(iter(open_deadlines(case, DeadlineKind.PLATFORM_APPEAL_WINDOW)), None)
    if not wanted:
        return existing
    if existing is None:
        if Deadline.objects.filter(case_id=case.pk, kind=DeadlineKind.PLATFORM_APPEAL_WINDOW).exists():
            return None  # met or missed already: the case's first window is history
        return deadline_set(
            case=case,
            kind=DeadlineKind.PLATFORM_APPEAL_WINDOW,
            actor=actor,
            starts_at=case.notice_received_at,
            start_field="notice_received_at",
            **wanted,
        )
    existing.case = case
    reason = system_reason(ReasonCode.NOTICE_DETAILS_CHANGED)
    if "due_at" in wanted:
        deadline_move(existing, due_at=wanted["due_at"], actor=actor, reason=reason)
        return existing
    changed = (existing.starts_at, existing.budget_amount, existing.budget_unit) != (
        case.notice_received_at,
        wanted["amount"],
        wanted["unit"],
    )
    if changed:
        existing.starts_at, existing.budget_amount, existing.budget_unit = (
            case.notice_received_at,
            wanted["amount"],
            wanted["unit"],
        )
        existing.basis = {
            **existing.basis,
            "method": "budget",
            "starts_at": case.notice_received_at,
            "amount": wanted["amount"],
            "unit": wanted["unit"],
            **wanted["basis"],
        }
        existing.save(update_fields=["starts_at", "budget_amount", "budget_unit", "basis"])
        deadline_reschedule(existing, actor=actor, reason=reason, start_field="notice_received_at")
    return existing


def stage_sla_start(case: Case, *, actor: User | None) -> Deadline | None:
    """Start the internal clock for the case's current state, if one is configured."""
    sla = StageSla.objects.filter(state=case.state, active=True).first()
    if sla is None:
        return None
    return deadline_set(
        case=case,
        kind=DeadlineKind.STAGE_SLA,
        actor=actor,
        starts_at=case.state_changed_at,
        amount=sla.amount,
        unit=sla.unit,
        stage=case.state,
        basis={"source": "stage_sla", "stage_sla": sla.pk},
    )


def _meet_outstanding(case: Case, kind: str, *, actor: User | None, reason: Reason, **match: Any) -> None:
    """Mark the case's open deadlines of ``kind`` met, and its missed ones met late."""
    for deadline in (
        Deadline.objects.select_for_update()
        .filter(case_id=case.pk, kind=kind, **match)
        .filter(Q(status=DeadlineStatus.OPEN) | Q(status=DeadlineStatus.MISSED, met_at__isnull=True))
    ):
        deadline.case = case
        deadline_close(deadline, status=DeadlineStatus.MET, actor=actor, reason=reason)


def follow_up_restart(case: Case, *, actor: User | None, since: dt.datetime) -> Deadline | None:
    """The next contact with the platform is due within the profile's maximum silence of ``since``."""
    _meet_outstanding(
        case, DeadlineKind.PLATFORM_FOLLOW_UP, actor=actor, reason=system_reason(ReasonCode.PLATFORM_CONTACTED)
    )
    return follow_up_start(case, actor=actor, since=since)


def follow_up_start(case: Case, *, actor: User | None, since: dt.datetime) -> Deadline | None:
    """While the appeal is with the platform, the next contact is due within the profile's silence."""
    if case.state != CaseState.SUBMITTED:
        return None
    profile = case.rule_profile
    value = profile.follow_up_max_silence_value if profile else 3
    unit = WINDOW_UNITS[WindowUnit(profile.follow_up_max_silence_unit)] if profile else TimeUnit.WORKING_DAYS
    return deadline_set(
        case=case,
        kind=DeadlineKind.PLATFORM_FOLLOW_UP,
        actor=actor,
        starts_at=since,
        amount=value,
        unit=unit,
        reminders=False,
        basis={"source": "follow_up_cadence", "rule_profile": profile.pk if profile else None},
    )


# Deadline kind -> what follows when a deadline of that kind is missed. The app that owns
# the kind's subject registers it (evidence: the next order's chat evidence clock starts).
ON_MISSED: dict[str, Callable[[Case], None]] = {}


def on_missed(kind: str) -> Callable[[Callable[[Case], None]], Callable[[Case], None]]:
    def register(func: Callable[[Case], None]) -> Callable[[Case], None]:
        ON_MISSED[kind] = func
        return func

    return register


def state_left(case: Case, *, actor: User | None, old_state: str, appeal_sent: bool) -> None:
    """Meet and cancel deadlines as the case leaves ``old_state``; called in the transition's transaction.

    ``appeal_sent``: the transition sent the appeal to the platform (its window and any
    supplement are met, and the follow-up cadence starts). The case's open (and missed,
    not yet met) deadlines are read once and closed with one UPDATE, in this order: the
    stage it left, then everything if it finished, or else what the platform's step
    settles, and the follow-up cadence when the appeal went out. The caller starts the rest
    of what the new state needs (casework.transitions: the chat evidence deadline, the SLA).
    """
    pending = list(
        Deadline.objects.select_for_update().filter(
            Q(status=DeadlineStatus.OPEN) | Q(status=DeadlineStatus.MISSED, met_at__isnull=True), case_id=case.pk
        )
    )
    for deadline in pending:
        deadline.case = case

    def open_of(kinds: Iterable[str]) -> list[Deadline]:
        return [d for d in pending if d.kind in kinds and d.status == DeadlineStatus.OPEN]

    def outstanding_of(kind: str, **match: Any) -> list[Deadline]:
        return [d for d in pending if d.kind == kind and all(getattr(d, k) == v for k, v in match.items())]

    closures: list[tuple[Deadline, str, Reason]] = []

    left = system_reason(ReasonCode.CASE_LEFT_STATE, state=old_state)
    closures += [(d, DeadlineStatus.MET, left) for d in outstanding_of(DeadlineKind.STAGE_SLA, stage=old_state)]
    if case.state in TERMINAL_STATES:
        finished = system_reason(ReasonCode.CASE_FINISHED, state=case.state)
        # A deadline met above is no longer open when its cancellation comes: _close_each skips it.
        closures += [(d, DeadlineStatus.CANCELLED, finished) for d in open_of(DeadlineKind.values)]
        _close_each(closures, actor=actor)
        for party in WaitingOn.values:
            case_wait_end(case=case, waiting_on=party, actor=actor, note=finished)
        return
    if appeal_sent:
        submitted = system_reason(ReasonCode.APPEAL_SUBMITTED)
        closures += [(d, DeadlineStatus.MET, submitted) for d in open_of(PLATFORM_KINDS)]
        contacted = system_reason(ReasonCode.PLATFORM_CONTACTED)
        closures += [(d, DeadlineStatus.MET, contacted) for d in outstanding_of(DeadlineKind.PLATFORM_FOLLOW_UP)]
    if old_state == CaseState.SUBMITTED:
        decided = system_reason(ReasonCode.PLATFORM_DECIDED)
        closures += [
            (d, DeadlineStatus.MET, decided)
            for d in open_of([DeadlineKind.PLATFORM_FOLLOW_UP, DeadlineKind.PLATFORM_SUPPLEMENT])
        ]
    stage_over: list[tuple[Deadline, str, Reason]] = []
    if case.state not in CHAT_EVIDENCE_STATES:
        # Past the evidence stage the chat logs no longer matter (evidence.deadlines keeps
        # this deadline while they do). Closed in the same UPDATE, recorded last, as ever.
        over = system_reason(ReasonCode.CHAT_EVIDENCE_STAGE_OVER)
        stage_over = [(d, DeadlineStatus.CANCELLED, over) for d in open_of([DeadlineKind.CHAT_EVIDENCE_EXPIRY])]
    changed = _close_each(closures + stage_over, actor=actor, record=False)
    last = {id(deadline) for deadline, _status, _reason in stage_over}
    _record_closed([entry for entry in changed if id(entry[0]) not in last], actor=actor)
    if appeal_sent:
        follow_up_start(case, actor=actor, since=case.state_changed_at)
    _record_closed([entry for entry in changed if id(entry[0]) in last], actor=actor)
