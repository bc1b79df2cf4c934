"""Serializers for the staff case API: input shapes and the representations staff see."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agency.accounts.models import User
from agency.api.fields import DateTimeField, DueMomentField, PastMomentField, StrictBooleanField, UnsetChoiceField
from agency.organisations.models import Shop
from cases.kinds import EvidenceKind
from cases.models import (
    Case,
    CaseEvent,
    CaseState,
    FlaggedOrder,
    GoodsType,
    Outcome,
    PlatformRuleProfile,
    Restriction,
    Severity,
    ViolationType,
)
from cases.reasons import ReasonCode, event_reason, reason_code_or_none
from casework import transitions as case_transitions
from evidence.rules import chat_evidence_status, evidence_summary
from evidence.selectors import check_counts


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
            "excluded",
            "excluded_at",
            "exclusion_reason",
        ]
        read_only_fields = fields

    excluded = serializers.SerializerMethodField()

    def get_excluded(self, order: FlaggedOrder) -> bool:
        return order.excluded_at is not None


class OrderEvidenceStatusSerializer(serializers.Serializer[dict[str, Any]]):
    complete = serializers.BooleanField(help_text="In the appeal, with accepted evidence of every required kind.")
    required_kinds = serializers.ListField(child=serializers.ChoiceField(choices=EvidenceKind.choices))
    accepted_kinds = serializers.ListField(child=serializers.ChoiceField(choices=EvidenceKind.choices))
    pending_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=EvidenceKind.choices), help_text="Uploaded, waiting for review."
    )
    missing_kinds = serializers.ListField(child=serializers.ChoiceField(choices=EvidenceKind.choices))
    chat_evidence_deadline = DateTimeField(
        help_text="Order time plus the profile's chat look-back: after it the chat log can no longer be pulled."
    )


class FlaggedOrderWithEvidenceSerializer(FlaggedOrderSerializer):
    """An order in the staff order list, with where its evidence stands (statuses in the context)."""

    class Meta(FlaggedOrderSerializer.Meta):
        fields = [*FlaggedOrderSerializer.Meta.fields, "evidence"]
        read_only_fields = fields

    evidence = serializers.SerializerMethodField()

    @extend_schema_field(OrderEvidenceStatusSerializer)
    def get_evidence(self, order: FlaggedOrder) -> dict[str, Any]:
        return OrderEvidenceStatusSerializer(self.context["statuses"][order.pk]).data


class OrderListQuerySerializer(serializers.Serializer[dict[str, Any]]):
    excluded = serializers.BooleanField(required=False, allow_null=True, default=None)
    complete = serializers.BooleanField(required=False, allow_null=True, default=None)
    missing_kind = serializers.ChoiceField(choices=EvidenceKind.choices, required=False)
    chat_evidence_due_within = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=366,
        help_text=(
            "Days: orders whose chat evidence is still missing and can be pulled for at most this many "
            "more days, most urgent first."
        ),
    )


class ExclusionInputSerializer(serializers.Serializer[dict[str, Any]]):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class FlaggedOrderInputSerializer(serializers.Serializer[dict[str, Any]]):
    platform_order_id = serializers.CharField(max_length=64)
    order_time = PastMomentField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal(0))
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, default="CNY")
    buyer_handle = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    goods_type = serializers.ChoiceField(choices=GoodsType.choices, required=False, default=GoodsType.PHYSICAL)
    courier = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class FlaggedOrderUpdateSerializer(serializers.Serializer[dict[str, Any]]):
    """What the merchant supplied about an order, corrected; the notice's order id, time and amount cannot be."""

    courier = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    buyer_handle = serializers.CharField(max_length=150, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A field that cannot be changed is refused by name, not silently ignored.
        fixed = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if fixed:
            raise serializers.ValidationError({name: [_("This field cannot be changed.")] for name in fixed})
        return attrs


class FlaggedOrderBulkSerializer(serializers.Serializer[dict[str, Any]]):
    orders = FlaggedOrderInputSerializer(many=True, allow_empty=False)


# Documented as a reference to the GoodsTypeEnum that the order serializers produce: the
# same choices under the field's own name would give the schema a second, redundant enum.
@extend_schema_field({"allOf": [{"$ref": "#/components/schemas/GoodsTypeEnum"}], "default": GoodsType.PHYSICAL})
class DefaultGoodsTypeField(serializers.ChoiceField):
    pass


class FlaggedOrderImportInputSerializer(serializers.Serializer[dict[str, Any]]):
    """Multipart form of an import; the file's content is checked by casework.importing."""

    # An empty file gets the importer's own message, the same as a file with no rows.
    file = serializers.FileField(allow_empty_file=True, help_text="The platform's export: CSV (UTF-8 or GBK) or XLSX.")
    mapping = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text='JSON object: file column header → field name, or null to ignore the column. Example: {"单号": '
        '"platform_order_id", "备注": null}. Overrides the headers the importer recognises by itself.',
    )
    default_goods_type = DefaultGoodsTypeField(choices=GoodsType.choices, default=GoodsType.PHYSICAL)
    default_currency = serializers.RegexField(r"^[A-Z]{3}$", default="CNY")
    dry_run = StrictBooleanField(default=False, help_text="Check the file and answer 200 without importing.")

    def validate_mapping(self, value: str) -> dict[str, str | None] | None:
        if not value.strip():
            return None
        try:
            mapping = json.loads(value)
        except ValueError as exc:
            raise serializers.ValidationError(_("Not valid JSON.")) from exc
        if not isinstance(mapping, dict) or not all(
            isinstance(target, str | None) and isinstance(header, str) for header, target in mapping.items()
        ):
            raise serializers.ValidationError(_("Send a JSON object of file column to field name (or null)."))
        return mapping


