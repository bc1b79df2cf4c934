"""The service-level endpoints (``agency.api.views``): liveness, readiness with each of its components
failing in turn, and the older health answer, which keeps its fields and now answers like readiness."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.db import OperationalError, connection
from django.test import Client
from rest_framework.test import APIClient

from agency.api.views import HEARTBEAT_STALE_SECONDS
from agency.celery import app as celery_app
from tests.workflows.test_tasks import NOON
from workflows import services
from workflows.models import CalendarYear, WorkerHeartbeat
from workflows.tasks import record_heartbeat

HEALTH_URL = "/api/v1/health/"
LIVE_URL = "/api/v1/health/live/"
READY_URL = "/api/v1/health/ready/"
# December: next year's arrangement is due (CALENDAR_MISSING_NOTICE_FROM is 1 November).
DECEMBER = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
# The test database has the official arrangements of 2020-2026, not 2027's.
NEXT_YEAR = 2027
ALL_OK = {name: {"ok": True} for name in ("database", "broker", "worker", "beat", "calendar")}
SECRET_HOST = "db-primary.internal.example"

pytestmark = pytest.mark.django_db


def get(url: str, expected_status: int) -> dict[str, Any]:
    response = APIClient().get(url)
    assert response.status_code == expected_status, response.content
    assert response["Content-Type"] == "application/json"
    assert SECRET_HOST.encode() not in response.content
    body: dict[str, Any] = response.json()
    return body


def beat_heartbeat() -> None:
    services.heartbeat_record(name=services.BEAT_HEARTBEAT, hostname=SECRET_HOST)


def worker_heartbeat() -> None:
    services.heartbeat_record(hostname=SECRET_HOST)


@pytest.fixture
def ready(time_machine: time_machine.TimeMachineFixture) -> time_machine.TimeMachineFixture:
    """Everything ready, on a December day: fresh heartbeats of worker and beat, next year's arrangement loaded."""
    time_machine.move_to(DECEMBER, tick=False)
    worker_heartbeat()
    beat_heartbeat()
    CalendarYear.objects.update_or_create(year=NEXT_YEAR, defaults={"official": True})
    return time_machine


@pytest.fixture
def unreachable_broker() -> Iterator[None]:
    """Celery's broker pointed at a port where nothing listens (the URL names a host: never shown)."""
    original = celery_app.conf.broker_url
    celery_app.conf.update(broker_url="redis://127.0.0.1:1/0")
    try:
        yield
    finally:
        celery_app.conf.update(broker_url=original)


def not_ready(url: str = READY_URL) -> dict[str, Any]:
    body = get(url, 503)
    assert body["status"] == "not_ready"
    assert body["failing"] == [name for name, component in body["components"].items() if not component["ok"]]
    return body


# --- Liveness ------------------------------------------------------------------------------


def test_live_answers_ok_without_touching_the_database_or_the_broker(
    django_assert_num_queries: Any, unreachable_broker: None
) -> None:
    with (
        django_assert_num_queries(0),
        mock.patch.object(celery_app, "connection_for_write", side_effect=AssertionError("broker touched")),
    ):
        assert get(LIVE_URL, 200) == {"status": "ok"}


def test_live_answers_ok_while_the_database_is_down() -> None:
    with mock.patch.object(connection, "cursor", side_effect=OperationalError(f"could not connect to {SECRET_HOST}")):
        assert get(LIVE_URL, 200) == {"status": "ok"}


# --- Readiness -----------------------------------------------------------------------------


def test_ready_when_every_component_is(ready: time_machine.TimeMachineFixture) -> None:
    assert get(READY_URL, 200) == {"status": "ready", "components": ALL_OK, "failing": []}


def test_heartbeats_just_under_the_threshold_are_fresh(ready: time_machine.TimeMachineFixture) -> None:
    ready.shift(dt.timedelta(seconds=HEARTBEAT_STALE_SECONDS - 1))
    assert get(READY_URL, 200)["status"] == "ready"


