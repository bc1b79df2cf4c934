"""Service-level endpoints: a trivial ping and a health check."""

from __future__ import annotations

from typing import Any

from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows.calendar_services import calendar_health
from workflows.services import heartbeat_age_seconds

# Beat schedules the heartbeat every minute; three missed beats mean workers are down.
HEARTBEAT_STALE_SECONDS = 180


class PingView(APIView):
    """The cheapest possible DRF endpoint: the baseline for benchmarks and load balancers."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: inline_serializer("Pong", {"pong": serializers.BooleanField()})}, auth=[])
    def get(self, request: Request) -> Response:
        return Response({"pong": True})


class HealthView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer(
                "Health",
                {
                    "database": serializers.BooleanField(),
                    "worker_heartbeat_age_seconds": serializers.FloatField(allow_null=True),
                    "worker_alive": serializers.BooleanField(),
                    "calendar": inline_serializer(
                        "HealthCalendar",
                        {
                            "current_year": serializers.IntegerField(),
                            "current_year_official": serializers.BooleanField(
                                help_text="This year's official holiday arrangement is loaded."
                            ),
                            "next_year_official": serializers.BooleanField(
                                help_text="Next year's official holiday arrangement is loaded."
                            ),
                            "years_missing": serializers.ListField(
                                child=serializers.IntegerField(),
                                help_text="Of this year and the next, those whose arrangement is not loaded: "
                                "working time in them is computed on statutory holidays only (provisional).",
                            ),
                        },
                    ),
                },
            )
        },
        auth=[],
    )
    def get(self, request: Request) -> Response:
        """Database reachable, how long ago a Celery worker last reported in, and which holiday arrangements
        are missing from the working calendar (informational: a missing year does not make the service unhealthy).
        """
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        age = heartbeat_age_seconds()
        return Response(
            {
                "database": True,
                "worker_heartbeat_age_seconds": age,
                "worker_alive": age is not None and age < HEARTBEAT_STALE_SECONDS,
                "calendar": calendar_health(),
            }
        )