class FlaggedOrderImportResultSerializer(serializers.Serializer[Any]):
    imported = serializers.IntegerField(help_text="Orders imported, or in a dry run the orders that would be.")
    dry_run = serializers.BooleanField()
    columns = serializers.DictField(child=serializers.CharField(), help_text="File column → field it was read into.")
    ignored_columns = serializers.ListField(child=serializers.CharField())
    file_name = serializers.CharField()
    sha256 = serializers.CharField()


class CaseListSerializer(serializers.ModelSerializer[Case]):
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    organisation = OrganisationRefSerializer(read_only=True)
    shop = ShopRefSerializer(read_only=True)
    assignee = UserRefSerializer(read_only=True, allow_null=True)
    outcome = UnsetChoiceField(choices=Outcome.choices, help_text="Null until an outcome is recorded.")

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
            "external_reference",
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


class ChatEvidenceStatusSerializer(serializers.Serializer[dict[str, Any]]):
    lookback_days = serializers.IntegerField()
    next_deadline = DateTimeField(
        allow_null=True, help_text="The earliest chat-evidence deadline still ahead among orders without chat evidence."
    )
    orders_missing = serializers.IntegerField(help_text="Orders without chat evidence whose deadline is still ahead.")
    orders_past_deadline = serializers.IntegerField(help_text="Orders without chat evidence past their deadline.")


class CaseCheckCountsSerializer(serializers.Serializer[dict[str, int]]):
    """Where the checks of the case's active items stand (evidence.selectors.check_counts)."""

    orders_contradicted = serializers.IntegerField(
        help_text="Orders with at least one active item whose check found it contradicts the order."
    )
    items_mismatch = serializers.IntegerField(help_text="Active items that contradict their order.")
    items_unreadable = serializers.IntegerField(help_text="Active items whose file could not be read.")
    items_not_found = serializers.IntegerField(help_text="Active items in which the order's details were not found.")
    items_match = serializers.IntegerField(help_text="Active items whose checks match their order.")
    items_unchecked = serializers.IntegerField(
        help_text="Active items no check applies to (case-level items, kinds without a rule)."
    )
    items_pending = serializers.IntegerField(help_text="Active items waiting to be checked (or checked again).")


