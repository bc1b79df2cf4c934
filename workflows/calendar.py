"""Working-time arithmetic on the agency's business calendar (hours, weekdays, holidays, 调休).

A ``WorkingCalendar`` is a pure value; ``load_calendar()`` builds the agency's from
settings and the ``CalendarDay`` rows. The semantics, for the default 09:00-18:00,
Monday-to-Friday calendar:

* Working time is the interval [day_start, day_end) of every working day, in the
  business time zone. A day is a working day if it is a make-up working day (调休,
  even on a weekend); otherwise not if it is a public holiday; otherwise if its ISO
  weekday is a working weekday.
* ``working_hours`` budgets are working seconds: 3 working hours from Friday 17:00 end
  on Monday 11:00.
* ``working_days`` budgets are N full working days' worth of working time
  (N x 9 hours), not "the same clock time N working days later, or end of day". So
  intake on Friday 15:00 + 2 working days = Tuesday 15:00 (3 h on Friday, 9 h on
  Monday, 6 h on Tuesday); a start on Saturday counts from Monday 09:00, so Saturday
  + 2 working days = Tuesday 18:00.
* A start outside working time (before 09:00, after 18:00, on a day off) begins
  counting at the next working moment. A budget that runs out exactly at day_end ends
  at that day_end, not at the next morning.
* ``natural_hours`` are elapsed seconds. ``natural_days`` in ``add`` are calendar days
  on the wall clock of the business time zone (the same local time N days later); as
  a measure and in ``advance`` they are elapsed seconds (86,400 a day), which is the
  same thing in a time zone without daylight saving time, such as Asia/Shanghai.
* Seconds are whole: measures round down to the second.

Every datetime in and out is timezone-aware (a naive one is a ValueError); results are
expressed in the calendar's time zone. Internally all differences are taken in UTC,
because Python subtracts two datetimes of the same zone on the wall clock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

UTC = dt.UTC
ONE_DAY = dt.timedelta(days=1)
ONE_SECOND = dt.timedelta(seconds=1)

NATURAL_HOURS = "natural_hours"
NATURAL_DAYS = "natural_days"
WORKING_HOURS = "working_hours"
WORKING_DAYS = "working_days"
UNITS = (NATURAL_HOURS, NATURAL_DAYS, WORKING_HOURS, WORKING_DAYS)
WORKING_UNITS = (WORKING_HOURS, WORKING_DAYS)


def _aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, not {value!r}")
    return value


def _check_unit(unit: str) -> str:
    if unit not in UNITS:
        raise ValueError(f"unknown time unit {unit!r}; expected one of {', '.join(UNITS)}")
    return str(unit)


@dataclass(frozen=True)
class WorkingCalendar:
    """A pure value: time zone, daily working hours, working weekdays and the exception days.

    ``holidays`` are days off even on a working weekday; ``workdays`` are make-up working
    days even on a weekend (a workday entry wins over the weekday rule; a date is never in
    both). All datetimes in and out are timezone-aware; results are in ``tz``.
    """

    tz: ZoneInfo
    day_start: dt.time
    day_end: dt.time
    weekdays: frozenset[int]  # ISO numbers, Monday = 1
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]

    def __post_init__(self) -> None:
        # Without a working weekday, a search for the next working moment might never end;
        # with one, it ends within a week past the last exception day.
        if not self.weekdays or not self.weekdays <= set(range(1, 8)):
            raise ValueError(f"weekdays must be a non-empty set of ISO weekday numbers 1-7, not {self.weekdays!r}")
        if self.day_start.tzinfo is not None or self.day_end.tzinfo is not None:
            raise ValueError("day_start and day_end are wall-clock times without a time zone")
        if not self.day_start < self.day_end:
            raise ValueError(f"day_start {self.day_start} must be before day_end {self.day_end}")

    # --- Days and intervals -------------------------------------------------------------

    @property
    def working_day_seconds(self) -> int:
        """The length of one full working day, in seconds (32,400 for 09:00-18:00)."""
        start = dt.datetime.combine(dt.date.min, self.day_start)
        end = dt.datetime.combine(dt.date.min, self.day_end)
        return (end - start) // ONE_SECOND

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.isoweekday() in self.weekdays

    def _day_bounds(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The working interval of a day, in UTC (whether or not the day is a working day)."""
        return (
            dt.datetime.combine(day, self.day_start, tzinfo=self.tz).astimezone(UTC),
            dt.datetime.combine(day, self.day_end, tzinfo=self.tz).astimezone(UTC),
        )

    def _utc_intervals(self, start: dt.datetime, end: dt.datetime | None) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Working intervals clipped to [start, end) in UTC, day by day; ``end=None`` never stops."""
        start_utc = start.astimezone(UTC)
        end_utc = end.astimezone(UTC) if end is not None else None
        day = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date() if end is not None else None
        while last is None or day <= last:
            if self.is_working_day(day):
                opens, closes = self._day_bounds(day)
                opens = max(opens, start_utc)
                if end_utc is not None:
                    closes = min(closes, end_utc)
                if opens < closes:
                    yield opens, closes
            day += ONE_DAY

    def working_intervals(self, start: dt.datetime, end: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The working-time intervals [a, b) that intersect [start, end), clipped to it, in ``tz``."""
        _aware(start, "start")
        _aware(end, "end")
        for opens, closes in self._utc_intervals(start, end):
            yield opens.astimezone(self.tz), closes.astimezone(self.tz)

    # --- Working seconds ----------------------------------------------------------------

    def working_seconds_between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Working seconds in [start, end); 0 if end is not after start."""
        _aware(start, "start")
        _aware(end, "end")
        if end <= start:
            return 0
        total = sum((closes - opens for opens, closes in self._utc_intervals(start, end)), dt.timedelta())
        return total // ONE_SECOND

    def add_working_seconds(self, start: dt.datetime, seconds: int) -> dt.datetime:
        """The earliest t >= start with working_seconds_between(start, t) == seconds.

        So a positive budget ends inside working time or exactly at a day's end, and a
        start outside working time begins counting at the next working moment. A zero
        budget ends at ``start`` itself, wherever it falls.
        """
        _aware(start, "start")
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, not {seconds}")
        if seconds == 0:
            return start.astimezone(self.tz)
        remaining = dt.timedelta(seconds=seconds)
        for opens, closes in self._utc_intervals(start, None):
            available = closes - opens
            if remaining <= available:
                return (opens + remaining).astimezone(self.tz)
            remaining -= available
        raise AssertionError("unreachable: the working intervals never run out")  # pragma: no cover

    # --- Budgets in any unit ------------------------------------------------------------

    def budget_seconds(self, amount: int, unit: str) -> int:
        """A budget of ``amount`` units as seconds of that unit's measure."""
        unit = _check_unit(unit)
        if amount < 0:
            raise ValueError(f"amount must not be negative, not {amount}")
        if unit == WORKING_DAYS:
            return amount * self.working_day_seconds
        if unit == NATURAL_DAYS:
            return amount * 86_400
        return amount * 3_600

    def measure(self, start: dt.datetime, end: dt.datetime, unit: str) -> int:
        """Seconds elapsed from start to end in the unit's measure (wall-clock or working time)."""
        unit = _check_unit(unit)
        _aware(start, "start")
        _aware(end, "end")
        if unit in WORKING_UNITS:
            return self.working_seconds_between(start, end)
        return max(0, (end.astimezone(UTC) - start.astimezone(UTC)) // ONE_SECOND)

    def advance(self, start: dt.datetime, seconds: int, unit: str) -> dt.datetime:
        """The moment ``seconds`` of the unit's measure after start: the inverse of ``measure``."""
        unit = _check_unit(unit)
        _aware(start, "start")
        if unit in WORKING_UNITS:
            return self.add_working_seconds(start, seconds)
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, not {seconds}")
        return (start.astimezone(UTC) + dt.timedelta(seconds=seconds)).astimezone(self.tz)

    def add(self, start: dt.datetime, amount: int, unit: str) -> dt.datetime:
        """The due time of a budget of ``amount`` units from start (see the module docstring)."""
        unit = _check_unit(unit)
        _aware(start, "start")
        if unit == NATURAL_DAYS:
            if amount < 0:
                raise ValueError(f"amount must not be negative, not {amount}")
            # Calendar days on the local wall clock: Python adds a timedelta to an aware
            # datetime on its wall clock; the round trip through UTC then settles a local
            # time that a daylight-saving change skipped.
            return (start.astimezone(self.tz) + dt.timedelta(days=amount)).astimezone(UTC).astimezone(self.tz)
        return self.advance(start, self.budget_seconds(amount, unit), unit)


# --- The agency's calendar --------------------------------------------------------------

_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")


def _setting_time(name: str) -> dt.time:
    value = getattr(settings, name)
    if isinstance(value, dt.time) and value.tzinfo is None:
        return value
    if isinstance(value, str) and _TIME.match(value.strip()):
        return dt.time.fromisoformat(value.strip())
    raise ImproperlyConfigured(f"{name} must be a time of day as HH:MM, for example 09:00; got {value!r}")


def _setting_weekdays(name: str) -> frozenset[int]:
    value = getattr(settings, name)
    parts: Iterable[object] = value.split(",") if isinstance(value, str) else value
    try:
        numbers = [int(str(part).strip()) for part in parts]
    except (TypeError, ValueError):
        numbers = []
    if not numbers or any(number not in range(1, 8) for number in numbers):
        raise ImproperlyConfigured(
            f"{name} must list ISO weekday numbers 1-7 (Monday = 1), for example 1,2,3,4,5; got {value!r}"
        )
    return frozenset(numbers)


def business_time_zone() -> ZoneInfo:
    """The zone deadlines are computed in (settings.BUSINESS_TIME_ZONE)."""
    name = settings.BUSINESS_TIME_ZONE
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ImproperlyConfigured(f"BUSINESS_TIME_ZONE is not a known time zone: {name!r}") from exc


def load_calendar() -> WorkingCalendar:
    """The agency's calendar from settings and every CalendarDay row (one query).

    Not cached: the rows are a few hundred short tuples, and reading them fresh means an
    edit by an administrator applies at once in every process.
    """
    from workflows.models import CalendarDay, CalendarDayKind

    tz = business_time_zone()
    day_start = _setting_time("WORKING_HOURS_START")
    day_end = _setting_time("WORKING_HOURS_END")
    if not day_start < day_end:
        raise ImproperlyConfigured(
            f"WORKING_HOURS_START ({day_start:%H:%M}) must be before WORKING_HOURS_END ({day_end:%H:%M})"
        )
    weekdays = _setting_weekdays("WORKING_WEEKDAYS")
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    for day, kind in CalendarDay.objects.values_list("date", "kind"):
        (workdays if kind == CalendarDayKind.WORKDAY else holidays).add(day)
    return WorkingCalendar(
        tz=tz,
        day_start=day_start,
        day_end=day_end,
        weekdays=weekdays,
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
    )
