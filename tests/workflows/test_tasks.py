"""The workflows' Celery tasks (``workflows.tasks``): the heartbeat task records the heartbeat, beat schedules
it often enough, and the app registers it. The health check that reads it is tests/agency/api/test_views.py's."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
import time_machine
from django.conf import settings

from agency.api.views import HEARTBEAT_STALE_SECONDS
from agency.celery import app
from workflows import services
from workflows.models import WorkerHeartbeat
from workflows.tasks import record_heartbeat

NOON = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def test_task_records_a_heartbeat(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(NOON, tick=False)
    assert not WorkerHeartbeat.objects.exists()

    result = record_heartbeat.apply()

    assert result.successful(), result.traceback
    heartbeat = WorkerHeartbeat.objects.get()
    assert heartbeat.name == services.HEARTBEAT
    assert heartbeat.last_seen_at == NOON
    assert heartbeat.hostname == socket.gethostname()


def test_task_updates_the_one_heartbeat_row(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(NOON, tick=False)
    record_heartbeat()
    time_machine.shift(dt.timedelta(minutes=1))
    record_heartbeat()

    assert WorkerHeartbeat.objects.count() == 1
    assert WorkerHeartbeat.objects.get().last_seen_at == NOON + dt.timedelta(minutes=1)


def test_beat_schedules_the_heartbeat_often_enough() -> None:
    entries = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == record_heartbeat.name]
    assert len(entries) == 1
    # Several beats must fit in the staleness window, or a healthy worker would look dead.
    schedule = entries[0]["schedule"]
    assert isinstance(schedule, int | float)
    assert schedule * 3 <= HEARTBEAT_STALE_SECONDS


def test_heartbeat_task_is_registered_with_the_celery_app() -> None:
    assert record_heartbeat.name == "workflows.record_heartbeat"
    app.loader.import_default_modules()
    assert "workflows.record_heartbeat" in app.tasks
    assert app.conf.beat_schedule == settings.CELERY_BEAT_SCHEDULE
