"""Client portal: the outcome of the client's appeal, per attempt and per order, without the agency's notes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agency.api.fields import DateTimeField
from agency.api.permissions import IsClientUser, current_user
from cases import selectors
from cases.models import FlaggedOrder
from casework import appeals


class PortalAttemptSerializer(serializers.Serializer[dict[str, Any]]):
    """An attempt as the client sees it: the platform's reference is the client's own appeal's."""

    number = serializers.IntegerField()
    platform_reference = serializers.CharField()
    submitted_at = DateTimeField()
    decided_at = DateTimeField(allow_null=True)
    outcome = serializers.CharField()
    orders_cleared = serializers.IntegerField()
    orders_upheld = serializers.IntegerField()
    points_restored = serializers.IntegerField()


class PortalOrderResultSerializer(serializers.ModelSerializer[FlaggedOrder]):
    result = serializers.SerializerMethodField(help_text="cleared, upheld, or pending (not decided yet).")

    class Meta:
        model = FlaggedOrder
        fields = ["platform_order_id", "result", "points_restored"]
        read_only_fields = fields

    def get_result(self, order: FlaggedOrder) -> str:
        return order.outcome or appeals.PENDING


class PortalOutcomeSerializer(serializers.Serializer[dict[str, Any]]):
    outcome = serializers.CharField(help_text="accepted, partially_accepted or rejected; blank while undecided.")
    outcome_at = DateTimeField(allow_null=True)
    penalty_points = serializers.IntegerField()
    orders_cleared = serializers.IntegerField()
    orders_upheld = serializers.IntegerField()
    orders_pending = serializers.IntegerField()
    points_restored = serializers.IntegerField()
    attempts = PortalAttemptSerializer(many=True)
    orders = PortalOrderResultSerializer(many=True)


# Only these keys of the staff summary reach the client.
PORTAL_KEYS = (
    "outcome",
    "outcome_at",
    "penalty_points",
    "orders_cleared",
    "orders_upheld",
    "orders_pending",
    "points_restored",
    "attempts",
)


@extend_schema(tags=["portal"])
class PortalCaseOutcomeView(APIView):
    """The platform's decision on the client's case: totals, each attempt, and each order's result.

    No staff names and no internal notes: the per-order note and the attempt's outcome
    note are the agency's. A case of another organisation answers 404.
    """

    permission_classes = [IsClientUser]

    @extend_schema(responses={200: PortalOutcomeSerializer})
    def get(self, request: Request, case_id: int) -> Response:
        case = selectors.portal_case_get(user=current_user(request), case_id=case_id)
        summary = appeals.outcome_summary(case=case)
        body = {key: summary[key] for key in PORTAL_KEYS}
        body["orders"] = appeals.outcome_orders(case=case)
        return Response(PortalOutcomeSerializer(body).data)
