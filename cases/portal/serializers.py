"""Client-safe representations for the portal: no internal notes, people or reasons."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from cases import timeline
from cases.models import Case, CaseEvent


class PortalShopSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    platform = serializers.CharField()
    platform_display = serializers.CharField(source="get_platform_display")


class PortalCaseSerializer(serializers.ModelSerializer[Case]):
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    violation_type_display = serializers.CharField(source="get_violation_type_display", read_only=True)
    severity_display = serializers.CharField(source="get_severity_display", read_only=True)
    outcome_display = serializers.CharField(source="get_outcome_display", read_only=True)
    shop = PortalShopSerializer(read_only=True)
    flagged_order_count = serializers.IntegerField(read_only=True)
    can_withdraw = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "state",
            "state_display",
            "shop",
            "violation_type",
            "violation_type_display",
            "severity",
            "severity_display",
            "notice_received_at",
            "penalty_points",
            "restrictions",
            "appeal_deadline",
            "flagged_order_count",
            "appeal_attempts_used",
            "outcome",
            "outcome_display",
            "can_withdraw",
            "state_changed_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_can_withdraw(self, case: Case) -> bool:
        return case.is_open


class TimelineEntrySerializer(serializers.ModelSerializer[CaseEvent]):
    text = serializers.SerializerMethodField()

    class Meta:
        model = CaseEvent
        fields = ["id", "kind", "text", "created_at"]
        read_only_fields = fields

    def get_text(self, event: CaseEvent) -> str:
        return timeline.describe(event)


class WithdrawInputSerializer(serializers.Serializer[dict[str, Any]]):
    reason = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")
    expected_state = serializers.CharField(required=False, allow_blank=True, default="")
