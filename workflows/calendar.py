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

The calendar never guesses silently. A year whose official arrangement (放假安排, with its
调休) is not loaded yet (no ``CalendarYear`` row marked official) is computed on its
statutory holidays alone: the fixed days the law names (New Year's Day, the Spring
Festival, Qingming, Labour Day, the Dragon Boat and Mid-Autumn festivals, National Day),
dated by rule by the holidays library, with no day moved or made up. Working time whose
span reaches such a year is provisional (``unofficial_years`` names the years), and the
deadlines computed on it say so until the arrangement is entered and they are recomputed.

Working time is computed only within the supported years, ``FIRST_SUPPORTED_YEAR`` (2000)
through ``SUPPORTED_YEARS_AHEAD`` (5) years after the current one: outside them a date is a
typing mistake, and the calendar raises ``CalendarRangeError`` rather than count days on an
empty calendar.

Every datetime in and out is timezone-aware (a naive one is a ValueError); results are
expressed in the calendar's time zone. Internally all differences are taken in UTC,
because Python subtracts two datetimes of the same zone on the wall clock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext as _

from agency import moments

UTC = dt.UTC
ONE_DAY = dt.timedelta(days=1)
ONE_SECOND = dt.timedelta(seconds=1)

NATURAL_HOURS = "natural_hours"
NATURAL_DAYS = "natural_days"
WORKING_HOURS = "working_hours"
WORKING_DAYS = "working_days"
UNITS = (NATURAL_HOURS, NATURAL_DAYS, WORKING_HOURS, WORKING_DAYS)
WORKING_UNITS = (WORKING_HOURS, WORKING_DAYS)

# The years working time is computed in: from 2000 (no arrangement before it is of any use
# to a running deadline, and the holiday rules before it were different again) through five
# years after the current one (longer than any budget the API accepts, 1000 working days).
# The first year any moment the agency records may fall in (agency.moments), so one rule for both.
FIRST_SUPPORTED_YEAR = moments.EARLIEST.year
SUPPORTED_YEARS_AHEAD = 5


class CalendarRangeError(ValueError):
    """Working time was asked of a day outside the years the calendar supports.

    ``at_start`` tells a start outside them from a budget that runs past the last of them.
    """

    def __init__(self, day: dt.date, first_year: int, last_year: int, *, at_start: bool) -> None:
        self.day, self.first_year, self.last_year, self.at_start = day, first_year, last_year, at_start
        super().__init__(f"{day} is outside the supported calendar years {first_year}-{last_year}")


def range_error_fields(
    error: CalendarRangeError, *, start_field: str, amount_field: str = "amount"
) -> dict[str, list[str]]:
    """The 400's ``details.fields`` for working time outside the supported years: the start, else the amount."""
    if error.at_start:
        return {start_field: [outside_supported_years(error.first_year, error.last_year)]}
    values = {"last": error.last_year}
    return {amount_field: [_("This runs past %(last)d, the last year the working calendar covers.") % values]}


def outside_supported_years(first: int, last: int) -> str:
    """The message for a time outside the supported years, in the active language."""
    message = _("Give a time in the years %(first)d to %(last)d: the working calendar covers those only.")
    return message % {"first": first, "last": last}


def provisional_reason(years: Sequence[int]) -> str | None:
    """Why working time over these years is provisional, in the active language; None if it is not."""
    if not years:
        return None
    return _(
        "The official holiday arrangement for %(years)s is not loaded; this is computed on statutory holidays only."
    ) % {"years": ", ".join(str(year) for year in years)}


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

    ``official_years`` are the years whose official arrangement is loaded (None: every
    year's, as for a calendar built by hand from its exception days); ``statutory_holidays``
    are the statutory days off of the other years, days off like ``holidays``. Working time
    is computed only for days of ``first_year`` through ``last_year``.
    """

    tz: ZoneInfo
    day_start: dt.time
    day_end: dt.time
    weekdays: frozenset[int]  # ISO numbers, Monday = 1
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    official_years: frozenset[int] | None = None
    statutory_holidays: frozenset[dt.date] = frozenset()
    first_year: int = dt.MINYEAR
    last_year: int = dt.MAXYEAR

    def __post_init__(self) -> None:
        # Without a working weekday, a search for the next working moment might never end;
        # with one, it ends within a week past the last exception day.
        if not self.weekdays or not self.weekdays <= set(range(1, 8)):
            raise ValueError(f"weekdays must be a non-empty set of ISO weekday numbers 1-7, not {self.weekdays!r}")
        if self.day_start.tzinfo is not None or self.day_end.tzinfo is not None:
            raise ValueError("day_start and day_end are wall-clock times without a time zone")
        if not self.day_start < self.day_end:
            raise ValueError(f"day_start {self.day_start} must be before day_end {self.day_end}")
        if not self.first_year <= self.last_year:
            raise ValueError(f"first_year {self.first_year} must not be after last_year {self.last_year}")

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
        if day in self.holidays or day in self.statutory_holidays:
            return False
        return day.isoweekday() in self.weekdays

    def is_official(self, year: int) -> bool:
        """Whether the year's official arrangement is loaded (else it runs on statutory holidays)."""
        return self.official_years is None or year in self.official_years

    def unofficial_years(self, start: dt.datetime, end: dt.datetime | None = None) -> tuple[int, ...]:
        """The years of [start, end] (local dates; end defaults to start) without an official arrangement.

        Working time over that span is provisional when this is not empty: it was computed
        on those years' statutory holidays and may move when their arrangement is entered.
        """
        _aware(start, "start")
        first = start.astimezone(self.tz).year
        last = max(first, _aware(end, "end").astimezone(self.tz).year) if end is not None else first
        return tuple(year for year in range(first, last + 1) if not self.is_official(year))

    def _check_supported(self, day: dt.date, *, at_start: bool) -> None:
        if not self.first_year <= day.year <= self.last_year:
            raise CalendarRangeError(day, self.first_year, self.last_year, at_start=at_start)

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
        first = day = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date() if end is not None else None
        while last is None or day <= last:
            # Also ends a search for working time that would otherwise run on for ever.
            self._check_supported(day, at_start=day == first)
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


def supported_years(now: dt.datetime | None = None) -> tuple[int, int]:
    """The first and last year working time is computed in, as of ``now`` (default: now)."""
    current = (now or timezone.now()).astimezone(business_time_zone()).year
    return FIRST_SUPPORTED_YEAR, current + SUPPORTED_YEARS_AHEAD


def load_calendar() -> WorkingCalendar:
    """The agency's calendar from settings, every CalendarDay row and the official years (two queries).

    Not cached: the rows are a few hundred short tuples, and reading them fresh means an
    edit by an administrator applies at once in every process. The statutory holidays of
    the supported years without an official arrangement come from a per-year cache.
    """
    from workflows.holidays import statutory_holidays
    from workflows.models import CalendarDay, CalendarDayKind, CalendarYear

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
    official = frozenset(CalendarYear.objects.filter(official=True).values_list("year", flat=True))
    first_year, last_year = supported_years()
    statutory = frozenset(
        day for year in range(first_year, last_year + 1) if year not in official for day in statutory_holidays(year)
    )
    return WorkingCalendar(
        tz=tz,
        day_start=day_start,
        day_end=day_end,
        weekdays=weekdays,
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
        official_years=official,
        statutory_holidays=statutory,
        first_year=first_year,
        last_year=last_year,
    )
