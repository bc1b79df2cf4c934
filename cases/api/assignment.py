"""Staff endpoint for the workload view: open work per assignable staff member."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agency.api.fields import DateTimeField
from agency.api.permissions import IsAgencyStaff, current_user
from casework import assignment


class WorkloadRowSerializer(serializers.Serializer[dict[str, Any]]):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    role = serializers.CharField()
    team = serializers.CharField(allow_null=True, help_text="The team's name.")
    is_away = serializers.BooleanField()
    platform_skills = serializers.ListField(child=serializers.CharField())
    open_cases = serializers.IntegerField(help_text="Assigned cases in an open state.")
    open_orders = serializers.IntegerField(
        help_text="Flagged orders of those cases still in the appeal (not excluded) and not yet cleared."
    )
    deadlines_this_week = serializers.IntegerField(
        help_text="Open deadlines of their open cases due from now to seven days from now."
    )
    overdue = serializers.IntegerField(
        help_text="Deadlines of their open cases that are overdue: open and past due, or missed and not made good."
    )
    work = serializers.IntegerField(
        help_text="case weight x open cases + order weight x open orders: the score automatic assignment compares."
    )


class WorkloadSerializer(serializers.Serializer[dict[str, Any]]):
    now = DateTimeField()
    week_ends_at = DateTimeField()
    case_weight = serializers.IntegerField()
    order_weight = serializers.IntegerField()
    results = WorkloadRowSerializer(many=True)


class WorkloadView(APIView):
    permission_classes = [IsAgencyStaff]

    @extend_schema(responses={200: WorkloadSerializer})
    def get(self, request: Request) -> Response:
        """Open cases, open flagged orders, deadlines this week and overdue items per staff member.

        Supervisors and administrators see every case manager and supervisor; a case
        manager sees their own team (only themselves without a team); other roles get 403.
        Not paginated: one row per person, computed in one query.
        """
        now = timezone.now()
        rows = assignment.workload_for(actor=current_user(request), now=now)
        return Response(
            WorkloadSerializer(
                {
                    "now": now,
                    "week_ends_at": now + assignment.WEEK,
                    "case_weight": settings.ASSIGNMENT_CASE_WEIGHT,
                    "order_weight": settings.ASSIGNMENT_ORDER_WEIGHT,
                    "results": rows,
                }
            ).data
        )