class CaseEvidenceSerializer(serializers.Serializer[dict[str, Any]]):
    orders_total = serializers.IntegerField()
    orders_complete = serializers.IntegerField()
    orders_incomplete = serializers.IntegerField()
    orders_excluded = serializers.IntegerField()
    missing_by_kind = serializers.DictField(
        child=serializers.IntegerField(), help_text="Evidence kind -> how many orders in the appeal lack it."
    )
    chat_evidence = ChatEvidenceStatusSerializer()
    checks = CaseCheckCountsSerializer()


class RuleProfileRefSerializer(serializers.ModelSerializer[PlatformRuleProfile]):
    class Meta:
        model = PlatformRuleProfile
        fields = ["id", "platform", "violation_type", "attempt_limit", "chat_lookback_days", "required_evidence"]
        read_only_fields = fields


class CaseDetailSerializer(CaseListSerializer):
    created_by = UserRefSerializer(read_only=True)
    rule_profile = RuleProfileRefSerializer(read_only=True)
    evidence = serializers.SerializerMethodField()

    class Meta(CaseListSerializer.Meta):
        fields = [
            *CaseListSerializer.Meta.fields,
            "notice_period_start",
            "notice_period_end",
            "restrictions",
            "restrictions_note",
            "closing_reason",
            "created_by",
            "rule_profile",
            "evidence",
        ]
        read_only_fields = fields

    @extend_schema_field(CaseEvidenceSerializer)
    def get_evidence(self, case: Case) -> dict[str, Any]:
        # A transition that read the evidence hands it over (casework.transitions).
        snapshot = getattr(case, "evidence_read", None)
        summary = (snapshot.summary if snapshot is not None else evidence_summary(case)).as_dict()
        summary["chat_evidence"] = chat_evidence_status(case)
        summary["checks"] = check_counts(case=case)
        return CaseEvidenceSerializer(summary).data


class CaseDetailsInputSerializer(serializers.Serializer[dict[str, Any]]):
    """The notice's details, shared by create (intake) and update (intake, assessment)."""

    shop = serializers.PrimaryKeyRelatedField(queryset=Shop.objects.all())
    violation_type = serializers.ChoiceField(choices=ViolationType.choices)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    notice_received_at = PastMomentField()
    notice_period_start = PastMomentField(required=False, allow_null=True)
    notice_period_end = PastMomentField(required=False, allow_null=True)
    penalty_points = serializers.IntegerField(min_value=0, max_value=1000, required=False)
    restrictions = serializers.ListField(
        child=serializers.ChoiceField(choices=Restriction.choices), required=False, max_length=len(Restriction)
    )
    restrictions_note = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    appeal_deadline = DueMomentField(required=False, allow_null=True)

    def validate_restrictions(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class CaseCreateSerializer(CaseDetailsInputSerializer):
    flagged_orders = FlaggedOrderInputSerializer(many=True, required=False)
    external_reference = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="The caller's own reference for the case (unique within the organisation); "
        "find the case again with ?external_reference=.",
    )


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


class UnmetConditionSerializer(serializers.Serializer[dict[str, Any]]):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField(required=False, help_text="Specifics, for example the orders and kinds missing.")


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
    reason = serializers.SerializerMethodField(
        help_text="Why, in the request's language: the system's reason worded from reason_code and "
        "reason_params, or what a person typed, as typed. Empty when none was given."
    )
    reason_code = serializers.SerializerMethodField(
        help_text="The system's reason as a stable code; null when a person typed the reason (or none was given)."
    )
    reason_params = serializers.SerializerMethodField(
        help_text="The values reason_code is worded with (numbers, ISO dates, choice codes); null with no code."
    )

    class Meta:
        model = CaseEvent
        fields = [
            "id",
            "kind",
            "actor",
            "old_value",
            "new_value",
            "reason",
            "reason_code",
            "reason_params",
            "client_visible",
            "created_at",
        ]
        read_only_fields = fields

    def get_reason(self, event: CaseEvent) -> str:
        return event_reason(event)

    @extend_schema_field(serializers.ChoiceField(choices=ReasonCode.choices, allow_null=True))
    def get_reason_code(self, event: CaseEvent) -> str | None:
        return reason_code_or_none(event.reason_code)

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_reason_params(self, event: CaseEvent) -> dict[str, Any] | None:
        return event.reason_params if event.reason_code else None
