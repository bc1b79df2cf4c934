"""Staff endpoints for appeal attempts, the platform's supplement requests and the outcome per order."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agency.api.fields import DateTimeField, DueMomentField, PastMomentField
from agency.api.permissions import IsAgencyStaff, current_user
from agency.api.schema import CONFLICT_RESPONSES, TRANSITION_RESPONSES
from cases.api.serializers import UserRefSerializer
from cases.models import (
    AppealAttempt,
    OrderOutcome,
    OrderResult,
    Outcome,
    SupplementRequest,
    SupplementResponse,
)
from cases.selectors import case_for_actor
from casework import appeals, services

# --- Output ---------------------------------------------------------------------------------


class SupplementResponseSerializer(serializers.ModelSerializer[SupplementResponse]):
    responded_by = UserRefSerializer(read_only=True)
    manifest = serializers.ListField(child=serializers.DictField(), read_only=True)

    class Meta:
        model = SupplementResponse
        fields = ["id", "responded_at", "responded_by", "summary", "manifest"]
        read_only_fields = fields


class SupplementRequestSerializer(serializers.ModelSerializer[SupplementRequest]):
    attempt = serializers.IntegerField(source="attempt.number", read_only=True)
    created_by = UserRefSerializer(read_only=True)
    # A plain string in the schema: "status" enums of other models would collide with its name.
    status = serializers.CharField(read_only=True, help_text="open, answered or cancelled.")
    deadline = serializers.IntegerField(source="deadline_id", read_only=True, allow_null=True)
    deadline_status = serializers.CharField(source="deadline.status", read_only=True, allow_null=True, default=None)
    responses = SupplementResponseSerializer(many=True, read_only=True)

    class Meta:
        model = SupplementRequest
        fields = [
            "id",
            "attempt",
            "received_at",
            "description",
            "due_at",
            "platform_reference",
            "status",
            "deadline",
            "deadline_status",
            "created_by",
            "created_at",
            "responses",
        ]
        read_only_fields = fields


class AttemptSupplementSerializer(SupplementRequestSerializer):
    """A supplement request inside its attempt (the attempt's number is the parent's)."""

    class Meta(SupplementRequestSerializer.Meta):
        fields = [name for name in SupplementRequestSerializer.Meta.fields if name != "attempt"]
        read_only_fields = fields


class AttemptSerializer(serializers.ModelSerializer[AppealAttempt]):
    submitted_by = UserRefSerializer(read_only=True)
    decided_by = UserRefSerializer(read_only=True, allow_null=True)
    manifest_items = serializers.SerializerMethodField(help_text="How many evidence items the attempt carried.")
    supplement_requests = AttemptSupplementSerializer(many=True, read_only=True)

    class Meta:
        model = AppealAttempt
        fields = [
            "number",
            "submitted_at",
            "submitted_by",
            "platform_reference",
            "manifest_items",
            "decided_at",
            "decided_by",
            "outcome",
            "orders_cleared",
            "orders_upheld",
            "points_restored",
            "outcome_note",
            "supplement_requests",
        ]
        read_only_fields = fields

    def get_manifest_items(self, attempt: AppealAttempt) -> int:
        return len(attempt.manifest or [])


class OrderOutcomeSerializer(serializers.ModelSerializer[OrderOutcome]):
    platform_order_id = serializers.CharField(source="order.platform_order_id", read_only=True)

    class Meta:
        model = OrderOutcome
        fields = ["order", "platform_order_id", "result", "points_restored", "note"]
        read_only_fields = fields


class AttemptDetailSerializer(AttemptSerializer):
    manifest = serializers.ListField(child=serializers.DictField(), read_only=True)
    order_outcomes = OrderOutcomeSerializer(many=True, read_only=True)

    class Meta(AttemptSerializer.Meta):
        fields = [*AttemptSerializer.Meta.fields, "manifest", "order_outcomes"]
        read_only_fields = fields


class AttemptSummarySerializer(serializers.Serializer[dict[str, Any]]):
    number = serializers.IntegerField()
    platform_reference = serializers.CharField()
    submitted_at = DateTimeField()
    decided_at = DateTimeField(allow_null=True)
    outcome = serializers.CharField()
    orders_cleared = serializers.IntegerField()
    orders_upheld = serializers.IntegerField()
    points_restored = serializers.IntegerField()


class OutcomeSummarySerializer(serializers.Serializer[dict[str, Any]]):
    outcome = serializers.CharField(help_text="The case's derived outcome; blank while undecided.")
    outcome_at = DateTimeField(allow_null=True)
    penalty_points = serializers.IntegerField()
    orders_cleared = serializers.IntegerField()
    orders_upheld = serializers.IntegerField(help_text="Orders whose latest decision is upheld.")
    orders_pending = serializers.IntegerField(help_text="Orders in the appeal that no attempt has decided yet.")
    orders_under_review = serializers.IntegerField(help_text="Orders the attempt in flight appeals.")
    points_restored = serializers.IntegerField()
    attempts_used = serializers.IntegerField()
    attempt_limit = serializers.IntegerField()
    attempts = AttemptSummarySerializer(many=True)


# --- Input ----------------------------------------------------------------------------------


class AttemptUpdateSerializer(serializers.Serializer[dict[str, Any]]):
    platform_reference = serializers.CharField(max_length=100, allow_blank=True)


class SupplementCreateSerializer(serializers.Serializer[dict[str, Any]]):
    # Blank is refused by the service, with the same 400 and field name.
    description = serializers.CharField(max_length=10_000, allow_blank=True, trim_whitespace=False)
    received_at = PastMomentField(
        required=False, allow_null=True, default=None, help_text="When the platform's request arrived; default now."
    )
    due_at = DueMomentField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The platform's due time; default received_at plus SUPPLEMENT_DEFAULT_HOURS (48) hours.",
    )
    platform_reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class SupplementRespondSerializer(serializers.Serializer[dict[str, Any]]):
    summary = serializers.CharField(max_length=10_000, allow_blank=True, trim_whitespace=False)
    evidence_items = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=1000,
        help_text="Ids of the case's evidence items sent with the answer.",
    )


class ReasonSerializer(serializers.Serializer[dict[str, Any]]):
    reason = serializers.CharField(max_length=5000, allow_blank=True, trim_whitespace=False)


class OrderResultInputSerializer(serializers.Serializer[dict[str, Any]]):
    order = serializers.IntegerField(required=False, min_value=1, help_text="The flagged order's id.")
    platform_order_id = serializers.CharField(
        required=False, max_length=64, help_text="Instead of order: the platform's order number."
    )
    result = serializers.ChoiceField(choices=OrderResult.choices)
    points_restored = serializers.IntegerField(required=False, min_value=0, default=0)
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class OutcomeInputSerializer(serializers.Serializer[dict[str, Any]]):
    results = OrderResultInputSerializer(
        many=True, required=False, help_text="Per order; orders not listed take default_result."
    )
    # A plain string (checked by the service) so that the schema names OrderResult once, as "result".
    default_result = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="cleared or upheld: the result of orders not listed."
    )
    outcome = serializers.ChoiceField(
        choices=Outcome.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Alone: accepted or rejected for every appealed order. With results: a cross-check.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=10_000, default="")
    expected_state = serializers.CharField(required=False, allow_blank=True, default="")


def _validated(serializer: serializers.Serializer[Any]) -> dict[str, Any]:
    """Validate; errors in a list of objects are keyed by index, as the services report theirs."""
    if not serializer.is_valid():
        errors = dict(serializer.errors)
        for name, value in errors.items():
            if isinstance(value, list) and value and all(isinstance(entry, dict) for entry in value):
                errors[name] = {str(index): entry for index, entry in enumerate(value) if entry}
            elif isinstance(value, dict) and value and all(isinstance(key, int) for key in value):
                errors[name] = {str(index): entry for index, entry in value.items()}
        raise ValidationError(errors)
    return dict(serializer.validated_data)


# --- Views ----------------------------------------------------------------------------------


class CaseAttemptsView(GenericAPIView[Any]):
    """The case's appeal attempts, first to last, each with its supplement requests and the answers."""

    permission_classes = [IsAgencyStaff]
    serializer_class = AttemptSerializer
    filter_backends: list[Any] = []

    @extend_schema(responses={200: AttemptSerializer(many=True)})
    def get(self, request: Request, case_id: int) -> Response:
        case = case_for_actor(actor=current_user(request), case_id=case_id)
        page = self.paginate_queryset(appeals.attempt_list(case=case))
        return self.get_paginated_response(AttemptSerializer(page, many=True).data)


