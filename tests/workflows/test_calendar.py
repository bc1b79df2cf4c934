"""Working-time arithmetic: hand-computed due times on plain weeks, the real 2026 schedule, and the year's end."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import timezone

from workflows.calendar import WorkingCalendar, load_calendar
from workflows.models import CalendarDay, CalendarYear

SHANGHAI = ZoneInfo("Asia/Shanghai")
NINE, SIX_PM = dt.time(9), dt.time(18)
HOUR = 3600
DAY = 9 * HOUR  # one working day, 09:00-18:00


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, tz: ZoneInfo = SHANGHAI) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz)


def plain(
    holidays: frozenset[dt.date] = frozenset(), workdays: frozenset[dt.date] = frozenset(), tz: ZoneInfo = SHANGHAI
) -> WorkingCalendar:
    """Monday to Friday, 09:00-18:00, with only the exception days given."""
    return WorkingCalendar(
        tz=tz, day_start=NINE, day_end=SIX_PM, weekdays=frozenset({1, 2, 3, 4, 5}), holidays=holidays, workdays=workdays
    )


# March 2027 has no public holiday: Friday the 5th, Saturday the 6th, Monday the 8th.
FRI, SAT, SUN, MON, TUE = (dt.date(2027, 3, d) for d in (5, 6, 7, 8, 9))


def on(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    return at(day.year, day.month, day.day, hour, minute)


# --- The pure value -----------------------------------------------------------------------


def test_the_test_dates_are_the_weekdays_they_claim():
    assert [d.isoweekday() for d in (FRI, SAT, SUN, MON, TUE)] == [5, 6, 7, 1, 2]


def test_a_working_day_is_nine_hours_by_default_and_follows_the_hours():
    assert plain().working_day_seconds == 32_400
    short = WorkingCalendar(
        tz=SHANGHAI,
        day_start=dt.time(8, 30),
        day_end=dt.time(17),
        weekdays=frozenset({1, 2, 3, 4, 5}),
        holidays=frozenset(),
        workdays=frozenset(),
    )
    assert short.working_day_seconds == 30_600


def test_working_days_follow_weekdays_holidays_and_make_up_days():
    calendar = plain(holidays=frozenset({MON}), workdays=frozenset({SAT}))

    assert calendar.is_working_day(FRI)
    assert calendar.is_working_day(SAT)  # make-up working day on a weekend
    assert not calendar.is_working_day(SUN)
    assert not calendar.is_working_day(MON)  # public holiday on a weekday
    assert calendar.is_working_day(TUE)


def test_a_make_up_entry_wins_over_a_holiday_entry_for_the_same_date():
    assert plain(holidays=frozenset({SAT}), workdays=frozenset({SAT})).is_working_day(SAT)


def test_working_intervals_are_clipped_to_the_range_and_skip_days_off():
    intervals = list(plain().working_intervals(on(FRI, 15), on(MON, 10)))

    assert intervals == [(on(FRI, 15), on(FRI, 18)), (on(MON, 9), on(MON, 10))]
    assert all(a.tzinfo == SHANGHAI and b.tzinfo == SHANGHAI for a, b in intervals)


def test_working_seconds_between():
    calendar = plain()

    assert calendar.working_seconds_between(on(FRI, 15), on(TUE, 15)) == 2 * DAY
    assert calendar.working_seconds_between(on(MON, 10), on(MON, 11, 30)) == 5400
    assert calendar.working_seconds_between(on(MON, 7), on(MON, 20)) == DAY
    assert calendar.working_seconds_between(on(SAT, 9), on(SUN, 18)) == 0
    assert calendar.working_seconds_between(on(TUE, 15), on(FRI, 15)) == 0  # end before start
    assert calendar.working_seconds_between(on(MON, 10), on(MON, 10)) == 0


def test_working_seconds_over_a_year_are_counted_day_by_day():
    # 2027 has 261 weekdays; without exception days every one of them counts.
    assert plain().working_seconds_between(at(2027, 1, 1), at(2028, 1, 1)) == 261 * DAY


def test_working_days_are_full_days_of_working_time():
    calendar = plain()

    # Friday 15:00: 3 h on Friday, 9 h on Monday, 6 h on Tuesday.
    assert calendar.add(on(FRI, 15), 2, "working_days") == on(TUE, 15)
    # A weekend start counts from Monday 09:00, so two days end on Tuesday evening.
    assert calendar.add(on(SAT, 10), 2, "working_days") == on(TUE, 18)
    assert calendar.add(on(MON, 15), 1, "working_days") == on(TUE, 15)


def test_natural_days_are_calendar_days_and_ignore_the_weekend():
    calendar = plain()

    assert calendar.add(on(FRI, 15), 2, "natural_days") == on(SUN, 15)
    assert calendar.add(on(FRI, 15), 48, "natural_hours") == on(SUN, 15)
    assert calendar.add(on(FRI, 15), 2, "working_days") == on(TUE, 15)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (on(MON, 7), 2, on(MON, 11)),  # before opening: counts from 09:00
        (on(MON, 20), 2, on(TUE, 11)),  # after closing: counts from the next morning
        (on(SUN, 12), 1, on(MON, 10)),  # on the weekend: from Monday 09:00
        (on(FRI, 17), 3, on(MON, 11)),  # across the weekend
        (on(MON, 18), 1, on(TUE, 10)),  # exactly at closing
        (on(MON, 9), 9, on(MON, 18)),  # a full day ends at 18:00 the same day
        (on(MON, 15), 3, on(MON, 18)),  # the budget runs out exactly at closing
        (on(FRI, 9), 18, on(MON, 18)),
    ],
)
def test_working_hours(start, hours, due):
    assert plain().add(start, hours, "working_hours") == due


def test_a_zero_budget_ends_where_it_starts_even_outside_working_time():
    calendar = plain()

    for unit in ("working_hours", "working_days", "natural_hours", "natural_days"):
        assert calendar.add(on(SUN, 12), 0, unit) == on(SUN, 12)
    assert calendar.add_working_seconds(on(SUN, 12), 0) == on(SUN, 12)


def test_results_are_in_the_calendar_zone_whatever_the_input_zone():
    start = dt.datetime(2027, 3, 5, 7, tzinfo=dt.UTC)  # Friday 15:00 in Shanghai

    due = plain().add(start, 2, "working_days")

    assert due == on(TUE, 15)
    assert due.tzinfo == SHANGHAI
    assert (due.hour, due.minute) == (15, 0)


def test_measure_by_unit():
    calendar = plain()

    assert calendar.measure(on(FRI, 15), on(TUE, 15), "working_days") == 2 * DAY
    assert calendar.measure(on(FRI, 15), on(TUE, 15), "working_hours") == 2 * DAY
    assert calendar.measure(on(FRI, 15), on(TUE, 15), "natural_hours") == 96 * HOUR
    assert calendar.measure(on(FRI, 15), on(TUE, 15), "natural_days") == 96 * HOUR
    assert calendar.measure(on(TUE, 15), on(FRI, 15), "natural_hours") == 0
    assert calendar.measure(on(TUE, 15), on(FRI, 15), "working_hours") == 0


def test_budget_seconds():
    calendar = plain()

    assert calendar.budget_seconds(3, "natural_hours") == 3 * HOUR
    assert calendar.budget_seconds(3, "natural_days") == 3 * 86_400
    assert calendar.budget_seconds(3, "working_hours") == 3 * HOUR
    assert calendar.budget_seconds(3, "working_days") == 3 * DAY


HOLIDAY_WEEK = plain(holidays=frozenset({MON, dt.date(2027, 3, 10)}), workdays=frozenset({SAT}))
STARTS = [
    on(FRI, 0) + dt.timedelta(hours=hour, minutes=minute)
    for hour, minute in itertools.product(range(0, 24 * 7, 5), (0, 17))
]
BUDGETS = [0, 1, 59, HOUR, DAY - 1, DAY, DAY + 1, 2 * DAY + 1234, 10 * DAY]


@pytest.mark.parametrize("unit", ["working_hours", "working_days", "natural_hours", "natural_days"])
def test_measure_undoes_advance(unit):
    for start, seconds in itertools.product(STARTS, BUDGETS):
        due = HOLIDAY_WEEK.advance(start, seconds, unit)
        assert HOLIDAY_WEEK.measure(start, due, unit) == seconds, (start, seconds)
        if seconds:
            # The earliest such moment: one second less has not used the whole budget.
            assert HOLIDAY_WEEK.measure(start, due - dt.timedelta(seconds=1), unit) == seconds - 1, (start, seconds)


def test_advance_then_measure_keeps_sub_second_starts_exact():
    start = on(FRI, 17, 30) + dt.timedelta(microseconds=250_000)

    due = plain().advance(start, 2 * HOUR, "working_hours")

    assert due == on(MON, 10, 30) + dt.timedelta(microseconds=250_000)
    assert plain().measure(start, due, "working_hours") == 2 * HOUR


def test_budgets_split_across_segments_add_up():
    # The deadline engine advances in pieces around pauses; the pieces must add up.
    calendar = HOLIDAY_WEEK
    start = on(FRI, 16)
    first = calendar.advance(start, 5 * HOUR, "working_hours")
    assert calendar.advance(first, 7 * HOUR, "working_hours") == calendar.advance(start, 12 * HOUR, "working_hours")


def test_natural_days_keep_the_local_clock_across_a_daylight_saving_change():
    berlin = ZoneInfo("Europe/Berlin")
    friday = at(2027, 3, 26, 15, tz=berlin)  # clocks go forward on Sunday 2027-03-28
    calendar = plain(tz=berlin)

    assert calendar.add(friday, 2, "natural_days") == at(2027, 3, 28, 15, tz=berlin)
    assert calendar.add(friday, 48, "natural_hours") == at(2027, 3, 28, 16, tz=berlin)
    assert calendar.add(friday, 2, "working_days") == at(2027, 3, 30, 15, tz=berlin)
    assert calendar.working_seconds_between(friday, at(2027, 3, 30, 15, tz=berlin)) == 2 * DAY


@pytest.mark.parametrize("method", ["budget_seconds", "measure", "advance", "add"])
def test_an_unknown_unit_is_refused(method):
    calendar = plain()
    args = {
        "budget_seconds": (1,),
        "measure": (on(FRI, 9), on(FRI, 10)),
        "advance": (on(FRI, 9), 60),
        "add": (on(FRI, 9), 1),
    }[method]

    with pytest.raises(ValueError, match="unknown time unit"):
        getattr(calendar, method)(*args, "fortnights")


def test_naive_datetimes_are_refused():
    calendar = plain()
    naive = dt.datetime(2027, 3, 5, 15)  # noqa: DTZ001 - the point of the test

    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.add(naive, 1, "working_days")
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.add(naive, 1, "natural_days")
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.working_seconds_between(on(FRI, 9), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.measure(naive, on(FRI, 9), "natural_hours")
    with pytest.raises(ValueError, match="timezone-aware"):
        list(calendar.working_intervals(naive, on(FRI, 9)))


def test_negative_budgets_are_refused():
    with pytest.raises(ValueError, match="negative"):
        plain().add_working_seconds(on(FRI, 9), -1)
    with pytest.raises(ValueError, match="negative"):
        plain().budget_seconds(-1, "working_days")
    with pytest.raises(ValueError, match="negative"):
        plain().advance(on(FRI, 9), -1, "natural_hours")


@pytest.mark.parametrize(
    "changes",
    [
        {"weekdays": frozenset()},
        {"weekdays": frozenset({0, 1})},
        {"day_start": dt.time(18), "day_end": dt.time(9)},
        {"day_start": dt.time(9), "day_end": dt.time(9)},
    ],
)
def test_a_calendar_that_could_never_work_is_refused(changes):
    values = {
        "tz": SHANGHAI,
        "day_start": NINE,
        "day_end": SIX_PM,
        "weekdays": frozenset({1, 2, 3, 4, 5}),
        "holidays": frozenset(),
        "workdays": frozenset(),
    }
    with pytest.raises(ValueError, match=r"weekdays|day_start"):
        WorkingCalendar(**{**values, **changes})


# --- The agency's calendar: the seeded 2026 schedule ----------------------------------------


@pytest.fixture
def calendar(db) -> WorkingCalendar:
    return load_calendar()


def test_load_calendar_reads_settings_rows_and_official_years_in_two_queries(db, django_assert_num_queries):
    with django_assert_num_queries(2):
        calendar = load_calendar()

    assert calendar.tz == SHANGHAI
    assert (calendar.day_start, calendar.day_end) == (NINE, SIX_PM)
    assert calendar.weekdays == {1, 2, 3, 4, 5}
    assert dt.date(2026, 10, 1) in calendar.holidays
    assert dt.date(2026, 2, 14) in calendar.workdays
    assert not calendar.holidays & calendar.workdays
    # The seeded years are official; 2027's arrangement is not out, so it runs on statutory holidays.
    assert calendar.official_years is not None
    assert {2020, 2026} <= calendar.official_years
    assert 2027 not in calendar.official_years
    assert dt.date(2027, 1, 1) in calendar.statutory_holidays
    assert dt.date(2026, 1, 1) not in calendar.statutory_holidays  # 2026 counts its entered days only


def test_spring_festival_2026(calendar):
    assert calendar.is_working_day(dt.date(2026, 2, 14))  # Saturday, make-up day
    assert not calendar.is_working_day(dt.date(2026, 2, 16))  # Monday, holiday
    assert not calendar.is_working_day(dt.date(2026, 2, 23))  # Monday, last day off
    assert calendar.is_working_day(dt.date(2026, 2, 24))
    assert calendar.is_working_day(dt.date(2026, 2, 28))  # Saturday, make-up day

    friday = at(2026, 2, 13, 15)
    # 3 h on Friday, 9 h on the make-up Saturday 02-14, nine days off, 6 h on Tuesday 02-24.
    assert calendar.add(friday, 2, "working_days") == at(2026, 2, 24, 15)
    # 3 h on Friday and 6 h on the make-up Saturday.
    assert calendar.add(friday, 1, "working_days") == at(2026, 2, 14, 15)
    # The whole festival holds two working days: Friday 02-13 and the make-up Saturday 02-14.
    assert calendar.working_seconds_between(at(2026, 2, 13, 9), at(2026, 2, 24, 9)) == 2 * DAY
    # Wednesday 02-25 + 4 working days: Wednesday, Thursday, Friday and the make-up Saturday 02-28.
    assert calendar.add(at(2026, 2, 25, 9), 4, "working_days") == at(2026, 2, 28, 18)
    # A weekday rule alone would say Tuesday 02-17 15:00, in the middle of the festival.
    assert plain().add(friday, 2, "working_days") == at(2026, 2, 17, 15)


def test_national_day_2026(calendar):
    assert calendar.is_working_day(dt.date(2026, 9, 20))  # Sunday, make-up day
    assert not calendar.is_working_day(dt.date(2026, 9, 25))  # Friday, Mid-Autumn Festival
    assert not calendar.is_working_day(dt.date(2026, 10, 1))
    assert not calendar.is_working_day(dt.date(2026, 10, 7))
    assert calendar.is_working_day(dt.date(2026, 10, 10))  # Saturday, make-up day

    wednesday = at(2026, 9, 30, 14)
    # 4 h on 09-30, 9 h on Thursday 10-08, 5 h on Friday 10-09.
    assert calendar.add(wednesday, 2, "working_days") == at(2026, 10, 9, 14)
    # 4 + 9 + 9 h, then 5 h on the make-up Saturday 10-10.
    assert calendar.add(wednesday, 3, "working_days") == at(2026, 10, 10, 14)
    # Working hours across the week off: 09-30, 10-08, 10-09 and the make-up 10-10.
    assert calendar.working_seconds_between(at(2026, 9, 30, 9), at(2026, 10, 12, 9)) == 4 * DAY
    assert calendar.add(at(2026, 9, 30, 17), 2, "working_hours") == at(2026, 10, 8, 10)
    # Friday 09-18 17:00 + 2 h: one on Friday, one on the make-up Sunday 09-20.
    assert calendar.add(at(2026, 9, 18, 17), 2, "working_hours") == at(2026, 9, 20, 10)
    # Thursday 09-24 15:00 + 1 day: 3 h, the Mid-Autumn long weekend, then 6 h on Monday 09-28.
    assert calendar.add(at(2026, 9, 24, 15), 1, "working_days") == at(2026, 9, 28, 15)


def test_natural_time_ignores_the_holidays(calendar):
    assert calendar.add(at(2026, 9, 30, 14), 2, "natural_days") == at(2026, 10, 2, 14)
    assert calendar.measure(at(2026, 9, 30, 14), at(2026, 10, 2, 14), "natural_hours") == 48 * HOUR


def test_the_year_boundary_follows_statutory_holidays_until_next_years_arrangement_is_entered(db):
    thursday = at(2026, 12, 31, 16)

    # The library knows nothing of 2027's arrangement, so 2027 runs on its statutory holidays:
    # 2 h on Thursday, New Year's Day off, Monday, Tuesday and 7 h on Wednesday 01-06.
    calendar = load_calendar()
    due = calendar.add(thursday, 3, "working_days")
    assert due == at(2027, 1, 6, 16)
    assert calendar.unofficial_years(thursday, due) == (2027,)

    # Once 2027 is official, only its entered days count: with none entered for New Year,
    # Friday 01-01 is a working day again (2 h, 9 h, 9 h on Monday, 7 h on Tuesday 01-05).
    CalendarYear.objects.create(year=2027, official=True)
    calendar = load_calendar()
    assert calendar.add(thursday, 3, "working_days") == at(2027, 1, 5, 16)
    assert calendar.unofficial_years(thursday, at(2027, 1, 5, 16)) == ()

    CalendarDay.objects.create(date=dt.date(2027, 1, 1), kind="holiday", name="New Year's Day")
    assert load_calendar().add(thursday, 3, "working_days") == at(2027, 1, 6, 16)


def test_natural_hours_across_the_year_boundary(calendar):
    assert calendar.add(at(2026, 12, 31, 20), 6, "natural_hours") == at(2027, 1, 1, 2)
    assert calendar.add(at(2026, 12, 31, 16), 1, "natural_days") == at(2027, 1, 1, 16)
    assert calendar.measure(at(2026, 12, 31, 20), at(2027, 1, 1, 2), "natural_hours") == 6 * HOUR


@time_machine.travel(dt.datetime(2026, 2, 13, 15, tzinfo=SHANGHAI), tick=False)
def test_time_left_from_now_before_the_spring_festival(calendar):
    now = timezone.now()
    due = calendar.add(now, 2, "working_days")

    assert due == at(2026, 2, 24, 15)
    assert calendar.measure(now, due, "working_days") == 2 * DAY
    # Four natural days on, in the middle of the holiday, a third of the budget is still left.
    with time_machine.travel(at(2026, 2, 17, 12), tick=False):
        assert calendar.measure(timezone.now(), due, "working_days") == 6 * HOUR


# --- Settings ---------------------------------------------------------------------------------


@override_settings(
    WORKING_HOURS_START="08:30", WORKING_HOURS_END="17:30:00", WORKING_WEEKDAYS="1, 2,3,4,5,6", BUSINESS_TIME_ZONE="UTC"
)
def test_settings_shape_the_calendar(db):
    calendar = load_calendar()

    assert calendar.tz == ZoneInfo("UTC")
    assert (calendar.day_start, calendar.day_end) == (dt.time(8, 30), dt.time(17, 30))
    assert calendar.weekdays == {1, 2, 3, 4, 5, 6}


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("WORKING_HOURS_START", "9am"),
        ("WORKING_HOURS_START", "25:00"),
        ("WORKING_HOURS_START", ""),
        ("WORKING_HOURS_END", "18:00+08:00"),
        ("WORKING_HOURS_END", "08:00"),  # before the start
        ("WORKING_WEEKDAYS", ""),
        ("WORKING_WEEKDAYS", "1,2,8"),
        ("WORKING_WEEKDAYS", "0,1"),
        ("WORKING_WEEKDAYS", "mon,tue"),
        ("WORKING_WEEKDAYS", None),
        ("BUSINESS_TIME_ZONE", "Mars/Olympus_Mons"),
    ],
)
def test_bad_settings_are_improperly_configured_and_named(db, setting, value):
    with override_settings(**{setting: value}), pytest.raises(ImproperlyConfigured, match=setting):
        load_calendar()
