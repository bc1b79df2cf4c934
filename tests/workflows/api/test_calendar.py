"""The working calendar and stage SLAs over the API (``workflows.api.calendar``): who may read and write,
validation, the calculator."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from workflows.models import CalendarDay, Deadline

pytestmark = pytest.mark.django_db

DAYS = "/api/v1/calendar/days/"
WORKING_TIME = "/api/v1/calendar/working-time/"
SLAS = "/api/v1/stage-slas/"
SHANGHAI = ZoneInfo("Asia/Shanghai")
STAFF = ["intake", "manager", "reviewer", "supervisor", "administrator"]


@pytest.fixture
def recomputed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def record(*, dates: Any, actor: Any, reason: str) -> int:
        calls.append({"dates": list(dates), "actor": actor, "reason": reason})
        return 0

    monkeypatch.setattr("workflows.deadlines.deadlines_recompute_for_dates", record, raising=False)
    return calls


def fields(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.content
    assert response.data["error"]["code"] == "invalid"
    return dict(response.data["error"]["details"]["fields"])


# --- Reading the calendar ----------------------------------------------------------------------


@pytest.mark.parametrize("actor_name", STAFF)
def test_every_staff_member_reads_the_calendar(api, request, actor_name):
    response = api(request.getfixturevalue(actor_name)).get(DAYS, {"year": 2026, "kind": "workday"})

    assert response.status_code == 200, response.content
    assert [row["date"] for row in response.data["results"]] == [
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ]
    first = response.data["results"][0]
    assert first["kind"] == "workday"
    assert first["source"] == "library"
    assert first["name"] == "New Year's Day"
    assert first["updated_by"] is None


def test_the_calendar_is_filtered_by_year_kind_and_source(api, manager, administrator, recomputed):
    api(administrator).put(f"{DAYS}2027-01-01/", {"kind": "holiday", "name": "New Year"}, format="json")

    year_2027 = api(manager).get(DAYS, {"year": 2027})
    holidays_2026 = api(manager).get(DAYS, {"year": 2026, "kind": "holiday", "page_size": 200})
    manual = api(manager).get(DAYS, {"source": "manual"})

    assert [row["date"] for row in year_2027.data["results"]] == ["2027-01-01"]
    assert year_2027.data["results"][0]["updated_by"] == administrator.label
    assert holidays_2026.data["count"] == 33
    assert {row["kind"] for row in holidays_2026.data["results"]} == {"holiday"}
    assert [row["date"] for row in manual.data["results"]] == ["2027-01-01"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"year": "next"}, "year"),
        ({"year": "2026.5"}, "year"),
        ({"year": "99999"}, "year"),
        ({"kind": "weekend"}, "kind"),
        ({"source": "guess"}, "source"),
    ],
)
def test_bad_calendar_filters_name_the_field(api, manager, params, field):
    assert field in fields(api(manager).get(DAYS, params))


@pytest.mark.parametrize("page_size", [5, 50])
def test_the_calendar_list_costs_two_queries_whatever_the_page_size(
    api, manager, administrator, recomputed, django_assert_num_queries, page_size
):
    for day in (1, 2):
        api(administrator).put(f"{DAYS}2027-03-0{day}/", {"kind": "holiday"}, format="json")
    client = api(manager)

    with django_assert_num_queries(2):
        response = client.get(DAYS, {"page_size": page_size})

    assert response.status_code == 200
    assert len(response.data["results"]) == min(page_size, response.data["count"])


def test_one_day_is_read_by_its_date(api, manager):
    found = api(manager).get(f"{DAYS}2026-10-01/")

    assert found.status_code == 200
    assert (found.data["date"], found.data["kind"], found.data["name"]) == ("2026-10-01", "holiday", "National Day")
    assert api(manager).get(f"{DAYS}2026-10-08/").status_code == 404  # an ordinary working day
    assert api(manager).get(f"{DAYS}2026-02-30/").status_code == 404
    assert api(manager).get(f"{DAYS}20261001/").status_code == 404


def test_clients_and_anonymous_get_nothing(api, alice):
    for url in (DAYS, f"{DAYS}2026-10-01/", f"{WORKING_TIME}?amount=1&unit=working_days", SLAS):
        assert api().get(url).status_code == 401, url
        assert api(alice).get(url).status_code == 403, url
    assert api(alice).put(f"{DAYS}2027-01-01/", {"kind": "holiday"}, format="json").status_code == 403
    assert api().delete(f"{DAYS}2026-10-01/").status_code == 401


# --- Changing the calendar ------------------------------------------------------------------


def test_an_administrator_adds_a_day_and_deadlines_are_recomputed(api, administrator, recomputed):
    response = api(administrator).put(f"{DAYS}2027-01-01/", {"kind": "holiday", "name": "New Year"}, format="json")

    assert response.status_code == 200, response.content
    assert response.data["date"] == "2027-01-01"
    assert (response.data["kind"], response.data["name"], response.data["source"]) == ("holiday", "New Year", "manual")
    assert response.data["updated_by"] == administrator.label
    assert CalendarDay.objects.get(date=dt.date(2027, 1, 1)).kind == "holiday"
    assert [call["dates"] for call in recomputed] == [[dt.date(2027, 1, 1)]]


def test_put_replaces_the_kind_of_an_existing_day(api, administrator, recomputed):
    response = api(administrator).put(f"{DAYS}2026-10-01/", {"kind": "workday"}, format="json")

    assert response.status_code == 200, response.content
    day = CalendarDay.objects.get(date=dt.date(2026, 10, 1))
    assert (day.kind, day.name, day.source, day.updated_by) == ("workday", "", "manual", administrator)
    assert CalendarDay.objects.filter(date=dt.date(2026, 10, 1)).count() == 1


def test_an_administrator_deletes_a_day(api, administrator, recomputed):
    response = api(administrator).delete(f"{DAYS}2026-10-01/")

    assert response.status_code == 204
    assert not CalendarDay.objects.filter(date=dt.date(2026, 10, 1)).exists()
    assert [call["dates"] for call in recomputed] == [[dt.date(2026, 10, 1)]]
    assert api(administrator).delete(f"{DAYS}2026-10-01/").status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "kind"), ({"kind": "weekend"}, "kind"), ({"kind": "holiday", "name": "x" * 101}, "name")],
)
def test_bad_days_name_the_field_and_change_nothing(api, administrator, recomputed, payload, field):
    response = api(administrator).put(f"{DAYS}2027-01-01/", payload, format="json")

    assert field in fields(response)
    assert not CalendarDay.objects.filter(date=dt.date(2027, 1, 1)).exists()
    assert recomputed == []


def test_a_day_that_does_not_exist_cannot_be_written(api, administrator, recomputed):
    assert api(administrator).put(f"{DAYS}2027-02-30/", {"kind": "holiday"}, format="json").status_code == 404


def test_a_day_outside_the_calendar_years_is_refused(api, administrator, recomputed):
    response = api(administrator).put(f"{DAYS}9999-12-31/", {"kind": "holiday"}, format="json")

    assert "date" in fields(response)
    assert recomputed == []


@pytest.mark.parametrize("actor_name", ["intake", "manager", "reviewer", "supervisor"])
def test_only_administrators_change_the_calendar(api, request, recomputed, actor_name):
    client = api(request.getfixturevalue(actor_name))

    put = client.put(f"{DAYS}2027-01-01/", {"kind": "holiday"}, format="json")
    delete = client.delete(f"{DAYS}2026-10-01/")

    assert (put.status_code, delete.status_code) == (403, 403)
    assert put.data["error"]["code"] == "permission_denied"
    assert not CalendarDay.objects.filter(date=dt.date(2027, 1, 1)).exists()
    assert CalendarDay.objects.filter(date=dt.date(2026, 10, 1)).exists()
    assert recomputed == []


def test_patch_and_post_are_not_offered(api, administrator):
    assert api(administrator).patch(f"{DAYS}2026-10-01/", {"kind": "workday"}, format="json").status_code == 405
    assert api(administrator).post(DAYS, {"date": "2027-01-01", "kind": "holiday"}, format="json").status_code == 405


@time_machine.travel(dt.datetime(2026, 12, 31, 16, tzinfo=SHANGHAI), tick=False)
def test_a_holiday_added_later_moves_a_running_stage_sla(api, administrator, make_case, blossom_shop):
    """End to end with the real deadline engine: the intake SLA (2 working days) skips the new holiday."""
    case = make_case(blossom_shop)
    sla = Deadline.objects.get(case=case, kind="stage_sla", status="open")
    # 2027 runs on statutory holidays: 2 h on Thursday, New Year's Day off, 9 h on Monday 01-04,
    # 7 h on Tuesday 01-05.
    assert sla.due_at == dt.datetime(2027, 1, 5, 16, tzinfo=SHANGHAI)

    response = api(administrator).put(f"{DAYS}2027-01-04/", {"kind": "holiday", "name": "New Year"}, format="json")

    assert response.status_code == 200, response.content
    sla.refresh_from_db()
    assert sla.due_at == dt.datetime(2027, 1, 6, 16, tzinfo=SHANGHAI)

    assert api(administrator).delete(f"{DAYS}2027-01-04/").status_code == 204
    sla.refresh_from_db()
    assert sla.due_at == dt.datetime(2027, 1, 5, 16, tzinfo=SHANGHAI)


# --- The working-time calculator --------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "amount", "unit", "due", "working_day"),
    [
        ("2026-02-13T15:00:00+08:00", 2, "working_days", "2026-02-24T15:00:00+08:00", True),
        ("2026-02-13T15:00:00", 2, "working_days", "2026-02-24T15:00:00+08:00", True),  # naive: agency time
        ("2026-02-13T07:00:00Z", 2, "working_days", "2026-02-24T15:00:00+08:00", True),
        ("2026-02-16T10:00:00+08:00", 3, "working_hours", "2026-02-24T12:00:00+08:00", False),
        ("2026-02-14T17:00:00+08:00", 1, "working_hours", "2026-02-14T18:00:00+08:00", True),
        ("2026-09-30T14:00:00+08:00", 2, "natural_days", "2026-10-02T14:00:00+08:00", True),
        ("2026-12-31T20:00:00+08:00", 6, "natural_hours", "2027-01-01T02:00:00+08:00", True),
        ("2026-10-03T11:00:00+08:00", 0, "working_days", "2026-10-03T11:00:00+08:00", False),
    ],
)
def test_working_time(api, manager, start, amount, unit, due, working_day):
    response = api(manager).get(WORKING_TIME, {"start": start, "amount": amount, "unit": unit})

    assert response.status_code == 200, response.content
    assert response.data["due"] == due
    assert response.data["working_day"] is working_day
    assert (response.data["amount"], response.data["unit"]) == (amount, unit)
    assert response.data["time_zone"] == "Asia/Shanghai"
    assert response.data["start"].endswith("+08:00")


def test_working_time_reports_the_budget_in_seconds(api, manager):
    response = api(manager).get(
        WORKING_TIME, {"start": "2026-03-02T09:00:00+08:00", "amount": 2, "unit": "working_days"}
    )

    assert response.data["budget_seconds"] == 2 * 9 * 3600


@time_machine.travel(dt.datetime(2026, 2, 13, 15, tzinfo=SHANGHAI), tick=False)
def test_working_time_starts_now_by_default(api, manager):
    response = api(manager).get(WORKING_TIME, {"amount": 2, "unit": "working_days"})

    assert response.status_code == 200
    assert response.data["start"] == "2026-02-13T15:00:00+08:00"
    assert response.data["due"] == "2026-02-24T15:00:00+08:00"


def test_working_time_follows_calendar_edits(api, administrator, recomputed):
    params = {"start": "2026-12-31T16:00:00+08:00", "amount": 3, "unit": "working_days"}
    before = api(administrator).get(WORKING_TIME, params)
    api(administrator).put(f"{DAYS}2027-01-04/", {"kind": "holiday"}, format="json")
    after = api(administrator).get(WORKING_TIME, params)

    # New Year's Day is a statutory holiday either way; the new holiday on Monday 01-04 adds a day.
    assert (before.data["due"], after.data["due"]) == ("2027-01-06T16:00:00+08:00", "2027-01-07T16:00:00+08:00")


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"unit": "working_days"}, {"amount"}),
        ({"amount": 1}, {"unit"}),
        ({}, {"amount", "unit"}),
        ({"amount": -1, "unit": "working_days"}, {"amount"}),
        ({"amount": 1001, "unit": "working_days"}, {"amount"}),
        ({"amount": "two", "unit": "working_days"}, {"amount"}),
        ({"amount": 1, "unit": "fortnights"}, {"unit"}),
        ({"start": "yesterday", "amount": 1, "unit": "working_days"}, {"start"}),
        ({"start": "2026-02-30T09:00:00", "amount": 1, "unit": "working_days"}, {"start"}),
        ({"start": "9999-12-31T09:00:00", "amount": 1000, "unit": "working_days"}, {"start"}),
    ],
)
def test_working_time_names_every_bad_parameter(api, manager, params, bad):
    response = api(manager).get(WORKING_TIME, params)

    assert set(fields(response)) == bad
    assert all(isinstance(message, str) for messages in fields(response).values() for message in messages)


# --- Stage SLAs -----------------------------------------------------------------------------


def test_staff_read_the_stage_slas(api, manager, intake_sla):
    listed = api(manager).get(SLAS)
    one = api(manager).get(f"{SLAS}{intake_sla.pk}/")

    assert listed.status_code == 200
    assert [(row["state"], row["amount"], row["unit"]) for row in listed.data["results"]] == [
        ("assessment", 3, "working_days"),
        ("evidence", 10, "working_days"),
        ("intake", 2, "working_days"),
        ("resolved", 2, "working_days"),
    ]
    assert one.data["state_display"] == "Intake"
    assert one.data["active"] is True


def test_an_administrator_changes_a_stage_sla(api, administrator, intake_sla):
    response = api(administrator).patch(
        f"{SLAS}{intake_sla.pk}/", {"amount": 16, "unit": "working_hours", "active": False}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.data["amount"], response.data["unit"], response.data["active"]) == (16, "working_hours", False)
    intake_sla.refresh_from_db()
    assert (intake_sla.amount, intake_sla.unit, intake_sla.active) == (16, "working_hours", False)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": 366}, "amount"),
        ({"unit": "fortnights"}, "unit"),
        ({"amount": "x"}, "amount"),
    ],
)
def test_bad_stage_slas_name_the_field_and_change_nothing(api, administrator, intake_sla, payload, field):
    response = api(administrator).patch(f"{SLAS}{intake_sla.pk}/", payload, format="json")

    assert field in fields(response)
    intake_sla.refresh_from_db()
    assert (intake_sla.amount, intake_sla.unit) == (2, "working_days")


def test_the_state_of_a_stage_sla_cannot_be_rewritten(api, administrator, intake_sla):
    api(administrator).patch(f"{SLAS}{intake_sla.pk}/", {"state": "closed", "amount": 4}, format="json")

    intake_sla.refresh_from_db()
    assert (intake_sla.state, intake_sla.amount) == ("intake", 4)


@pytest.mark.parametrize("actor_name", ["intake", "manager", "reviewer", "supervisor"])
def test_only_administrators_change_stage_slas(api, request, intake_sla, actor_name):
    response = api(request.getfixturevalue(actor_name)).patch(f"{SLAS}{intake_sla.pk}/", {"amount": 5}, format="json")

    assert response.status_code == 403
    intake_sla.refresh_from_db()
    assert intake_sla.amount == 2


def test_stage_slas_are_not_created_replaced_or_deleted_over_the_api(api, administrator, intake_sla):
    assert api(administrator).post(SLAS, {"state": "closed", "amount": 1}, format="json").status_code == 405
    assert api(administrator).put(f"{SLAS}{intake_sla.pk}/", {"amount": 1}, format="json").status_code == 405
    assert api(administrator).delete(f"{SLAS}{intake_sla.pk}/").status_code == 405
    assert api(administrator).patch(f"{SLAS}999999/", {"amount": 1}, format="json").status_code == 404
