"""The admin of the working calendar and the stage SLAs (``workflows.admin``): every change goes through the
calendar services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from agency.accounts.models import Role
from tests.factories import UserFactory
from tests.workflows.helpers import NATIONAL_DAY_2026, NEW_YEAR_2027
from workflows.models import CalendarDay

pytestmark = pytest.mark.django_db


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
