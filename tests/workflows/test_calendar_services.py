"""Changing the working calendar and the stage SLAs through their services (``workflows.calendar_services``),
each recomputing deadlines. The import command and the admin, which go through them, are
tests/workflows/management/commands/test_calendar_import.py's and tests/workflows/test_admin.py's."""

from __future__ import annotations

import pytest

from agency.errors import InvalidInput, NotAllowed, NotFound
from tests.workflows.helpers import NATIONAL_DAY_2026, NEW_YEAR_2027
from workflows import calendar_services as services
from workflows.models import CalendarDay

pytestmark = pytest.mark.django_db


# --- calendar_day_set / calendar_day_remove ------------------------------------------------


def test_an_administrator_adds_a_holiday_and_deadlines_are_recomputed(administrator, recomputed):
    day = services.calendar_day_set(actor=administrator, date=NEW_YEAR_2027, kind="holiday", name=" New Year ")

    assert (day.date, day.kind, day.name, day.source, day.updated_by) == (
        NEW_YEAR_2027,
        "holiday",
        "New Year",
        "manual",
        administrator,
    )
    assert len(recomputed) == 1
    assert recomputed[0]["dates"] == [NEW_YEAR_2027]
    assert recomputed[0]["actor"] == administrator
    # The system's reason, as a code and values that each reader's language words later.
    assert (recomputed[0]["reason"].code, recomputed[0]["reason"].params) == (
        "calendar_holiday_set",
        {"date": "2027-01-01"},
    )
    assert "2027-01-01" in str(recomputed[0]["reason"])
    assert recomputed[0]["in_savepoint"]


def test_changing_a_library_day_makes_it_staffs_own(administrator, recomputed):
    assert CalendarDay.objects.get(date=NATIONAL_DAY_2026).source == "library"

    services.calendar_day_set(actor=administrator, date=NATIONAL_DAY_2026, kind="workday", name="Office open")

    day = CalendarDay.objects.get(date=NATIONAL_DAY_2026)
    assert (day.kind, day.name, day.source) == ("workday", "Office open", "manual")
    assert recomputed[0]["dates"] == [NATIONAL_DAY_2026]


@pytest.mark.parametrize("actor_name", ["supervisor", "manager", "intake", "alice"])
def test_only_administrators_change_the_calendar(request, recomputed, actor_name):
    actor = request.getfixturevalue(actor_name)

    with pytest.raises(NotAllowed):
        services.calendar_day_set(actor=actor, date=NEW_YEAR_2027, kind="holiday")
    with pytest.raises(NotAllowed):
        services.calendar_day_remove(actor=actor, date=NATIONAL_DAY_2026)

    assert not CalendarDay.objects.filter(date=NEW_YEAR_2027).exists()
    assert CalendarDay.objects.filter(date=NATIONAL_DAY_2026).exists()
    assert recomputed == []


def test_a_bad_kind_or_name_is_refused(administrator, recomputed):
    with pytest.raises(InvalidInput) as bad_kind:
        services.calendar_day_set(actor=administrator, date=NEW_YEAR_2027, kind="weekend")
    with pytest.raises(InvalidInput) as long_name:
        services.calendar_day_set(actor=administrator, date=NEW_YEAR_2027, kind="holiday", name="x" * 101)

    assert "kind" in bad_kind.value.details["fields"]
    assert "name" in long_name.value.details["fields"]
    assert recomputed == []


def test_removing_a_day_returns_it_to_the_weekly_rule(administrator, recomputed):
    services.calendar_day_remove(actor=administrator, date=NATIONAL_DAY_2026)

    assert not CalendarDay.objects.filter(date=NATIONAL_DAY_2026).exists()
    assert recomputed[0]["dates"] == [NATIONAL_DAY_2026]
    assert recomputed[0]["in_savepoint"]


def test_removing_a_day_that_is_not_there_is_not_found(administrator, recomputed):
    with pytest.raises(NotFound):
        services.calendar_day_remove(actor=administrator, date=NEW_YEAR_2027)
    assert recomputed == []


# --- stage_sla_update ----------------------------------------------------------------------


def test_an_administrator_changes_a_stage_sla(administrator, intake_sla):
    updated = services.stage_sla_update(
        actor=administrator, sla_id=intake_sla.pk, changes={"amount": 16, "unit": "working_hours", "active": False}
    )

    intake_sla.refresh_from_db()
    assert (intake_sla.amount, intake_sla.unit, intake_sla.active) == (16, "working_hours", False)
    assert updated == intake_sla


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": 366}, "amount"),
        ({"unit": "fortnights"}, "unit"),
        ({"state": "closed"}, "state"),
    ],
)
def test_bad_stage_sla_changes_are_refused(administrator, intake_sla, changes, field):
    with pytest.raises(InvalidInput) as refused:
        services.stage_sla_update(actor=administrator, sla_id=intake_sla.pk, changes=changes)

    assert field in refused.value.details["fields"]
    intake_sla.refresh_from_db()
    assert (intake_sla.state, intake_sla.amount, intake_sla.unit) == ("intake", 2, "working_days")


def test_stage_slas_are_for_administrators_and_must_exist(administrator, supervisor, intake_sla):
    with pytest.raises(NotAllowed):
        services.stage_sla_update(actor=supervisor, sla_id=intake_sla.pk, changes={"amount": 5})
    with pytest.raises(NotFound):
        services.stage_sla_update(actor=administrator, sla_id=999_999, changes={"amount": 5})
