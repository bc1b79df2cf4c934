"""The official holiday schedule as the chinese-calendar library knows it, for seeding CalendarDay,
and the statutory holidays by rule (the holidays library) for years whose schedule is not out yet."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from types import MappingProxyType

import holidays as holiday_rules
from chinese_calendar import constants

# The agency's records start here; older schedules are of no use to running deadlines.
FIRST_SEEDED_YEAR = 2020


def library_years() -> list[int]:
    """The years whose schedule the installed library knows."""
    return sorted({day.year for day in constants.holidays} | {day.year for day in constants.workdays})


def library_days(years: list[int] | None = None) -> list[tuple[dt.date, str, str]]:
    """(date, "holiday" | "workday", festival name) for the given years, or every year from FIRST_SEEDED_YEAR.

    The library lists every day of a holiday period, weekend days included, and the
    weekend days made into working days (调休); its names are English festival names.
    """
    wanted = set(years) if years is not None else {year for year in library_years() if year >= FIRST_SEEDED_YEAR}
    days = [(day, "holiday", str(name)) for day, name in constants.holidays.items() if day.year in wanted]
    days += [(day, "workday", str(name)) for day, name in constants.workdays.items() if day.year in wanted]
    return sorted(days)


# The days the law itself names (全国年节及纪念日放假办法, as revised from 2025: New Year's Day,
# the Spring Festival's eve and first three days, Qingming, 1-2 May, the Dragon Boat and
# Mid-Autumn festivals, 1-3 October; earlier years by the rule then in force). The holidays
# library dates the lunar festivals and Qingming and knows each year's rule; these are its
# English names for them. Anything else it lists for a year (days off moved by a published
# arrangement, one-off extra holidays) is not statutory and is left out.
STATUTORY_NAMES = frozenset(
    {
        "New Year's Day",
        "Chinese New Year's Eve",
        "Chinese New Year (Spring Festival)",
        "Tomb-Sweeping Day",
        "Labor Day",
        "Dragon Boat Festival",
        "Mid-Autumn Festival",
        "National Day",
    }
)


@functools.cache
def statutory_holidays(year: int) -> Mapping[dt.date, str]:
    """The statutory public holidays of ``year`` by rule alone, without any 调休: {date: English name}.

    This is what a year looks like before the State Council publishes its arrangement: the
    fixed days off, and no days moved or made up. Empty for years the library cannot date
    (after 2100). Cached: the answer depends only on the year and the installed library.
    """
    rules = holiday_rules.China(years=year, observed=False, language="en_US")
    days: dict[dt.date, str] = {}
    for day, names in rules.items():
        statutory = [name for name in names.split("; ") if name in STATUTORY_NAMES]
        if statutory:
            days[day] = "; ".join(statutory)
    return MappingProxyType(dict(sorted(days.items())))
