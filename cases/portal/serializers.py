"""Client-safe representations for the portal: no internal notes, people or reasons."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agency.api.fields import DateTimeField, UnsetChoiceField
from agency.organisations.models import Platform
from cases.models import Case, CaseEvent, CaseState, Outcome, Restriction, Severity, ViolationType
from casework import timeline

_DATETIME = DateTimeField()


def restriction_labels(codes: list[str]) -> list[str]:
    """Restriction codes in words, in the active language (a code this version does not know, as it is)."""
    labels = []
    for code in codes or []:
        try:
            labels.append(str(Restriction(code).label))
        except ValueError:
            labels.append(str(code))
    return labels


class PortalShopSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    platform = serializers.CharField()
    platform_display = serializers.CharField(source="get_platform_display")


class PortalCaseSerializer(serializers.ModelSerializer[Case]):
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    violation_type_display = serializers.CharField(source="get_violation_type_display", read_only=True)
    severity_display = serializers.CharField(source="get_severity_display", read_only=True)
    outcome = UnsetChoiceField(choices=Outcome.choices, help_text="Null until the platform has decided.")
    outcome_display = serializers.CharField(source="get_outcome_display", read_only=True)
    shop = PortalShopSerializer(read_only=True)
    restrictions = serializers.ListField(
        child=serializers.ChoiceField(choices=Restriction.choices),
        read_only=True,
        help_text="The penalty's restrictions, as codes.",
    )
    restrictions_display = serializers.SerializerMethodField(
        help_text="The same restrictions in words, in the request's language, in the same order as restrictions."
    )
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
            "restrictions_display",
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

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_restrictions_display(self, case: Case) -> list[str]:
        return restriction_labels(case.restrictions)

    def to_representation(self, instance: Case) -> dict[str, Any]:
        """The same output as DRF's generic path, written out for speed.

        The portal case is the most requested read in the product, and building ~20 field
        objects per call cost several times the database query. Labels come from the
        choices enums: Django's get_FOO_display() hashes every lazy label on each call,
        which means a gettext lookup per choice. The declared fields above
        stay the documented contract; a test compares this output with DRF's own.
        """
        case, shop = instance, instance.shop
        return {
            "id": case.pk,
            "reference": case.reference,
            "state": case.state,
            "state_display": str(CaseState(case.state).label),
            "shop": {
                "name": shop.name,
                "platform": shop.platform,
                "platform_display": str(Platform(shop.platform).label),
            },
            "violation_type": case.violation_type,
            "violation_type_display": str(ViolationType(case.violation_type).label),
            "severity": case.severity,
            "severity_display": str(Severity(case.severity).label),
            "notice_received_at": _DATETIME.to_representation(case.notice_received_at),
            "penalty_points": case.penalty_points,
            "restrictions": case.restrictions,
            "restrictions_display": restriction_labels(case.restrictions),
            "appeal_deadline": _DATETIME.to_representation(case.appeal_deadline) if case.appeal_deadline else None,
            "flagged_order_count": case.flagged_order_count,
            "appeal_attempts_used": case.appeal_attempts_used,
            "outcome": case.outcome or None,
            "outcome_display": str(Outcome(case.outcome).label) if case.outcome else "",
            "can_withdraw": case.is_open,
            "state_changed_at": _DATETIME.to_representation(case.state_changed_at),
            "created_at": _DATETIME.to_representation(case.created_at),
        }


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