def test_not_ready_when_the_database_fails(ready: time_machine.TimeMachineFixture) -> None:
    with mock.patch.object(connection, "cursor", side_effect=OperationalError(f"could not connect to {SECRET_HOST}")):
        body = not_ready()
    # What reads the database fails with it; the broker does not need it.
    failed = {"ok": False, "detail": "error: OperationalError"}
    assert body["components"] == {
        "database": failed,
        "broker": {"ok": True},
        "worker": failed,
        "beat": failed,
        "calendar": failed,
    }
    assert body["failing"] == ["database", "worker", "beat", "calendar"]


def test_not_ready_when_the_broker_is_unreachable(
    ready: time_machine.TimeMachineFixture, unreachable_broker: None
) -> None:
    body = not_ready()
    assert body["failing"] == ["broker"]
    assert body["components"]["broker"] == {"ok": False, "detail": "error: OperationalError"}
    assert {name: body["components"][name] for name in ("database", "worker", "beat", "calendar")} == {
        name: {"ok": True} for name in ("database", "worker", "beat", "calendar")
    }


def test_not_ready_when_the_worker_stops(ready: time_machine.TimeMachineFixture) -> None:
    ready.shift(dt.timedelta(seconds=HEARTBEAT_STALE_SECONDS))
    beat_heartbeat()  # beat goes on scheduling; no worker runs the task
    body = not_ready()
    assert body["failing"] == ["worker"]
    assert body["components"]["worker"] == {"ok": False, "detail": f"no heartbeat for {HEARTBEAT_STALE_SECONDS} s"}


def test_not_ready_before_any_worker_has_run_the_heartbeat(ready: time_machine.TimeMachineFixture) -> None:
    WorkerHeartbeat.objects.filter(name=services.HEARTBEAT).delete()
    body = not_ready()
    assert body["failing"] == ["worker"]
    assert body["components"]["worker"] == {"ok": False, "detail": "no heartbeat yet"}


def test_not_ready_when_beat_stops(ready: time_machine.TimeMachineFixture) -> None:
    ready.shift(dt.timedelta(minutes=5, seconds=12))
    worker_heartbeat()  # as if a worker ran a task queued earlier; beat scheduled nothing new
    body = not_ready()
    assert body["failing"] == ["beat"]
    assert body["components"]["beat"] == {"ok": False, "detail": "no heartbeat for 312 s"}


def test_a_stopped_beat_leaves_both_heartbeats_stale(ready: time_machine.TimeMachineFixture) -> None:
    ready.shift(dt.timedelta(minutes=10))
    assert not_ready()["failing"] == ["worker", "beat"]


def test_not_ready_before_beat_has_ever_scheduled(ready: time_machine.TimeMachineFixture) -> None:
    WorkerHeartbeat.objects.filter(name=services.BEAT_HEARTBEAT).delete()
    body = not_ready()
    assert body["failing"] == ["beat"]
    assert body["components"]["beat"] == {"ok": False, "detail": "no heartbeat yet"}


def test_not_ready_without_next_years_arrangement_once_it_is_due(ready: time_machine.TimeMachineFixture) -> None:
    CalendarYear.objects.filter(year=NEXT_YEAR).delete()
    body = not_ready()
    assert body["failing"] == ["calendar"]
    assert body["components"]["calendar"] == {
        "ok": False,
        "detail": f"no official holiday arrangement for {NEXT_YEAR}",
    }


