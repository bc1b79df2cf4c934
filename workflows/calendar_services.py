"""Changing the working calendar and the stage SLAs; every calendar change recomputes the deadlines it moves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from agency.accounts.models import Role, User
from agency.errors import InvalidInput, NotAllowed, NotFound
from cases.reasons import ReasonCode, SystemReason, system_reason
from workflows.holidays import library_days
from workflows.models import CalendarDay, CalendarDayKind, CalendarDaySource, StageSla

CALENDAR_EDITORS = (Role.ADMINISTRATOR,)
# Stage SLAs are kept within a year: a longer one is a typo, not a service level.
STAGE_SLA_MAX_AMOUNT = 365
STAGE_SLA_FIELDS = ("amount", "unit", "active")
NAME_MAX_LENGTH = 100  # CalendarDay.name
# Calendar entries outside these years are typing mistakes, and near the ends of Python's
# date range the arithmetic around them would overflow.
FIRST_CALENDAR_YEAR, LAST_CALENDAR_YEAR = 1900, 2200


def calendar_year_error(year: int) -> str | None:
    """Why a date of this year cannot be in the calendar, or None if it can."""
    if FIRST_CALENDAR_YEAR <= year <= LAST_CALENDAR_YEAR:
        return None
    return _("Give a date between the years 1900 and 2200.")


def _require_administrator(actor: User) -> None:
    if getattr(actor, "role", None) not in CALENDAR_EDITORS:
        raise NotAllowed()


def _recompute(*, dates: Sequence[dt.date], actor: User | None, reason: SystemReason) -> None:
    # Imported here: the deadline engine imports the calendar, which must not import it back.
    from workflows.deadlines import deadlines_recompute_for_dates

    if dates:
        deadlines_recompute_for_dates(dates=sorted(set(dates)), actor=actor, reason=reason)


# --- Selectors ---------------------------------------------------------------------------


def calendar_days_list(*, year: int | None = None, kind: str | None = None) -> QuerySet[CalendarDay]:
    """The exception days, by date, optionally of one year and one kind."""
    days = CalendarDay.objects.select_related("updated_by").order_by("date")
    if year is not None:
        days = days.filter(date__year=year)
    if kind:
        days = days.filter(kind=kind)
    return days


# --- Calendar days -----------------------------------------------------------------------


@transaction.atomic
def calendar_day_set(*, actor: User, date: dt.date, kind: str, name: str = "") -> CalendarDay:
    """Make ``date`` a public holiday or a make-up working day (creating or replacing its entry).

    The entry becomes staff's own (source "manual"), so a later import of the official
    schedule leaves it alone. Running working-time deadlines over that date move.
    """
    _require_administrator(actor)
    if kind not in CalendarDayKind.values:
        raise InvalidInput(details={"fields": {"kind": [_("Choose a public holiday or a make-up working day.")]}})
    year_error = calendar_year_error(date.year)
    if year_error:
        raise InvalidInput(details={"fields": {"date": [year_error]}})
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(details={"fields": {"name": [_("The name is too long.")]}})
    day, _created = CalendarDay.objects.update_or_create(
        date=date, defaults={"kind": kind, "name": name, "source": CalendarDaySource.MANUAL, "updated_by": actor}
    )
    code = ReasonCode.CALENDAR_HOLIDAY_SET if kind == CalendarDayKind.HOLIDAY else ReasonCode.CALENDAR_WORKDAY_SET
    _recompute(dates=[date], actor=actor, reason=system_reason(code, date=date.isoformat()))
    return day


@transaction.atomic
def calendar_day_remove(*, actor: User, date: dt.date) -> None:
    """Return ``date`` to the weekly rule; running working-time deadlines over it move."""
    calendar_days_remove(actor=actor, dates=[date])


@transaction.atomic
def calendar_days_remove(*, actor: User, dates: Sequence[dt.date]) -> None:
    """Remove several entries at once (the admin's bulk delete), recomputing deadlines once."""
    _require_administrator(actor)
    wanted = sorted(set(dates))
    found = set(CalendarDay.objects.select_for_update().filter(date__in=wanted).values_list("date", flat=True))
    if len(found) != len(wanted):
        raise NotFound()
    CalendarDay.objects.filter(date__in=wanted).delete()
    if len(wanted) == 1:
        reason = system_reason(ReasonCode.CALENDAR_DAY_REMOVED, date=wanted[0].isoformat())
    else:
        reason = system_reason(ReasonCode.CALENDAR_DAYS_REMOVED)
    _recompute(dates=wanted, actor=actor, reason=reason)


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    kept: int


@transaction.atomic
def calendar_import_library(*, years: Sequence[int] | None = None, actor: User | None = None) -> ImportResult:
    """Add the official schedule the chinese-calendar library knows for ``years`` (default: all seeded years).

    Days staff entered (source "manual") are kept as they are; library days the library
    now describes differently (a corrected schedule after an upgrade) are updated. Running
    working-time deadlines over the added or changed days move.
    """
    if actor is not None:
        _require_administrator(actor)
    wanted = library_days(list(years) if years is not None else None)
    dates = [date for date, _kind, _name in wanted]
    existing = (
        {day.date: day for day in CalendarDay.objects.select_for_update().filter(date__range=(min(dates), max(dates)))}
        if dates
        else {}
    )
    added: list[CalendarDay] = []
    updated: list[CalendarDay] = []
    kept = 0
    for date, kind, name in wanted:
        day = existing.get(date)
        if day is None:
            added.append(CalendarDay(date=date, kind=kind, name=name, source=CalendarDaySource.LIBRARY))
        elif day.source == CalendarDaySource.LIBRARY and (day.kind, day.name) != (kind, name):
            day.kind, day.name = kind, name
            updated.append(day)
        else:
            kept += 1
    CalendarDay.objects.bulk_create(added)
    for day in updated:
        day.save(update_fields=["kind", "name", "updated_at"])
    changed = [day.date for day in added + updated]
    _recompute(dates=changed, actor=actor, reason=system_reason(ReasonCode.CALENDAR_SCHEDULE_IMPORTED))
    return ImportResult(added=len(added), updated=len(updated), kept=kept)


# --- Stage SLAs --------------------------------------------------------------------------


@transaction.atomic
def stage_sla_update(*, actor: User, sla_id: int, changes: Mapping[str, Any]) -> StageSla:
    """Administrators change how long a case may stay in a state; clocks started later use it."""
    _require_administrator(actor)
    sla = StageSla.objects.select_for_update().filter(pk=sla_id).first()
    if sla is None:
        raise NotFound()
    unknown = set(changes) - set(STAGE_SLA_FIELDS)
    if unknown:
        raise InvalidInput(details={"fields": {name: [_("This field cannot be changed.")] for name in sorted(unknown)}})
    for name, value in changes.items():
        setattr(sla, name, value)
    errors: dict[str, list[str]] = {}
    if not isinstance(sla.amount, int) or not 1 <= sla.amount <= STAGE_SLA_MAX_AMOUNT:
        errors["amount"] = [_("Give a whole number from 1 to 365.")]
    try:
        sla.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(str(message) for message in messages)
    if errors:
        raise InvalidInput(details={"fields": errors})
    sla.save()
    return sla