class CaseAttemptDetailView(APIView):
    """One attempt with its full evidence manifest and the platform's decision per order."""

    permission_classes = [IsAgencyStaff]

    @extend_schema(responses={200: AttemptDetailSerializer})
    def get(self, request: Request, case_id: int, number: int) -> Response:
        case = case_for_actor(actor=current_user(request), case_id=case_id)
        return Response(AttemptDetailSerializer(appeals.attempt_get(case=case, number=number)).data)

    @extend_schema(request=AttemptUpdateSerializer, responses={200: AttemptDetailSerializer, **CONFLICT_RESPONSES})
    def patch(self, request: Request, case_id: int, number: int) -> Response:
        """Set the platform's reference number for the attempt (case workers; 409 once the case is finished)."""
        data = _validated(AttemptUpdateSerializer(data=request.data))
        actor = current_user(request)
        appeals.attempt_update(
            case_id=case_id, number=number, actor=actor, platform_reference=data["platform_reference"]
        )
        case = case_for_actor(actor=actor, case_id=case_id)
        return Response(AttemptDetailSerializer(appeals.attempt_get(case=case, number=number)).data)


class CaseSupplementsView(GenericAPIView[Any]):
    """The platform's requests for more material on the case (GET), or a new one recorded (POST)."""

    permission_classes = [IsAgencyStaff]
    serializer_class = SupplementRequestSerializer
    filter_backends: list[Any] = []

    @extend_schema(responses={200: SupplementRequestSerializer(many=True)})
    def get(self, request: Request, case_id: int) -> Response:
        case = case_for_actor(actor=current_user(request), case_id=case_id)
        page = self.paginate_queryset(appeals.supplement_list(case=case))
        return self.get_paginated_response(SupplementRequestSerializer(page, many=True).data)

    @extend_schema(
        request=SupplementCreateSerializer, responses={201: SupplementRequestSerializer, **CONFLICT_RESPONSES}
    )
    def post(self, request: Request, case_id: int) -> Response:
        """Record a request while the platform reviews an attempt (409 otherwise); its deadline is set."""
        data = _validated(SupplementCreateSerializer(data=request.data))
        supplement = appeals.supplement_request_create(case_id=case_id, actor=current_user(request), **data)
        return Response(
            SupplementRequestSerializer(appeals.supplement_list(case=supplement.case).get(pk=supplement.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class SupplementResponsesView(APIView):
    permission_classes = [IsAgencyStaff]

    @extend_schema(
        request=SupplementRespondSerializer, responses={201: SupplementRequestSerializer, **CONFLICT_RESPONSES}
    )
    def post(self, request: Request, pk: int) -> Response:
        """Record what was sent to the platform; the request is answered and its deadline met."""
        data = _validated(SupplementRespondSerializer(data=request.data))
        response = appeals.supplement_respond(supplement_id=pk, actor=current_user(request), **data)
        supplement = response.request
        return Response(
            SupplementRequestSerializer(appeals.supplement_list(case=supplement.case).get(pk=supplement.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class SupplementCancelView(APIView):
    permission_classes = [IsAgencyStaff]

    @extend_schema(request=ReasonSerializer, responses={200: SupplementRequestSerializer, **CONFLICT_RESPONSES})
    def post(self, request: Request, pk: int) -> Response:
        """Cancel an open request (the platform withdrew it); its deadline is cancelled. A reason is required."""
        data = _validated(ReasonSerializer(data=request.data))
        supplement = appeals.supplement_cancel(supplement_id=pk, actor=current_user(request), reason=data["reason"])
        return Response(
            SupplementRequestSerializer(appeals.supplement_list(case=supplement.case).get(pk=supplement.pk)).data
        )


class CaseOutcomeView(APIView):
    """The outcome in numbers (GET), or the platform's decision recorded per order (POST)."""

    permission_classes = [IsAgencyStaff]

    @extend_schema(responses={200: OutcomeSummarySerializer})
    def get(self, request: Request, case_id: int) -> Response:
        case = case_for_actor(actor=current_user(request), case_id=case_id)
        return Response(OutcomeSummarySerializer(appeals.outcome_summary(case=case)).data)

    @extend_schema(request=OutcomeInputSerializer, responses={200: OutcomeSummarySerializer, **TRANSITION_RESPONSES})
    def post(self, request: Request, case_id: int) -> Response:
        """Take ``record_outcome``: the attempt in flight is decided and the case's outcome derived.

        Orders are named by ``order`` (id) or ``platform_order_id``; every error is given
        per entry by its index (``details.fields.results.<index>.<field>``) and nothing is
        written. Points restored: none for an upheld order, and never more in total than
        the case's penalty points.
        """
        data = _validated(OutcomeInputSerializer(data=request.data))
        results = data.get("results")
        if results is None and data["default_result"]:
            results = []
        actor = current_user(request)
        services.case_transition(
            case_id=case_id,
            name="record_outcome",
            actor=actor,
            outcome=data["outcome"],
            order_results=[dict(entry) for entry in results] if results is not None else None,
            default_result=data["default_result"],
            outcome_note=data["note"],
            expected_state=data["expected_state"],
        )
        case = case_for_actor(actor=actor, case_id=case_id)
        return Response(OutcomeSummarySerializer(appeals.outcome_summary(case=case)).data)


__all__ = [
    "CaseAttemptDetailView",
    "CaseAttemptsView",
    "CaseOutcomeView",
    "CaseSupplementsView",
    "SupplementCancelView",
    "SupplementResponsesView",
]
