"""Serializers for the staff case API: input shapes and the representations staff see."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from agency.accounts.models import User
from agency.organisations.models import Shop
from cases import transitions as case_transitions
from cases.models import (
    Case,
    CaseEvent,
    CaseState,
    FlaggedOrder,
    GoodsType,
    Outcome,
    Restriction,
    Severity,
    ViolationType,
)


class UserRefSerializer(serializers.ModelSerializer[User]):
    name = serializers.CharField(source="label", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name", "role"]


class ShopRefSerializer(serializers.ModelSerializer[Shop]):
    class Meta:
        model = Shop
        fields = ["id", "name", "platform", "platform_shop_id"]


class OrganisationRefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class FlaggedOrderSerializer(serializers.ModelSerializer[FlaggedOrder]):
    class Meta:
        model = FlaggedOrder
        fields = [
            "id",
            "platform_order_id",
            "order_time",
            "amount",
            "currency",
            "buyer_handle",
            "goods_type",
            "courier",
            "tracking_number",
            "created_at",
        ]
        read_only_fields = fields


class FlaggedOrderInputSerializer(serializers.Serializer[dict[str, Any]]):
    platform_order_id = serializers.CharField(max_length=64)
    order_time = serializers.DateTimeField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal(0))
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, default="CNY")
    buyer_handle = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    goods_type = serializers.ChoiceField(choices=GoodsType.choices, required=False, default=GoodsType.PHYSICAL)
    courier = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class FlaggedOrderBulkSerializer(serializers.Serializer[dict[str, Any]]):
    orders = FlaggedOrderInputSerializer(many=True, allow_empty=False)


class CaseListSerializer(serializers.ModelSerializer[Case]):
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    organisation = OrganisationRefSerializer(read_only=True)
    shop = ShopRefSerializer(read_only=True)
    assignee = UserRefSerializer(read_only=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "state",
            "state_display",
            "organisation",
            "shop",
            "violation_type",
            "severity",
            "notice_received_at",
            "appeal_deadline",
            "penalty_points",
            "assignee",
            "flagged_order_count",
            "appeal_attempts_used",
            "appeal_attempt_limit",
            "outcome",
            "state_changed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CaseDetailSerializer(CaseListSerializer):
    created_by = UserRefSerializer(read_only=True)

    class Meta(CaseListSerializer.Meta):
        fields = [
            *CaseListSerializer.Meta.fields,
            "notice_period_start",
            "notice_period_end",
            "restrictions",
            "restrictions_note",
            "closing_reason",
            "created_by",
        ]
        read_only_fields = fields


class CaseDetailsInputSerializer(serializers.Serializer[dict[str, Any]]):
    """The notice's details, shared by create (intake) and update (intake, assessment)."""

    shop = serializers.PrimaryKeyRelatedField(queryset=Shop.objects.all())
    violation_type = serializers.ChoiceField(choices=ViolationType.choices)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    notice_received_at = serializers.DateTimeField()
    notice_period_start = serializers.DateTimeField(required=False, allow_null=True)
    notice_period_end = serializers.DateTimeField(required=False, allow_null=True)
    penalty_points = serializers.IntegerField(min_value=0, max_value=1000, required=False)
    restrictions = serializers.ListField(
        child=serializers.ChoiceField(choices=Restriction.choices), required=False, max_length=len(Restriction)
    )
    restrictions_note = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    appeal_deadline = serializers.DateTimeField(required=False, allow_null=True)

    def validate_restrictions(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class CaseCreateSerializer(CaseDetailsInputSerializer):
    flagged_orders = FlaggedOrderInputSerializer(many=True, required=False)


class TransitionInputSerializer(serializers.Serializer[dict[str, Any]]):
    transition = serializers.CharField()
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False, allow_blank=True, default="")
    expected_state = serializers.ChoiceField(
        choices=CaseState.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="If given, the transition is refused with 409 unless the case is still in this state.",
    )

    def validate_transition(self, value: str) -> str:
        if value not in case_transitions.names():
            raise serializers.ValidationError(
                _("Unknown transition. Known transitions: %(names)s.") % {"names": ", ".join(case_transitions.names())}
            )
        return value


class UnmetConditionSerializer(serializers.Serializer[dict[str, str]]):
    code = serializers.CharField()
    message = serializers.CharField()


class AvailableTransitionSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    target = serializers.CharField()
    requires = serializers.ListField(child=serializers.CharField())
    unmet_conditions = UnmetConditionSerializer(many=True)


class AssignInputSerializer(serializers.Serializer[dict[str, Any]]):
    assignee = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class CaseEventSerializer(serializers.ModelSerializer[CaseEvent]):
    actor = UserRefSerializer(read_only=True)

    class Meta:
        model = CaseEvent
        fields = ["id", "kind", "actor", "old_value", "new_value", "reason", "client_visible", "created_at"]
        read_only_fields = fields
