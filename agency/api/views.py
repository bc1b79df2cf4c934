"""Service-level endpoints: a trivial ping, liveness, readiness and the older health check.

Liveness (``health/live/``) answers as long as the process can answer: it touches neither
the database nor the broker, so a container is restarted only when it is stuck, never
because something it depends on is down. Readiness (``health/ready/``) checks each
component the service needs and answers 503 naming the ones that fail. ``health/`` is the
older answer: its fields as before, with readiness's status, components and failures added.

Beat and the worker are each seen through a heartbeat: beat schedules
``workflows.record_heartbeat`` every minute and, once the broker has it, records its own
mark ("beat"); the worker that runs the task records the worker's ("celery"). A stopped
beat leaves both stale (nothing is scheduled, so nothing runs); a stopped worker only its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agency.celery import app as celery_app
from workflows import services
from workflows.calendar import business_time_zone
from workflows.calendar_services import calendar_health, missing_notice_from

# Beat schedules the heartbeat every minute; three missed beats mean beat or the workers are down.
HEARTBEAT_STALE_SECONDS = 180
# How long readiness waits for the broker to accept a connection.
BROKER_TIMEOUT_SECONDS = 2

COMPONENTS = ("database", "broker", "worker", "beat", "calendar")

Component = dict[str, Any]


def _ok() -> Component:
    return {"ok": True}


def _failed(detail: str) -> Component:
    return {"ok": False, "detail": detail}


def _error(exc: BaseException) -> Component:
    """A failure named by its exception's class only: its text may name hosts or credentials."""
    return _failed(f"error: {type(exc).__name__}")


def _database() -> Component:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return _ok()


def _broker() -> Component:
    with celery_app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)
    return _ok()


def _heartbeat(name: str, now: dt.datetime) -> Component:
    age = services.heartbeat_age_seconds(name=name, now=now)
    if age is None:
        return _failed("no heartbeat yet")
    if age >= HEARTBEAT_STALE_SECONDS:
        return _failed(f"no heartbeat for {int(age)} s")
    return _ok()


def _calendar(now: dt.datetime) -> Component:
    """This year's official arrangement, and next year's from the day its absence is announced.

    Next year's arrangement is published late in the year; before ``CALENDAR_MISSING_NOTICE_FROM``
    (1 November) its absence is expected, and the service is not less ready for it.
    """
    health = calendar_health(now=now)
    year = health["current_year"]
    needed = [year]
    if now.astimezone(business_time_zone()).date() >= missing_notice_from(year):
        needed.append(year + 1)
    missing = [each for each in needed if each in health["years_missing"]]
    if missing:
        return _failed("no official holiday arrangement for " + ", ".join(str(each) for each in missing))
    return _ok()


def readiness(now: dt.datetime | None = None) -> dict[str, Any]:
    """Every component's state; ``status`` is "ready" only when none fails."""
    now = now or timezone.now()
    checks: dict[str, Callable[[], Component]] = {
        "database": _database,
        "broker": _broker,
        "worker": lambda: _heartbeat(services.HEARTBEAT, now),
        "beat": lambda: _heartbeat(services.BEAT_HEARTBEAT, now),
        "calendar": lambda: _calendar(now),
    }
    components: dict[str, Component] = {}
    for name, check in checks.items():
        try:
            components[name] = check()
        except Exception as exc:  # any failure is that component's state, never a 500
            components[name] = _error(exc)
    failing = [name for name, component in components.items() if not component["ok"]]
    return {"status": "not_ready" if failing else "ready", "components": components, "failing": failing}


class HealthComponentSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    detail = serializers.CharField(
        required=False, help_text="Why the component fails (absent when it is fine); never a hostname or an error text."
    )


