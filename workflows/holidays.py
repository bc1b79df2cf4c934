"""The official holiday schedule as the chinese-calendar library knows it, for seeding CalendarDay."""

from __future__ import annotations

import datetime as dt

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
