"""Representations of evidence requests: the staff view, and the client's (no staff names, no internal reasons)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from agency.api.fields import DueMomentField
from cases.kinds import EvidenceKind
from evidence.models import EvidenceRequest, EvidenceRequestItem, RequestStatus


class RequestedOrderSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    platform_order_id = serializers.CharField()


class EvidenceRequestItemSerializer(serializers.ModelSerializer[EvidenceRequestItem]):
    order = RequestedOrderSerializer(allow_null=True, read_only=True, help_text="None: for the case as a whole.")
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    fulfilled = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceRequestItem
        fields = ["id", "order", "kind", "kind_display", "fulfilled", "fulfilled_by"]
        read_only_fields = fields

    def get_fulfilled(self, item: EvidenceRequestItem) -> bool:
        return item.fulfilled_by_id is not None


class PortalEvidenceRequestSerializer(serializers.ModelSerializer[EvidenceRequest]):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    items = EvidenceRequestItemSerializer(many=True, read_only=True)
    items_outstanding = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceRequest
        fields = [
            "id",
            "case",
            "status",
            "status_display",
            "message",
            "due_at",
            "created_at",
            "fulfilled_at",
            "cancelled_at",
            "items_outstanding",
            "items",
        ]
        read_only_fields = fields

    def get_items_outstanding(self, request: EvidenceRequest) -> int:
        # Counted from the prefetched items: no query per request.
        return sum(1 for item in request.items.all() if item.fulfilled_by_id is None)


class EvidenceRequestSerializer(PortalEvidenceRequestSerializer):
    created_by = serializers.CharField(source="created_by.label", read_only=True)
    cancelled_by = serializers.CharField(source="cancelled_by.label", read_only=True, allow_null=True)

    class Meta(PortalEvidenceRequestSerializer.Meta):
        fields = [*PortalEvidenceRequestSerializer.Meta.fields, "created_by", "cancelled_by", "cancellation_reason"]
        read_only_fields = fields


class RequestItemInputSerializer(serializers.Serializer[dict[str, Any]]):
    order = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    kind = serializers.ChoiceField(choices=EvidenceKind.choices)


class EvidenceRequestInputSerializer(serializers.Serializer[dict[str, Any]]):
    items = RequestItemInputSerializer(many=True, allow_empty=False)
    due_at = DueMomentField()
    message = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class CancelInputSerializer(serializers.Serializer[dict[str, Any]]):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RequestListQuerySerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.ChoiceField(choices=RequestStatus.choices, required=False)
