"""Changing the working calendar: the services, the import command and the admin, each recomputing deadlines."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from agency.accounts.models import Role
from agency.errors import InvalidInput, NotAllowed, NotFound
from tests.factories import UserFactory
from workflows import calendar_services as services
from workflows.holidays import library_days
from workflows.models import CalendarDay, StageSla

pytestmark = pytest.mark.django_db

NEW_YEAR_2027 = dt.date(2027, 1, 1)
NATIONAL_DAY_2026 = dt.date(2026, 10, 1)


@pytest.fixture
def recomputed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record the deadline engine's recompute calls instead of running them, and check
    that each call happens inside the service's own transaction (a savepoint in tests)."""
    calls: list[dict[str, Any]] = []

    def record(*, dates: Any, actor: Any, reason: str) -> int:
        calls.append(
            {"dates": list(dates), "actor": actor, "reason": reason, "in_savepoint": bool(connection.savepoint_ids)}
        )
        return 0

    monkeypatch.setattr("workflows.deadlines.deadlines_recompute_for_dates", record, raising=False)
    return calls


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


@pytest.fixture
def intake_sla(db) -> StageSla:
    return StageSla.objects.get(state="intake")


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


# --- The admin goes through the same services ------------------------------------------------


@pytest.fixture
def admin_client(client, db):
    root = UserFactory.create(username="root", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    client.force_login(root)
    client.user = root
    return client


def test_adding_a_day_in_the_admin_goes_through_the_service(admin_client, recomputed):
    response = admin_client.post(
        reverse("admin:workflows_calendarday_add"), {"date": "2027-01-01", "kind": "holiday", "name": "New Year"}
    )

    assert response.status_code == 302, response.content
    day = CalendarDay.objects.get(date=NEW_YEAR_2027)
    assert (day.kind, day.source, day.updated_by) == ("holiday", "manual", admin_client.user)
    assert recomputed[0]["dates"] == [NEW_YEAR_2027]


def test_changing_a_day_in_the_admin_goes_through_the_service(admin_client, recomputed):
    day = CalendarDay.objects.get(date=NATIONAL_DAY_2026)

    response = admin_client.post(
        reverse("admin:workflows_calendarday_change", args=[day.pk]), {"kind": "workday", "name": "Office open"}
    )

    assert response.status_code == 302, response.content
    day.refresh_from_db()
    assert (day.date, day.kind, day.source) == (NATIONAL_DAY_2026, "workday", "manual")
    assert recomputed[0]["dates"] == [NATIONAL_DAY_2026]


def test_deleting_days_in_the_admin_goes_through_the_service(admin_client, recomputed):
    one = CalendarDay.objects.get(date=NATIONAL_DAY_2026)
    others = list(CalendarDay.objects.filter(date__range=(dt.date(2026, 10, 2), dt.date(2026, 10, 3))))

    single = admin_client.post(reverse("admin:workflows_calendarday_delete", args=[one.pk]), {"post": "yes"})
    bulk = admin_client.post(
        reverse("admin:workflows_calendarday_changelist"),
        {"action": "delete_selected", "_selected_action": [day.pk for day in others], "post": "yes"},
    )

    assert (single.status_code, bulk.status_code) == (302, 302)
    assert not CalendarDay.objects.filter(date__range=(NATIONAL_DAY_2026, dt.date(2026, 10, 3))).exists()
    assert [call["dates"] for call in recomputed] == [[NATIONAL_DAY_2026], [dt.date(2026, 10, 2), dt.date(2026, 10, 3)]]


def test_the_calendar_admin_lists_filters_and_searches(admin_client):
    changelist = reverse("admin:workflows_calendarday_changelist")

    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(changelist, {"date__year": "2026", "kind": "workday"}).status_code == 200
    assert admin_client.get(changelist, {"q": "Spring"}).status_code == 200
    assert admin_client.get(reverse("admin:workflows_stagesla_changelist")).status_code == 200


def test_staff_who_are_not_administrators_only_read_the_calendar_in_the_admin(client, recomputed):
    boss = UserFactory.create(username="boss", role=Role.SUPERVISOR, is_staff=True, is_superuser=True)
    client.force_login(boss)
    day = CalendarDay.objects.get(date=NATIONAL_DAY_2026)

    assert client.get(reverse("admin:workflows_calendarday_add")).status_code == 403
    posted = client.post(reverse("admin:workflows_calendarday_change", args=[day.pk]), {"kind": "workday"})
    assert posted.status_code == 403
    assert CalendarDay.objects.get(date=NATIONAL_DAY_2026).kind == "holiday"
    assert recomputed == []


def test_a_stage_sla_changed_in_the_admin_is_checked_by_the_service(admin_client, intake_sla):
    url = reverse("admin:workflows_stagesla_change", args=[intake_sla.pk])

    too_long = admin_client.post(url, {"amount": 400, "unit": "working_days", "active": "on"})
    saved = admin_client.post(url, {"amount": 3, "unit": "working_days", "active": "on"})

    assert too_long.status_code == 200  # the form comes back with the error
    assert saved.status_code == 302
    intake_sla.refresh_from_db()
    assert intake_sla.amount == 3
