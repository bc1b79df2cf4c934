"""The service-level endpoints (``agency.api.views``): the health check, which reads the worker heartbeat."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from agency.api.views import HEARTBEAT_STALE_SECONDS
from tests.workflows.test_tasks import NOON
from workflows.tasks import record_heartbeat

HEALTH_URL = "/api/v1/health/"

pytestmark = pytest.mark.django_db


def health() -> dict[str, object]:
    """The health answer without its calendar part (tests/workflows/test_calendar_provisional.py checks that)."""
    response = APIClient().get(HEALTH_URL)
    assert response.status_code == 200, response.content
    body: dict[str, object] = response.json()
    assert "calendar" in body
    return {key: value for key, value in body.items() if key != "calendar"}


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