class HealthComponentsSerializer(serializers.Serializer):
    database = HealthComponentSerializer(help_text="A trivial query.")
    broker = HealthComponentSerializer(help_text="A connection to Celery's broker.")
    worker = HealthComponentSerializer(
        help_text=f"A worker ran the heartbeat task less than {HEARTBEAT_STALE_SECONDS} s ago."
    )
    beat = HealthComponentSerializer(
        help_text=f"Beat handed the heartbeat task to the broker less than {HEARTBEAT_STALE_SECONDS} s ago."
    )
    calendar = HealthComponentSerializer(
        help_text="This year's official holiday arrangement is loaded, and next year's from "
        "CALENDAR_MISSING_NOTICE_FROM (1 November)."
    )


class ReadinessSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"ready" when every component is fine (200), else "not_ready" (503).')
    components = HealthComponentsSerializer()
    failing = serializers.ListField(
        child=serializers.ChoiceField(choices=list(COMPONENTS)), help_text="The components that fail, in order."
    )


class HealthCalendarSerializer(serializers.Serializer):
    current_year = serializers.IntegerField()
    current_year_official = serializers.BooleanField(help_text="This year's official holiday arrangement is loaded.")
    next_year_official = serializers.BooleanField(help_text="Next year's official holiday arrangement is loaded.")
    years_missing = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Of this year and the next, those whose arrangement is not loaded: "
        "working time in them is computed on statutory holidays only (provisional).",
    )


class HealthSerializer(ReadinessSerializer):
    database = serializers.BooleanField()
    worker_heartbeat_age_seconds = serializers.FloatField(allow_null=True)
    worker_alive = serializers.BooleanField()
    calendar = HealthCalendarSerializer(allow_null=True, help_text="Null when the database cannot be read.")


NOT_READY_EXAMPLE = OpenApiExample(
    "not ready",
    status_codes=["503"],
    response_only=True,
    value={
        "status": "not_ready",
        "components": {
            "database": {"ok": True},
            "broker": {"ok": True},
            "worker": {"ok": False, "detail": "no heartbeat for 312 s"},
            "beat": {"ok": True},
            "calendar": {"ok": True},
        },
        "failing": ["worker"],
    },
)


class _ProbeView(APIView):
    """Unauthenticated and never throttled: probes must get an answer."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []


class PingView(_ProbeView):
    """The cheapest possible DRF endpoint: the baseline for benchmarks and load balancers."""

    @extend_schema(responses={200: inline_serializer("Pong", {"pong": serializers.BooleanField()})}, auth=[])
    def get(self, request: Request) -> Response:
        return Response({"pong": True})


class LivenessView(_ProbeView):
    @extend_schema(
        responses={200: inline_serializer("Liveness", {"status": serializers.CharField(help_text='Always "ok".')})},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        """The process answers. Touches neither the database nor the broker: for a liveness probe."""
        return Response({"status": "ok"})


class ReadinessView(_ProbeView):
    @extend_schema(
        responses={200: ReadinessSerializer, 503: ReadinessSerializer}, examples=[NOT_READY_EXAMPLE], auth=[]
    )
    def get(self, request: Request) -> Response:
        """Whether every component the service needs works: 200 when all do, else 503 naming those that fail."""
        body = readiness()
        return Response(body, status=_status_of(body))


def _status_of(body: dict[str, Any]) -> int:
    return status.HTTP_200_OK if body["status"] == "ready" else status.HTTP_503_SERVICE_UNAVAILABLE


class HealthView(_ProbeView):
    @extend_schema(responses={200: HealthSerializer, 503: HealthSerializer}, auth=[])
    def get(self, request: Request) -> Response:
        """The older health answer, kept for its clients: the database, the age of the workers' last heartbeat,
        which holiday arrangements are loaded, and readiness's status, components and failures (503 when not ready,
        as ``health/ready/``).
        """
        now = timezone.now()
        body = readiness(now)
        try:
            age = services.heartbeat_age_seconds(now=now)
            calendar: dict[str, Any] | None = calendar_health(now=now)
        except Exception:  # the database cannot be read: the components say so
            age, calendar = None, None
        legacy = {
            "database": body["components"]["database"]["ok"],
            "worker_heartbeat_age_seconds": age,
            "worker_alive": age is not None and age < HEARTBEAT_STALE_SECONDS,
            "calendar": calendar,
        }
        return Response({**legacy, **body}, status=_status_of(body))
