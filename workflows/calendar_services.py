"""Changing the working calendar and the stage SLAs; every calendar change recomputes the deadlines it moves.

A year's official holiday arrangement is entered day by day and then declared with
``calendar_year_set`` (or imported whole with ``calendar_import_library`` once the library
knows it); until then the year runs on its statutory holidays and its clocks are
provisional. ``calendar_missing_notice_send`` tells the administrators, once a year, when
next year's arrangement is still missing late in the year.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import Role, User
from agency.accounts.permissions import require_role
from agency.errors import InvalidInput, NotFound
from cases.reasons import ReasonCode, SystemReason, system_reason
from workflows.calendar import business_time_zone, supported_years
from workflows.holidays import FIRST_SEEDED_YEAR, library_days, library_years
from workflows.models import (
    WORKING_UNITS,
    CalendarDay,
    CalendarDayKind,
    CalendarDaySource,
    CalendarYear,
    Deadline,
    DeadlineStatus,
    NotificationKind,
    StageSla,
)
from workflows.notifications import notify

# Who changes the working calendar and the stage SLAs; the API's and the admin's gates read this too.
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
    require_role(actor, CALENDAR_EDITORS)
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
    require_role(actor, CALENDAR_EDITORS)
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
    # The years this import made official (their arrangement is now loaded).
    declared: tuple[int, ...] = ()


@transaction.atomic
def calendar_import_library(*, years: Sequence[int] | None = None, actor: User | None = None) -> ImportResult:
    """Add the official schedule the chinese-calendar library knows for ``years`` (default: all seeded years).

    Days staff entered (source "manual") are kept as they are; library days the library
    now describes differently (a corrected schedule after an upgrade) are updated. Each
    year the library knows becomes official (its arrangement is loaded). Running
    working-time deadlines over the added or changed days, and every clock that reaches a
    year made official (the provisional ones among them), are recomputed in this transaction.
    """
    if actor is not None:
        require_role(actor, CALENDAR_EDITORS)
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
    known = set(library_years())
    imported = set(years) & known if years is not None else {year for year in known if year >= FIRST_SEEDED_YEAR}
    declared = _declare_official(
        years=sorted(year for year in imported if supported_year_error(year) is None),
        actor=actor,
        source=CalendarDaySource.LIBRARY,
    )
    for year in declared:
        changed += [dt.date(year, 1, 1), dt.date(year, 12, 31)]
    _recompute(dates=changed, actor=actor, reason=system_reason(ReasonCode.CALENDAR_SCHEDULE_IMPORTED))
    return ImportResult(added=len(added), updated=len(updated), kept=kept, declared=tuple(declared))


# --- Years: is the official arrangement loaded? ------------------------------------------------


def supported_year_error(year: int) -> str | None:
    """Why the calendar cannot hold an arrangement for this year, or None if it can."""
    first, last = supported_years()
    if first <= year <= last:
        return None
    return _("Give a year from %(first)d to %(last)d: the working calendar covers those only.") % {
        "first": first,
        "last": last,
    }


def _days_entered(kind: str) -> Coalesce:
    entered = (
        CalendarDay.objects.filter(date__year=OuterRef("year"), kind=kind)
        .order_by()
        .values("kind")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(entered, output_field=IntegerField()), Value(0))


def calendar_years_list() -> QuerySet[CalendarYear]:
    """The years the calendar has a record of, with how many holidays and make-up days each has entered."""
    return (
        CalendarYear.objects.select_related("updated_by")
        .annotate(
            holidays_entered=_days_entered(CalendarDayKind.HOLIDAY),
            workdays_entered=_days_entered(CalendarDayKind.WORKDAY),
        )
        .order_by("year")
    )


def calendar_year_get(*, year: int) -> CalendarYear:
    """One supported year, recorded or not (a year never recorded is not official); NotFound outside them."""
    if supported_year_error(year) is not None:
        raise NotFound()
    found = calendar_years_list().filter(year=year).first()
    if found is not None:
        return found
    unrecorded = CalendarYear(year=year, official=False)
    counts = dict(
        CalendarDay.objects.filter(date__year=year).order_by().values_list("kind").annotate(count=Count("pk"))
    )
    unrecorded.holidays_entered = counts.get(CalendarDayKind.HOLIDAY, 0)  # type: ignore[attr-defined]
    unrecorded.workdays_entered = counts.get(CalendarDayKind.WORKDAY, 0)  # type: ignore[attr-defined]
    return unrecorded


def _declare_official(*, years: Sequence[int], actor: User | None, source: str) -> list[int]:
    """Mark these years official; the ones that were not before (to recompute their clocks)."""
    declared: list[int] = []
    for year in years:
        CalendarYear.objects.get_or_create(year=year)
        row = CalendarYear.objects.select_for_update().get(pk=year)
        if row.official:
            continue
        row.official, row.source, row.updated_by = True, source, actor
        row.save(update_fields=["official", "source", "updated_by", "updated_at"])
        declared.append(year)
    return declared


def calendar_year_errors(*, year: int, official: bool) -> dict[str, list[str]]:
    """Why the year cannot be marked so, by field (empty if it can): outside the supported years,
    or declared official before any of its public holidays is entered."""
    error = supported_year_error(year)
    if error:
        return {"year": [error]}
    if official and not CalendarDay.objects.filter(date__year=year, kind=CalendarDayKind.HOLIDAY).exists():
        message = _("Enter the public holidays and make-up working days of %(year)d first: then only they count.")
        return {"official": [message % {"year": year}]}
    return {}


@transaction.atomic
def calendar_year_set(*, actor: User, year: int, official: bool) -> CalendarYear:
    """Declare a year's official arrangement entered (``official``), or withdraw that declaration.

    Declaring needs the year's public holidays entered first (at least one), since from
    then on only the entered days count: the statutory fallback no longer applies. Every
    working-time clock that reaches the year (every provisional one among them) is
    recomputed in this transaction; declared, it loses the provisional mark. Setting what
    is already set changes nothing.
    """
    require_role(actor, CALENDAR_EDITORS)
    errors = calendar_year_errors(year=year, official=official)
    if errors:
        raise InvalidInput(details={"fields": errors})
    CalendarYear.objects.get_or_create(year=year)
    row = CalendarYear.objects.select_for_update().get(pk=year)
    if row.official == official:
        return row
    row.official, row.source, row.updated_by = official, CalendarDaySource.MANUAL, actor
    row.save(update_fields=["official", "source", "updated_by", "updated_at"])
    code = ReasonCode.CALENDAR_YEAR_OFFICIAL if official else ReasonCode.CALENDAR_YEAR_NOT_OFFICIAL
    _recompute(dates=[dt.date(year, 1, 1), dt.date(year, 12, 31)], actor=actor, reason=system_reason(code, year=year))
    return row


# --- Telling the administrators a year is missing --------------------------------------------

_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")


def missing_notice_from(year: int) -> dt.date:
    """The day of ``year`` from which a missing arrangement for the next year is announced (settings)."""
    value = str(settings.CALENDAR_MISSING_NOTICE_FROM).strip()
    match = _MONTH_DAY.match(value)
    try:
        if match is None:
            raise ValueError(value)
        # Checked against a leap year's calendar, so 02-29 is allowed (and is 1 March otherwise).
        dt.date(2000, int(match[1]), int(match[2]))
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"CALENDAR_MISSING_NOTICE_FROM must be a day of the year as MM-DD, for example 11-01; got {value!r}"
        ) from exc
    month, day = int(match[1]), int(match[2])
    try:
        return dt.date(year, month, day)
    except ValueError:
        return dt.date(year, 3, 1)


def official_years_among(years: Sequence[int]) -> set[int]:
    return set(CalendarYear.objects.filter(year__in=years, official=True).values_list("year", flat=True))


def calendar_provisional_catch_up(*, now: dt.datetime | None = None) -> list[int]:
    """Recompute the running clocks that reach a year without an arrangement but were counted without knowing it.

    A clock started before the calendar knew which years are official (before this
    release) was counted on the weekday rule alone, New Year's Day 2027 as a working day.
    Such a clock reaches a year that is not official and is not marked provisional. Each
    such year is recomputed as a change of its every day, which writes each moved clock's
    history and marks it provisional; afterwards nothing matches, so the hourly run is a
    cheap check. Returns the years recomputed.
    """
    now = now or timezone.now()
    this_year = now.astimezone(business_time_zone()).year
    _, last = supported_years(now)
    candidates = list(range(this_year, last + 1))
    official = official_years_among(candidates)
    recomputed = []
    for year in candidates:
        if year in official:
            continue
        start = dt.datetime(year, 1, 1, tzinfo=business_time_zone())
        stale = Deadline.objects.filter(
            status=DeadlineStatus.OPEN, budget_unit__in=WORKING_UNITS, provisional=False, due_at__gte=start
        )
        if not stale.exists():
            continue
        with transaction.atomic():
            _recompute(
                dates=[dt.date(year, 1, 1), dt.date(year, 12, 31)],
                actor=None,
                reason=system_reason(ReasonCode.CALENDAR_YEAR_NOT_OFFICIAL, year=year),
            )
        recomputed.append(year)
    return recomputed


def calendar_missing_notice_send(*, now: dt.datetime | None = None) -> list[int]:
    """Tell every administrator, once per year, that a year's official arrangement is missing.

    Checked for the current year at any time and for the next one from the configured day
    (``CALENDAR_MISSING_NOTICE_FROM``, 1 November by default). Run by beat every hour; safe
    on several workers at once: the year's row is claimed with a conditional UPDATE of its
    ``missing_notice_sent_at`` before anyone is notified, and the notifications' unique key
    (administrator, year) is the backstop. Returns the years notified by this call.
    """
    now = now or timezone.now()
    today = now.astimezone(business_time_zone()).date()
    due = [today.year] + ([today.year + 1] if today >= missing_notice_from(today.year) else [])
    missing = [year for year in due if year not in official_years_among(due)]
    administrators = list(
        User.objects.filter(role=Role.ADMINISTRATOR, is_active=True, api_key__isnull=True).order_by("pk")
    )
    if not missing or not administrators:
        return []  # with nobody to tell, keep the claim for when somebody is there
    notified: list[int] = []
    for year in missing:
        with transaction.atomic():
            CalendarYear.objects.get_or_create(year=year)
            claimed = CalendarYear.objects.filter(pk=year, official=False, missing_notice_sent_at__isnull=True).update(
                missing_notice_sent_at=now
            )
            if claimed != 1:
                continue  # told already, or another worker is telling them now
            notify(
                recipients=administrators,
                kind=NotificationKind.CALENDAR_YEAR_MISSING,
                case=None,
                deadline=None,
                params={"year": year},
                dedupe_key=f"calendar_year_missing:{year}",
            )
        notified.append(year)
    return notified


def calendar_health(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """Whether this year's and next year's official arrangements are loaded (for /health/)."""
    year = (now or timezone.now()).astimezone(business_time_zone()).year
    official = official_years_among([year, year + 1])
    return {
        "current_year": year,
        "current_year_official": year in official,
        "next_year_official": year + 1 in official,
        "years_missing": [each for each in (year, year + 1) if each not in official],
    }


# --- Stage SLAs --------------------------------------------------------------------------


@transaction.atomic
def stage_sla_update(*, actor: User, sla_id: int, changes: Mapping[str, Any]) -> StageSla:
    """Administrators change how long a case may stay in a state; clocks started later use it."""
    require_role(actor, CALENDAR_EDITORS)
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
