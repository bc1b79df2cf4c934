"""The ``calendar_import`` management command (``workflows.management.commands.calendar_import``): it adds the
library's days, keeps staff's own, and corrects what the library now describes differently."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.workflows.helpers import NATIONAL_DAY_2026
from workflows import calendar_services as services
from workflows.holidays import library_days
from workflows.models import CalendarDay

pytestmark = pytest.mark.django_db


# --- manage.py calendar_import -------------------------------------------------------------


def _import(*years: int) -> str:
    out = StringIO()
    args = [arg for year in years for arg in ("--year", str(year))]
    call_command("calendar_import", *args, stdout=out)
    return out.getvalue()


def test_import_after_the_seed_adds_nothing_and_keeps_everything(recomputed):
    library_count = len(library_days())
    before = CalendarDay.objects.count()

    output = _import()

    assert f"0 added, 0 updated, {library_count} kept" in output
    assert CalendarDay.objects.count() == before
    assert recomputed == []


def test_import_adds_a_years_missing_days_and_keeps_staffs_own(administrator, recomputed):
    days_2026 = library_days([2026])
    CalendarDay.objects.filter(date__year=2026).delete()
    services.calendar_day_set(actor=administrator, date=NATIONAL_DAY_2026, kind="workday", name="Office open")
    recomputed.clear()

    output = _import(2026)

    assert f"{len(days_2026) - 1} added, 0 updated, 1 kept" in output
    assert CalendarDay.objects.filter(date__year=2026).count() == len(days_2026)
    kept = CalendarDay.objects.get(date=NATIONAL_DAY_2026)
    assert (kept.kind, kept.name, kept.source) == ("workday", "Office open", "manual")
    added = CalendarDay.objects.get(date=dt.date(2026, 2, 14))
    assert (added.kind, added.name, added.source) == ("workday", "Spring Festival", "library")
    assert len(recomputed) == 1
    assert recomputed[0]["actor"] is None
    assert sorted(recomputed[0]["dates"]) == sorted(day for day, _kind, _name in days_2026 if day != NATIONAL_DAY_2026)


def test_import_corrects_library_days_the_library_now_describes_differently(recomputed):
    CalendarDay.objects.filter(date=NATIONAL_DAY_2026).update(kind="workday", name="Wrong")

    output = _import(2026, 2025)

    assert "0 added, 1 updated" in output
    day = CalendarDay.objects.get(date=NATIONAL_DAY_2026)
    assert (day.kind, day.name, day.source) == ("holiday", "National Day", "library")
    assert recomputed[0]["dates"] == [NATIONAL_DAY_2026]


def test_import_of_a_year_the_library_does_not_know_fails_loudly(recomputed):
    with pytest.raises(CommandError, match="2099"):
        _import(2099)
    assert recomputed == []
