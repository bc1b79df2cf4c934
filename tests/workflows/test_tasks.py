"""The workflows' Celery tasks (``workflows.tasks``): the heartbeat task records the worker's heartbeat, beat
schedules it often enough and records its own heartbeat once it has published it, and the app registers it. The
readiness and health checks that read them are tests/agency/api/test_views.py's."""

from __future__ import annotations

import datetime as dt
import socket
from unittest import mock

import pytest
import time_machine
from celery.signals import beat_init
from django.conf import settings
from django.db import OperationalError

from agency.api.views import HEARTBEAT_STALE_SECONDS
from agency.celery import app
from workflows import services, tasks
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


# --- Beat's heartbeat ------------------------------------------------------------------------


@pytest.fixture
def in_beat(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process is beat, as beat_init makes it (undone after the test)."""
    monkeypatch.setattr(tasks, "_in_beat", False)
    beat_init.send(sender=None)
    assert tasks._in_beat is True


def publish(name: str) -> None:
    """Hand a task to a broker of its own (in memory), as beat does on its schedule."""
    with app.connection_for_write("memory://") as connection:
        app.send_task(name, producer=connection.Producer())


def test_beat_records_its_heartbeat_when_it_has_published_the_heartbeat_task(
    in_beat: None, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(NOON, tick=False)
    publish(record_heartbeat.name)

    heartbeat = WorkerHeartbeat.objects.get()
    assert (heartbeat.name, heartbeat.last_seen_at) == (services.BEAT_HEARTBEAT, NOON)
    assert services.heartbeat_age_seconds(name=services.BEAT_HEARTBEAT, now=NOON + dt.timedelta(seconds=5)) == 5.0
    # The worker's mark is the worker's to write, when it runs the task.
    assert services.heartbeat_age_seconds(now=NOON) is None


def test_only_the_heartbeat_task_marks_beat(in_beat: None) -> None:
    publish("workflows.sweep_deadlines")
    assert not WorkerHeartbeat.objects.exists()


def test_outside_beat_publishing_the_heartbeat_task_marks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "_in_beat", False)
    publish(record_heartbeat.name)  # a shell or a test sending the task proves nothing about beat
    assert not WorkerHeartbeat.objects.exists()


def test_a_database_error_does_not_stop_beat(in_beat: None, caplog: pytest.LogCaptureFixture) -> None:
    with mock.patch.object(services, "heartbeat_record", side_effect=OperationalError("down")):
        publish(record_heartbeat.name)
    assert "Could not record beat's heartbeat" in caplog.text