def test_next_years_arrangement_is_not_needed_before_it_is_due(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(NOON, tick=False)  # March 2026: 2027's arrangement is not published yet
    worker_heartbeat()
    beat_heartbeat()
    assert not CalendarYear.objects.filter(year=2027, official=True).exists()
    assert get(READY_URL, 200) == {"status": "ready", "components": ALL_OK, "failing": []}


def test_not_ready_without_this_years_arrangement(ready: time_machine.TimeMachineFixture) -> None:
    CalendarYear.objects.filter(year=2026).update(official=False)
    body = not_ready()
    assert body["components"]["calendar"] == {"ok": False, "detail": "no official holiday arrangement for 2026"}


def test_every_component_failing_at_once(unreachable_broker: None) -> None:
    WorkerHeartbeat.objects.all().delete()
    CalendarYear.objects.all().update(official=False)
    with mock.patch.object(connection, "cursor", side_effect=OperationalError(SECRET_HOST)):
        body = not_ready()
    assert body["failing"] == ["database", "broker", "worker", "beat", "calendar"]


def test_ready_needs_no_sign_in_even_with_a_bad_token(ready: time_machine.TimeMachineFixture) -> None:
    response = APIClient().get(READY_URL, HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 200


# --- The older health answer -----------------------------------------------------------------


def test_health_keeps_its_fields_and_answers_200_when_ready(ready: time_machine.TimeMachineFixture) -> None:
    body = get(HEALTH_URL, 200)
    assert body == {
        "database": True,
        "worker_heartbeat_age_seconds": 0.0,
        "worker_alive": True,
        "calendar": {
            "current_year": 2026,
            "current_year_official": True,
            "next_year_official": True,
            "years_missing": [],
        },
        "status": "ready",
        "components": ALL_OK,
        "failing": [],
    }


def test_health_without_any_heartbeat_is_503() -> None:
    body = not_ready(HEALTH_URL)
    assert (body["database"], body["worker_heartbeat_age_seconds"], body["worker_alive"]) == (True, None, False)
    assert {"worker", "beat"} <= set(body["failing"])


def test_health_after_a_heartbeat_and_ten_minutes_later(ready: time_machine.TimeMachineFixture) -> None:
    record_heartbeat.apply()
    fresh = get(HEALTH_URL, 200)
    assert (fresh["worker_heartbeat_age_seconds"], fresh["worker_alive"]) == (0.0, True)

    ready.shift(dt.timedelta(minutes=10))
    stale = not_ready(HEALTH_URL)
    assert (stale["worker_heartbeat_age_seconds"], stale["worker_alive"]) == (600.0, False)
    assert stale["failing"] == ["worker", "beat"]


@pytest.mark.parametrize(
    ("age_seconds", "alive"),
    [(HEARTBEAT_STALE_SECONDS - 1, True), (HEARTBEAT_STALE_SECONDS, False)],
)
def test_worker_alive_boundary(ready: time_machine.TimeMachineFixture, age_seconds: int, alive: bool) -> None:
    ready.shift(dt.timedelta(seconds=age_seconds))
    beat_heartbeat()
    body = get(HEALTH_URL, 200 if alive else 503)
    assert body["worker_heartbeat_age_seconds"] == float(age_seconds)
    assert body["worker_alive"] is alive
    assert body["components"]["worker"]["ok"] is alive


def test_health_while_the_database_is_down_says_so(ready: time_machine.TimeMachineFixture) -> None:
    with mock.patch.object(connection, "cursor", side_effect=OperationalError(SECRET_HOST)):
        body = not_ready(HEALTH_URL)
    assert (body["database"], body["worker_heartbeat_age_seconds"], body["worker_alive"], body["calendar"]) == (
        False,
        None,
        False,
        None,
    )


def test_health_needs_no_sign_in_even_with_a_bad_token(ready: time_machine.TimeMachineFixture) -> None:
    response = APIClient().get(HEALTH_URL, HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 200
    assert response.json()["database"] is True


@pytest.mark.parametrize("path", ["/api/v1/health/", "/api/v1/health/live/", "/api/v1/health/ready/", "/api/v1/ping/"])
def test_probes_speak_plain_http_under_the_https_redirect(db: None, settings: Any, path: str) -> None:
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get(path)
    assert response.status_code in (200, 503), (path, response.status_code)
    assert Client().get("/api/v1/cases/").status_code == 301  # everything else goes to https
