"""The calendar never guesses silently.

A year whose official holiday arrangement is not loaded runs on its statutory holidays and
every clock that reaches it is provisional, with the reason; entering the arrangement
recomputes those clocks in the same transaction and clears the mark; the administrators are
told from a configured day, once; the health check says which years are missing; and dates
far outside the supported years are refused instead of computed on an empty calendar.

One rule checked across the modules that keep it (``workflows.holidays``, ``workflows.calendar``,
``workflows.calendar_services``, ``workflows.tasks``, the calendar endpoints, the admin and the health
check), so the file is named for the rule rather than for one module: every test here runs on the same
frozen day (the autouse ``december_2026``), from which the supported years are counted, so the tests
cannot move into those modules' files without it.

Expected times are worked out by hand from the law's statutory holidays (since 2025:
New Year's Day; the Spring Festival's eve and first three days; Qingming; 1-2 May; the
Dragon Boat and Mid-Autumn festivals; 1-3 October) and 09:00-18:00 working hours. The
test database is seeded with chinese-calendar's years 2020-2026, all official; the
library knows nothing of 2027's arrangement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.urls import reverse

from agency.accounts.models import Role, User
from agency.celery import app
from agency.errors import InvalidInput
from cases.models import Case, CaseEvent, EventKind, PlatformRuleProfile
from tests.factories import UserFactory
from workflows import calendar_services
from workflows.calendar import CalendarRangeError, WorkingCalendar, load_calendar
from workflows.holidays import statutory_holidays
from workflows.models import (
    CalendarDay,
    CalendarDaySource,
    CalendarYear,
    Deadline,
    DeadlineKind,
    DeadlineStatus,
    Notification,
    NotificationKind,
)
from workflows.notifications import render
from workflows.tasks import calendar_missing_notice, send_notification_email

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
WORKING_TIME = "/api/v1/calendar/working-time/"
YEARS = "/api/v1/calendar/years/"
DAYS = "/api/v1/calendar/days/"
HEALTH = "/api/v1/health/"


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


def iso(value: dt.datetime) -> str:
    return value.isoformat()


# The last working afternoon of 2026, a Thursday: New Year's Day 2027 is a Friday.
LAST_AFTERNOON = at(2026, 12, 31, 15)


@pytest.fixture(autouse=True)
def december_2026(time_machine: time_machine.TimeMachineFixture) -> time_machine.TimeMachineFixture:
    """Today is Monday 7 December 2026: the supported years are 2000 to 2031."""
    time_machine.move_to(at(2026, 12, 7, 10), tick=False)
    return time_machine


def fields(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]["code"] == "invalid"
    return dict(body["error"]["details"]["fields"])


# --- The statutory holidays by rule ---------------------------------------------------------------


def test_2027_statutory_holidays_follow_the_rule_in_force_since_2025():
    days = set(statutory_holidays(2027))

    assert days == {
        dt.date(2027, 1, 1),  # New Year's Day
        dt.date(2027, 2, 5),  # the Spring Festival's eve (除夕), a Friday
        dt.date(2027, 2, 6),  # 正月初一
        dt.date(2027, 2, 7),
        dt.date(2027, 2, 8),  # 正月初三, a Monday
        dt.date(2027, 4, 5),  # Qingming
        dt.date(2027, 5, 1),  # Labour Day, two days since 2025
        dt.date(2027, 5, 2),
        dt.date(2027, 6, 9),  # Dragon Boat Festival
        dt.date(2027, 9, 15),  # Mid-Autumn Festival
        dt.date(2027, 10, 1),  # National Day, three days
        dt.date(2027, 10, 2),
        dt.date(2027, 10, 3),
    }


def test_before_2025_the_spring_festival_had_no_eve_and_labour_day_one_day():
    days = set(statutory_holidays(2024))

    assert dt.date(2024, 2, 9) not in days  # the eve
    assert {dt.date(2024, 2, 10), dt.date(2024, 2, 11), dt.date(2024, 2, 12)} <= days
    assert dt.date(2024, 5, 1) in days
    assert dt.date(2024, 5, 2) not in days
    # Days off a published arrangement moved (调休) are not statutory: 2024-05-02 was one.
    assert len(days) == 11


def test_only_the_years_without_an_arrangement_run_on_statutory_holidays():
    calendar = load_calendar()

    assert calendar.is_working_day(dt.date(2026, 1, 4))  # 2026: the official make-up Sunday counts
    assert not calendar.is_working_day(dt.date(2027, 1, 1))  # 2027: New Year's Day by statute
    assert not calendar.is_working_day(dt.date(2027, 2, 5))  # the Spring Festival's eve
    assert not calendar.is_working_day(dt.date(2027, 2, 8))
    assert calendar.is_working_day(dt.date(2027, 2, 9))  # no day moved: nothing is guessed
    assert not calendar.is_working_day(dt.date(2027, 2, 13))  # and no make-up Saturday invented


def test_the_spring_festival_2027_on_statutory_holidays():
    # Thursday 02-04 15:00 + 2 working days: 3 h, the eve and the weekend and 初三 off,
    # 9 h on Tuesday 02-09, 6 h on Wednesday 02-10.
    assert load_calendar().add(at(2027, 2, 4, 15), 2, "working_days") == at(2027, 2, 10, 15)


# --- Provisional working time ---------------------------------------------------------------------


def test_one_working_day_from_new_years_eve_afternoon_lands_after_the_holiday_and_is_provisional(api, manager):
    calendar = load_calendar()
    due = calendar.add(LAST_AFTERNOON, 1, "working_days")
    # 3 h on Thursday; Friday 01-01 is New Year's Day, then the weekend; 6 h on Monday 01-04.
    assert due == at(2027, 1, 4, 15)
    assert calendar.unofficial_years(LAST_AFTERNOON, due) == (2027,)

    response = api(manager).get(WORKING_TIME, {"start": iso(LAST_AFTERNOON), "amount": 1, "unit": "working_days"})

    assert response.status_code == 200, response.content
    assert response.data["due"] == "2027-01-04T15:00:00+08:00"
    assert response.data["provisional"] is True
    assert response.data["provisional_years"] == [2027]
    assert response.data["provisional_reason"] == (
        "The official holiday arrangement for 2027 is not loaded; this is computed on statutory holidays only."
    )


def test_the_reason_is_in_the_readers_language(api, manager):
    response = api(manager).get(
        WORKING_TIME,
        {"start": iso(LAST_AFTERNOON), "amount": 1, "unit": "working_days"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    reason = response.data["provisional_reason"]
    assert "2027" in reason
    assert "法定节假日" in reason


def test_working_time_within_a_loaded_year_is_not_provisional(api, manager):
    response = api(manager).get(
        WORKING_TIME, {"start": "2026-02-13T15:00:00+08:00", "amount": 2, "unit": "working_days"}
    )

    assert response.data["due"] == "2026-02-24T15:00:00+08:00"
    assert (response.data["provisional"], response.data["provisional_years"]) == (False, [])
    assert response.data["provisional_reason"] is None


def test_natural_time_into_an_unloaded_year_is_not_provisional(api, manager):
    response = api(manager).get(WORKING_TIME, {"start": iso(LAST_AFTERNOON), "amount": 2, "unit": "natural_days"})

    assert response.data["due"] == "2027-01-02T15:00:00+08:00"
    assert response.data["provisional"] is False


def test_a_working_time_clock_ending_before_the_year_is_out_is_not_provisional(api, manager):
    response = api(manager).get(WORKING_TIME, {"start": iso(LAST_AFTERNOON), "amount": 3, "unit": "working_hours"})

    assert response.data["due"] == "2026-12-31T18:00:00+08:00"
    assert response.data["provisional"] is False


# --- Provisional deadlines ------------------------------------------------------------------------


@pytest.fixture
def new_years_eve(december_2026: time_machine.TimeMachineFixture) -> None:
    december_2026.move_to(LAST_AFTERNOON, tick=False)


@pytest.fixture
def case(new_years_eve: None, make_case: Callable[..., Case], blossom_shop: Any, manager: User) -> Case:
    """A case opened on 31 December 2026 at 15:00: its intake SLA (2 working days) runs into 2027."""
    return make_case(blossom_shop, assignee=manager)


def deadlines_path(case: Case) -> str:
    return f"/api/v1/cases/{case.pk}/deadlines/"


def one_working_day(api: Any, manager: User, case: Case) -> dict[str, Any]:
    """Staff enter a platform supplement deadline: 1 working day from now (31 December 15:00)."""
    response = api(manager).post(
        deadlines_path(case), {"kind": "platform_supplement", "amount": 1, "unit": "working_days"}, format="json"
    )
    assert response.status_code == 201, response.content
    return dict(response.data)


def intake_sla(case: Case) -> Deadline:
    return Deadline.objects.get(case=case, kind=DeadlineKind.STAGE_SLA, status=DeadlineStatus.OPEN)


def test_a_deadline_that_reaches_2027_is_provisional_with_its_reason(api, manager, case):
    body = one_working_day(api, manager, case)

    assert body["due_at"] == "2027-01-04T15:00:00+08:00"
    assert body["provisional"] is True
    assert body["provisional_years"] == [2027]
    assert "2027" in body["provisional_reason"]
    assert "statutory holidays" in body["provisional_reason"]

    # 3 h on Thursday, New Year's Day off, 9 h on Monday 01-04, 6 h on Tuesday 01-05.
    sla = intake_sla(case)
    assert sla.due_at == at(2027, 1, 5, 15)
    assert (sla.provisional, sla.provisional_years) == (True, [2027])
    listed = {row["id"]: row for row in api(manager).get(deadlines_path(case)).data["results"]}
    assert listed[sla.pk]["provisional"] is True
    # The history says it too.
    event = CaseEvent.objects.filter(case=case, kind=EventKind.DEADLINE_SET, new_value__deadline=sla.pk).get()
    assert event.new_value["provisional_years"] == [2027]


def test_a_deadline_within_a_loaded_year_is_not_provisional(api, manager, make_case, blossom_shop, december_2026):
    december_2026.move_to(at(2026, 3, 2, 10), tick=False)
    case = make_case(blossom_shop, assignee=manager)

    sla = intake_sla(case)
    assert sla.due_at == at(2026, 3, 4, 10)
    assert (sla.provisional, sla.provisional_years) == (False, [])
    row = api(manager).get(deadlines_path(case)).data["results"][0]
    assert (row["provisional"], row["provisional_years"], row["provisional_reason"]) == (False, [], None)


def test_a_fixed_due_time_is_never_provisional(api, manager, case):
    response = api(manager).post(
        deadlines_path(case), {"kind": "platform_supplement", "due_at": "2027-01-08T12:00:00+08:00"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert (response.data["provisional"], response.data["provisional_reason"]) == (False, None)


# --- Entering the arrangement ---------------------------------------------------------------------


def enter_2027_new_year(api: Any, administrator: User) -> None:
    """An arrangement for New Year 2027: Friday 01-01 off, Saturday 01-02 a make-up working day."""
    client = api(administrator)
    assert client.put(f"{DAYS}2027-01-01/", {"kind": "holiday", "name": "New Year"}, format="json").status_code == 200
    assert client.put(f"{DAYS}2027-01-02/", {"kind": "workday", "name": "New Year"}, format="json").status_code == 200


def test_entering_the_arrangement_recomputes_provisional_deadlines_and_clears_the_mark(
    api, manager, administrator, case
):
    supplement = one_working_day(api, manager, case)
    enter_2027_new_year(api, administrator)

    # The days already count (3 h on Thursday, 6 h on the make-up Saturday), but 2027 is
    # not declared yet: the clocks are still provisional.
    moved = Deadline.objects.get(pk=supplement["id"])
    assert moved.due_at == at(2027, 1, 2, 15)
    assert moved.provisional
    assert intake_sla(case).due_at == at(2027, 1, 4, 15)  # 3 h, 9 h on Saturday, 6 h on Monday

    response = api(administrator).put(f"{YEARS}2027/", {"official": True}, format="json")

    assert response.status_code == 200, response.content
    assert response.data["official"] is True
    assert response.data["source"] == "manual"
    assert response.data["updated_by"] == administrator.label
    assert (response.data["holidays_entered"], response.data["workdays_entered"]) == (1, 1)
    for deadline, due in (
        (Deadline.objects.get(pk=supplement["id"]), at(2027, 1, 2, 15)),
        (intake_sla(case), at(2027, 1, 4, 15)),
    ):
        assert deadline.due_at == due
        assert (deadline.provisional, deadline.provisional_years) == (False, [])
        event = CaseEvent.objects.filter(case=case, kind=EventKind.DEADLINE_MOVED, new_value__deadline=deadline.pk)
        last = event.order_by("id").last()
        assert last is not None
        assert last.new_value["was_provisional"] is True
        assert last.new_value["provisional_years"] == []
    row = api(manager).get(deadlines_path(case)).data["results"][0]
    assert (row["provisional"], row["provisional_reason"]) == (False, None)


def test_declaring_a_year_recomputes_in_the_same_transaction(administrator, case, monkeypatch):
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), kind="holiday", name="New Year")
    seen: list[dict[str, Any]] = []
    from workflows import deadlines

    original = deadlines.deadlines_recompute_for_dates

    def spy(**kwargs: Any) -> int:
        seen.append(
            {
                "dates": kwargs["dates"],
                "in_savepoint": bool(connection.savepoint_ids),
                "official": CalendarYear.objects.get(year=2027).official,
            }
        )
        return original(**kwargs)

    monkeypatch.setattr(deadlines, "deadlines_recompute_for_dates", spy)

    calendar_services.calendar_year_set(actor=administrator, year=2027, official=True)

    assert seen == [{"dates": [dt.date(2027, 1, 1), dt.date(2027, 12, 31)], "in_savepoint": True, "official": True}]
    assert not intake_sla(case).provisional


def test_a_failed_recompute_leaves_the_year_undeclared(administrator, case, monkeypatch):
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), kind="holiday", name="New Year")
    from workflows import deadlines

    original = deadlines.deadlines_recompute_for_dates

    def recompute_then_fail(**kwargs: Any) -> int:
        original(**kwargs)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(deadlines, "deadlines_recompute_for_dates", recompute_then_fail)

    with pytest.raises(RuntimeError):
        calendar_services.calendar_year_set(actor=administrator, year=2027, official=True)

    assert not CalendarYear.objects.filter(year=2027, official=True).exists()
    assert intake_sla(case).provisional  # rolled back with the declaration


def test_withdrawing_a_declaration_makes_the_clocks_provisional_again(api, administrator, case):
    enter_2027_new_year(api, administrator)
    assert api(administrator).put(f"{YEARS}2027/", {"official": True}, format="json").status_code == 200
    assert not intake_sla(case).provisional

    response = api(administrator).put(f"{YEARS}2027/", {"official": False}, format="json")

    assert response.status_code == 200, response.content
    assert response.data["official"] is False
    assert intake_sla(case).provisional_years == [2027]


def test_declaring_what_is_already_declared_changes_nothing(administrator, monkeypatch):
    calls: list[Any] = []
    monkeypatch.setattr("workflows.deadlines.deadlines_recompute_for_dates", lambda **kwargs: calls.append(kwargs))

    row = calendar_services.calendar_year_set(actor=administrator, year=2026, official=True)

    assert row.official
    assert calls == []


def test_importing_a_year_the_library_has_learnt_declares_it_and_clears_the_marks(case, monkeypatch):
    learnt = [
        (dt.date(2027, 1, 1), "holiday", "New Year's Day"),
        (dt.date(2027, 1, 2), "workday", "New Year's Day"),
    ]
    monkeypatch.setattr("workflows.calendar_services.library_days", lambda years=None: learnt)
    monkeypatch.setattr("workflows.calendar_services.library_years", lambda: [*range(2004, 2027), 2027])
    assert intake_sla(case).provisional

    result = calendar_services.calendar_import_library(years=[2027])

    assert (result.added, result.declared) == (2, (2027,))
    year = CalendarYear.objects.get(year=2027)
    assert (year.official, year.source) == (True, CalendarDaySource.LIBRARY)
    sla = intake_sla(case)
    assert sla.due_at == at(2027, 1, 4, 15)  # 3 h on Thursday, the make-up Saturday, 6 h on Monday
    assert not sla.provisional


# --- The years over the API and in the admin ------------------------------------------------------


def test_an_unrecorded_year_reads_as_not_official_with_its_statutory_holidays(api, manager):
    response = api(manager).get(f"{YEARS}2027/")

    assert response.status_code == 200, response.content
    assert response.data["official"] is False
    assert (response.data["holidays_entered"], response.data["workdays_entered"]) == (0, 0)
    assert response.data["updated_at"] is None
    statutory = response.json()["statutory_holidays"]
    assert statutory[0] == {"date": "2027-01-01", "name": "New Year's Day"}
    assert len(statutory) == 13


def test_the_years_list_says_which_are_official(api, manager):
    response = api(manager).get(YEARS)

    assert response.status_code == 200, response.content
    official = {row["year"]: row["official"] for row in response.data}
    assert official[2026] is True
    assert 2027 not in official
    year_2026 = next(row for row in response.data if row["year"] == 2026)
    assert year_2026["source"] == "library"
    assert year_2026["holidays_entered"] > 0


def test_the_years_list_costs_one_query(api, manager, django_assert_num_queries):
    client = api(manager)
    with django_assert_num_queries(1):
        client.get(YEARS)


def test_a_year_is_declared_only_with_its_holidays_entered(api, administrator):
    response = api(administrator).put(f"{YEARS}2027/", {"official": True}, format="json")

    assert set(fields(response)) == {"official"}
    assert not CalendarYear.objects.filter(year=2027, official=True).exists()


@pytest.mark.parametrize("payload", [{}, {"official": "perhaps"}])
def test_a_bad_declaration_names_the_field(api, administrator, payload):
    assert set(fields(api(administrator).put(f"{YEARS}2027/", payload, format="json"))) == {"official"}


def test_years_outside_the_supported_range_do_not_exist(api, administrator):
    assert api(administrator).get(f"{YEARS}1999/").status_code == 404
    assert api(administrator).get(f"{YEARS}2032/").status_code == 404
    assert api(administrator).put(f"{YEARS}2032/", {"official": True}, format="json").status_code == 404
    with pytest.raises(InvalidInput) as refused:
        calendar_services.calendar_year_set(actor=administrator, year=1999, official=False)
    assert set(refused.value.details["fields"]) == {"year"}


@pytest.mark.parametrize("actor_name", ["intake", "manager", "reviewer", "supervisor"])
def test_only_administrators_declare_a_year(api, request, actor_name):
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), kind="holiday", name="New Year")
    client = api(request.getfixturevalue(actor_name))

    assert client.get(f"{YEARS}2027/").status_code == 200
    assert client.put(f"{YEARS}2027/", {"official": True}, format="json").status_code == 403
    assert not CalendarYear.objects.filter(year=2027, official=True).exists()


def test_clients_and_anonymous_get_no_years(api, alice):
    assert api(alice).get(YEARS).status_code == 403
    assert api(None).get(YEARS).status_code == 401
    assert api(None).put(f"{YEARS}2027/", {"official": True}, format="json").status_code == 401


def test_patch_post_and_delete_are_not_offered(api, administrator):
    client = api(administrator)
    assert client.patch(f"{YEARS}2026/", {"official": False}, format="json").status_code == 405
    assert client.post(YEARS, {"year": 2027, "official": True}, format="json").status_code == 405
    assert client.delete(f"{YEARS}2026/").status_code == 405


@pytest.fixture
def admin_client(client: Any) -> Any:
    root = UserFactory.create(username="root", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    client.force_login(root)
    client.user = root
    return client


def test_the_admin_declares_a_year_through_the_service(case, admin_client):
    # (The case first: it moves the clock to 31 December, and the admin signs in after that.)
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), kind="holiday", name="New Year")

    response = admin_client.post(reverse("admin:workflows_calendaryear_add"), {"year": "2027", "official": "on"})

    assert response.status_code == 302, response.content
    year = CalendarYear.objects.get(year=2027)
    assert (year.official, year.updated_by) == (True, admin_client.user)
    assert not intake_sla(case).provisional


def test_the_admin_shows_why_a_year_cannot_be_declared(admin_client):
    response = admin_client.post(reverse("admin:workflows_calendaryear_add"), {"year": "2027", "official": "on"})

    assert response.status_code == 200  # the form again, with the error
    assert "Enter the public holidays" in response.content.decode()
    assert not CalendarYear.objects.filter(year=2027, official=True).exists()


# --- Telling the administrators ---------------------------------------------------------------------


@pytest.fixture
def administrators(administrator: User) -> list[User]:
    administrator.email = "administrator@agency.example"
    administrator.save(update_fields=["email"])
    second = UserFactory.create(username="administrator2", role=Role.ADMINISTRATOR, email="second@agency.example")
    UserFactory.create(username="retired_administrator", role=Role.ADMINISTRATOR, is_active=False)
    return [administrator, second]


def missing_notices() -> list[Notification]:
    return list(Notification.objects.filter(kind=NotificationKind.CALENDAR_YEAR_MISSING).order_by("recipient_id"))


def test_no_notice_before_the_configured_day(december_2026, administrators, supervisor):
    december_2026.move_to(at(2026, 10, 31, 23, 59), tick=False)

    assert calendar_services.calendar_missing_notice_send() == []
    assert missing_notices() == []


def test_from_the_configured_day_each_administrator_is_told_once(december_2026, administrators, supervisor):
    december_2026.move_to(at(2026, 11, 1, 0, 0), tick=False)

    assert calendar_services.calendar_missing_notice_send() == [2027]
    december_2026.move_to(at(2026, 11, 1, 1, 0), tick=False)
    assert calendar_services.calendar_missing_notice_send() == []
    december_2026.move_to(at(2026, 12, 20, 9, 0), tick=False)
    assert calendar_services.calendar_missing_notice_send() == []

    notices = missing_notices()
    assert [notice.recipient for notice in notices] == administrators
    assert all(notice.case is None and notice.params == {"year": 2027} for notice in notices)
    assert CalendarYear.objects.get(year=2027).missing_notice_sent_at == at(2026, 11, 1)


def test_the_notice_says_what_is_missing_and_what_to_do(december_2026, administrators):
    december_2026.move_to(at(2026, 11, 2, 9), tick=False)
    calendar_services.calendar_missing_notice_send()
    notice = missing_notices()[0]

    title, body = render(notice, "en")
    assert title == "The 2027 holiday arrangement is missing"
    assert "statutory holidays only" in body
    assert "calendar_import --year 2027" in body
    zh_title, zh_body = render(notice, "zh-hans")
    assert "2027" in zh_title
    assert zh_title != title
    assert "法定节假日" in zh_body


def test_the_notice_is_e_mailed_after_commit(december_2026, administrators, django_capture_on_commit_callbacks):
    december_2026.move_to(at(2026, 11, 2, 9), tick=False)

    with (
        mock.patch.object(send_notification_email, "delay") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = calendar_missing_notice.apply()

    assert result.successful(), result.traceback
    assert result.result == [2027]
    assert sorted(call.args[0] for call in queued.call_args_list) == [notice.pk for notice in missing_notices()]


def test_the_configured_day_is_a_setting(december_2026, administrators, settings):
    settings.CALENDAR_MISSING_NOTICE_FROM = "12-15"
    assert calendar_services.calendar_missing_notice_send() == []  # 7 December

    december_2026.move_to(at(2026, 12, 15, 8), tick=False)
    assert calendar_services.calendar_missing_notice_send() == [2027]


@pytest.mark.parametrize("value", ["11/01", "13-01", "11-31", "", "1101"])
def test_a_bad_configured_day_is_improperly_configured_and_named(administrators, settings, value):
    settings.CALENDAR_MISSING_NOTICE_FROM = value

    with pytest.raises(ImproperlyConfigured, match="CALENDAR_MISSING_NOTICE_FROM"):
        calendar_services.calendar_missing_notice_send()


def test_no_notice_once_the_year_is_official(december_2026, administrators):
    CalendarYear.objects.create(year=2027, official=True)
    december_2026.move_to(at(2026, 11, 2, 9), tick=False)

    assert calendar_services.calendar_missing_notice_send() == []
    assert missing_notices() == []


def test_a_year_that_began_without_its_arrangement_is_announced_at_once(december_2026, administrators):
    december_2026.move_to(at(2027, 1, 4, 9), tick=False)

    assert calendar_services.calendar_missing_notice_send() == [2027]  # not 2028: that is November's business


def test_with_no_administrator_the_notice_waits_for_one(december_2026, supervisor):
    december_2026.move_to(at(2026, 11, 2, 9), tick=False)
    assert calendar_services.calendar_missing_notice_send() == []

    UserFactory.create(username="new_administrator", role=Role.ADMINISTRATOR)
    assert calendar_services.calendar_missing_notice_send() == [2027]


def test_beat_checks_every_hour_and_the_task_is_registered():
    entries = [
        entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == calendar_missing_notice.name
    ]
    assert len(entries) == 1
    assert entries[0]["schedule"] <= 3600
    app.loader.import_default_modules()
    assert "workflows.calendar_missing_notice" in app.tasks


# --- The health check -------------------------------------------------------------------------------


def test_the_health_check_names_the_missing_year(api):
    response = api(None).get(HEALTH)

    # Next year's arrangement is due from 1 November: the service is not ready without it.
    assert response.status_code == 503
    assert "calendar" in response.json()["failing"]
    assert response.json()["calendar"] == {
        "current_year": 2026,
        "current_year_official": True,
        "next_year_official": False,
        "years_missing": [2027],
    }


def test_the_health_check_is_content_once_next_year_is_loaded(api):
    CalendarYear.objects.create(year=2027, official=True)

    assert api(None).get(HEALTH).json()["calendar"]["years_missing"] == []


# --- Dates far outside the supported years -----------------------------------------------------------


@pytest.mark.parametrize("start", ["1990-03-01T09:00:00+08:00", "1999-12-31T09:00:00+08:00", "2200-03-01T09:00:00"])
@pytest.mark.parametrize("unit", ["working_days", "natural_hours"])
def test_working_time_far_outside_the_supported_years_is_refused_naming_the_start(api, manager, start, unit):
    response = api(manager).get(WORKING_TIME, {"start": start, "amount": 1, "unit": unit})

    assert set(fields(response)) == {"start"}
    assert "2000" in fields(response)["start"][0]
    assert "2031" in fields(response)["start"][0]


def test_working_time_that_runs_past_the_supported_years_is_refused_naming_the_amount(api, manager):
    response = api(manager).get(
        WORKING_TIME, {"start": "2031-06-01T09:00:00+08:00", "amount": 1000, "unit": "working_days"}
    )

    assert set(fields(response)) == {"amount"}


def test_the_first_supported_year_is_computed(api, manager):
    response = api(manager).get(
        WORKING_TIME, {"start": "2000-01-03T09:00:00+08:00", "amount": 1, "unit": "working_days"}
    )

    assert response.status_code == 200, response.content
    assert response.data["provisional_years"] == [2000]  # no arrangement was ever loaded for 2000


def test_the_calendar_refuses_to_compute_outside_its_years():
    calendar = load_calendar()

    with pytest.raises(CalendarRangeError) as before:
        calendar.add(at(1990, 3, 1, 9), 1, "working_days")
    assert before.value.at_start
    with pytest.raises(CalendarRangeError):
        calendar.working_seconds_between(at(1999, 12, 30, 9), at(2000, 1, 5, 9))
    with pytest.raises(CalendarRangeError) as past:
        calendar.add(at(2031, 12, 31, 17), 2, "working_hours")
    assert not past.value.at_start
    assert calendar.add(at(2031, 12, 31, 17), 1, "working_hours") == at(2031, 12, 31, 18)


def test_a_hand_built_calendar_can_be_given_its_years():
    calendar = WorkingCalendar(
        tz=SH,
        day_start=dt.time(9),
        day_end=dt.time(18),
        weekdays=frozenset({1, 2, 3, 4, 5}),
        holidays=frozenset(),
        workdays=frozenset(),
        first_year=2027,
        last_year=2027,
    )

    assert calendar.add(at(2027, 3, 1, 9), 1, "working_days") == at(2027, 3, 1, 18)
    assert calendar.unofficial_years(at(2027, 3, 1, 9), at(2027, 3, 1, 18)) == ()  # every year is official
    with pytest.raises(CalendarRangeError):
        calendar.add(at(2027, 12, 31, 9), 2, "working_days")


def test_a_deadline_started_far_outside_the_supported_years_is_refused_naming_the_start(api, manager, case):
    response = api(manager).post(
        deadlines_path(case),
        {"kind": "platform_supplement", "amount": 2, "unit": "working_days", "starts_at": "1990-03-01T09:00:00+08:00"},
        format="json",
    )

    assert set(fields(response)) == {"starts_at"}
    assert not Deadline.objects.filter(case=case, kind=DeadlineKind.PLATFORM_SUPPLEMENT).exists()


def test_a_notice_from_1990_is_refused_naming_the_notice_time(api, intake, blossom_shop, new_years_eve):
    # With an appeal window in working days, the notice time is where the clock starts.
    PlatformRuleProfile.objects.filter(platform="tmall", violation_type="fake_transaction").update(
        appeal_window_value=3, appeal_window_unit="working_days"
    )
    payload = {"shop": blossom_shop.pk, "violation_type": "fake_transaction"}

    response = api(intake).post(
        "/api/v1/cases/", {**payload, "notice_received_at": "1990-03-01T09:00:00+08:00"}, format="json"
    )

    assert set(fields(response)) == {"notice_received_at"}
    assert not Case.objects.exists()
    created = api(intake).post("/api/v1/cases/", {**payload, "notice_received_at": iso(LAST_AFTERNOON)}, format="json")
    assert created.status_code == 201, created.content
    window = Deadline.objects.get(case_id=created.data["id"], kind=DeadlineKind.PLATFORM_APPEAL_WINDOW)
    # 3 h on Thursday, New Year's Day and the weekend off, then Monday and Tuesday, 6 h on Wednesday.
    assert (window.due_at, window.provisional) == (at(2027, 1, 6, 15), True)


def test_existing_open_clocks_are_left_alone_by_a_recompute_they_cannot_survive(administrator, case):
    sla = intake_sla(case)
    Deadline.objects.filter(pk=sla.pk).update(starts_at=at(1995, 1, 2, 9))

    calendar_services.calendar_day_set(actor=administrator, date=dt.date(2027, 1, 4), kind="holiday")

    sla.refresh_from_db()
    assert sla.due_at == at(2027, 1, 5, 15)  # untouched, and the edit went through
    assert CalendarDay.objects.filter(date=dt.date(2027, 1, 4)).exists()


# --- Clocks counted before the calendar knew which years are official ---------------------------


def test_the_hourly_run_puts_right_a_clock_counted_on_weekdays_alone(api, manager, case):
    body = one_working_day(api, manager, case)
    # As the release before this one counted it: New Year's Day 2027 a working day, no mark.
    Deadline.objects.filter(pk=body["id"]).update(due_at=at(2027, 1, 1, 15), provisional=False, provisional_years=[])
    events_before = CaseEvent.objects.filter(case=case).count()

    calendar_missing_notice()

    deadline = Deadline.objects.get(pk=body["id"])
    assert deadline.due_at == at(2027, 1, 4, 15)
    assert (deadline.provisional, deadline.provisional_years) == (True, [2027])
    assert CaseEvent.objects.filter(case=case).count() > events_before

    # Put right once: the next run finds nothing to do and writes nothing.
    events_after = CaseEvent.objects.filter(case=case).count()
    assert calendar_services.calendar_provisional_catch_up() == []
    assert CaseEvent.objects.filter(case=case).count() == events_after


def test_a_form_put_without_official_withdraws_nothing(api, administrator):
    CalendarYear.objects.update_or_create(year=2026, defaults={"official": True})
    response = api(administrator).put(f"{YEARS}2026/", {}, format="multipart")
    assert response.status_code == 400, response.content
    assert "official" in response.json()["error"]["details"]["fields"]
    assert CalendarYear.objects.get(year=2026).official is True
