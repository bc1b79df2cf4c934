"""Seed the official holidays and make-up working days, and the default internal stage SLAs."""

from __future__ import annotations

from typing import Any

from django.db import migrations

# How long a case may stay in a state, in working days, before it is late. Submitted is
# the platform's time (followed up by the contact cadence), recovery has its check-ins,
# and terminal states have no clock. Administrators change these in the admin or the API.
DEFAULT_STAGE_SLAS = {"intake": 2, "assessment": 3, "evidence": 10, "resolved": 2}


def seed(apps: Any, schema_editor: Any) -> None:
    from workflows.holidays import library_days

    CalendarDay = apps.get_model("workflows", "CalendarDay")
    StageSla = apps.get_model("workflows", "StageSla")
    existing = set(CalendarDay.objects.values_list("date", flat=True))
    CalendarDay.objects.bulk_create(
        CalendarDay(date=day, kind=kind, name=name, source="library")
        for day, kind, name in library_days()
        if day not in existing
    )
    for state, amount in DEFAULT_STAGE_SLAS.items():
        StageSla.objects.get_or_create(state=state, defaults={"amount": amount, "unit": "working_days"})


def unseed(apps: Any, schema_editor: Any) -> None:
    apps.get_model("workflows", "CalendarDay").objects.filter(source="library").delete()
    apps.get_model("workflows", "StageSla").objects.filter(state__in=DEFAULT_STAGE_SLAS).delete()


class Migration(migrations.Migration):
    dependencies = [("workflows", "0002_calendar_deadlines_notifications_contacts")]

    operations = [migrations.RunPython(seed, unseed)]
