"""The worker heartbeat: the task records it, beat schedules it, and /api/v1/health/ reads it."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
import time_machine
from django.conf import settings
from rest_framework.test import APIClient

from agency.api.views import HEARTBEAT_STALE_SECONDS
from agency.celery import app
from workflows import services
from workflows.models import WorkerHeartbeat
from workflows.tasks import record_heartbeat

HEALTH_URL = "/api/v1/health/"
NOON = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def health() -> dict[str, object]:
    """The health answer without its calendar part (tests/workflows/test_calendar_provisional.py checks that)."""
    response = APIClient().get(HEALTH_URL)
    assert response.status_code == 200, response.content
    body: dict[str, object] = response.json()
    assert "calendar" in body
    return {key: value for key, value in body.items() if key != "calendar"}


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


def test_health_without_any_heartbeat() -> None:
    assert health() == {"database": True, "worker_heartbeat_age_seconds": None, "worker_alive": False}


def test_health_after_a_heartbeat_and_ten_minutes_later(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(NOON, tick=False)
    record_heartbeat.apply()

    fresh = health()
    assert fresh == {"database": True, "worker_heartbeat_age_seconds": 0.0, "worker_alive": True}

    time_machine.shift(dt.timedelta(minutes=10))
    stale = health()
    assert stale == {"database": True, "worker_heartbeat_age_seconds": 600.0, "worker_alive": False}


@pytest.mark.parametrize(
    ("age_seconds", "alive"),
    [(HEARTBEAT_STALE_SECONDS - 1, True), (HEARTBEAT_STALE_SECONDS, False)],
)
def test_worker_alive_boundary(time_machine: time_machine.TimeMachineFixture, age_seconds: int, alive: bool) -> None:
    time_machine.move_to(NOON, tick=False)
    record_heartbeat()
    time_machine.shift(dt.timedelta(seconds=age_seconds))
    body = health()
    assert body["worker_heartbeat_age_seconds"] == float(age_seconds)
    assert body["worker_alive"] is alive


def test_health_needs_no_sign_in_even_with_a_bad_token() -> None:
    response = APIClient().get(HEALTH_URL, HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 200
    assert response.json()["database"] is True


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
