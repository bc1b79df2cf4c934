"""Staff endpoints for assessment and the fee: the assessment with per-order causes, and fee quotes.

The assessment lives in the cases app (cases.assessment) but is served here, beside the
quotes that follow from it: together they are step 2 of the agency's process. Nothing on
these endpoints is ever shown in the portal (billing.api.portal has the client's view of quotes).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agency.accounts.models import User
from agency.api.fields import DateTimeField, StrictBooleanField
from agency.api.permissions import IsAgencyStaff, current_user
from agency.api.schema import CONFLICT_RESPONSES
from billing import selectors, services
from billing.api.base import QuoteDecisionInputSerializer, QuoteDecisionView
from billing.models import FeeModel, FeeQuote
from cases import assessment as assessment_service
from cases.api.serializers import UserRefSerializer
from cases.models import OrderCause, Recommendation, SuspectedCause

# --- Assessment ---------------------------------------------------------------------------


class OrderCauseSerializer(serializers.ModelSerializer[OrderCause]):
    platform_order_id = serializers.CharField(source="order.platform_order_id", read_only=True)
    cause_display = serializers.CharField(source="get_cause_display", read_only=True)
    updated_by = UserRefSerializer(read_only=True)

    class Meta:
        model = OrderCause
        fields = ["order", "platform_order_id", "cause", "cause_display", "note", "updated_by", "updated_at"]
        read_only_fields = fields


class AssessmentSerializer(serializers.Serializer[dict[str, Any]]):
    case = serializers.IntegerField()
    recorded = serializers.BooleanField(help_text="False until someone records the assessment.")
    editable = serializers.BooleanField(help_text="True while the case is in intake or assessment.")
    causes = serializers.ListField(child=serializers.CharField(), help_text="Suspected cause codes.")
    causes_display = serializers.ListField(child=serializers.CharField())
    cause_notes = serializers.CharField()
    merit_score = serializers.IntegerField(allow_null=True)
    strategy = serializers.CharField()
    recommendation = serializers.CharField(help_text="take, decline, or empty.")
    recommendation_display = serializers.CharField()
    assessed_by = UserRefSerializer(allow_null=True)
    created_at = DateTimeField(allow_null=True)
    updated_at = DateTimeField(allow_null=True)
    order_causes = OrderCauseSerializer(many=True)


def _assessment_data(view: assessment_service.AssessmentView) -> dict[str, Any]:
    found = view.assessment
    causes = list(found.causes) if found is not None else []
    recommendation = found.recommendation if found is not None else ""
    return AssessmentSerializer(
        {
            "case": view.case.pk,
            "recorded": found is not None,
            "editable": view.case.state in assessment_service.ASSESSMENT_STATES,
            "causes": causes,
            "causes_display": assessment_service.assessment_causes(causes),
            "cause_notes": found.cause_notes if found is not None else "",
            "merit_score": found.merit_score if found is not None else None,
            "strategy": found.strategy if found is not None else "",
            "recommendation": recommendation,
            "recommendation_display": str(Recommendation(recommendation).label) if recommendation else "",
            "assessed_by": found.assessed_by if found is not None else None,
            "created_at": found.created_at if found is not None else None,
            "updated_at": found.updated_at if found is not None else None,
            "order_causes": view.order_causes,
        }
    ).data


class AssessmentInputSerializer(serializers.Serializer[dict[str, Any]]):
    """PUT replaces the assessment (a field left out is cleared); PATCH changes only the fields given."""

    # Cause codes are checked by the service, which names the unknown ones.
    causes = serializers.ListField(child=serializers.CharField(), max_length=len(SuspectedCause.values), default=list)
    cause_notes = serializers.CharField(
        max_length=assessment_service.TEXT_LIMITS["cause_notes"], allow_blank=True, default=""
    )
    merit_score = serializers.IntegerField(
        min_value=0, max_value=100, allow_null=True, default=None, help_text="The estimated chance of success, 0-100."
    )
    strategy = serializers.CharField(
        max_length=assessment_service.TEXT_LIMITS["strategy"], allow_blank=True, default=""
    )
    recommendation = serializers.ChoiceField(
        choices=Recommendation.choices, allow_blank=True, allow_null=True, default=""
    )


class OrderCauseEntrySerializer(serializers.Serializer[dict[str, Any]]):
    order = serializers.IntegerField(help_text="A flagged order's id.")
    cause = serializers.CharField(
        allow_blank=True,
        allow_null=True,
        default="",
        help_text="A suspected cause code; empty clears the order's cause.",
    )
    note = serializers.CharField(max_length=assessment_service.ORDER_NOTE_LIMIT, allow_blank=True, default="")


class OrderCausesInputSerializer(serializers.Serializer[dict[str, Any]]):
    orders = serializers.ListField(
        child=OrderCauseEntrySerializer(),
        allow_empty=False,
        max_length=assessment_service.ORDER_CAUSES_PER_REQUEST,
        help_text="All or nothing: an invalid entry is reported under its index and nothing is written.",
    )


class CaseAssessmentView(GenericAPIView[Any]):
    """The case's assessment: suspected causes (per case and per order), merit, strategy, recommendation.

    Any staff member who can see the case may read it; case managers, supervisors and
    administrators change it, in intake or assessment only (409 afterwards). Internal:
    never shown to the client, never sent to integrations.
    """

    permission_classes = [IsAgencyStaff]
    serializer_class = AssessmentSerializer

    @extend_schema(responses={200: AssessmentSerializer})
    def get(self, request: Request, case_id: int) -> Response:
        view = assessment_service.assessment_get(user=current_user(request), case_id=case_id)
        return Response(_assessment_data(view))

    def _write(self, request: Request, case_id: int, *, partial: bool) -> Response:
        data = AssessmentInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        assessment_service.assessment_record(case_id=case_id, actor=current_user(request), **data.validated_data)
        view = assessment_service.assessment_get(user=current_user(request), case_id=case_id)
        return Response(_assessment_data(view))

    @extend_schema(request=AssessmentInputSerializer, responses={200: AssessmentSerializer, **CONFLICT_RESPONSES})
    def put(self, request: Request, case_id: int) -> Response:
        """Record the whole assessment; fields left out are cleared."""
        return self._write(request, case_id, partial=False)

    @extend_schema(request=AssessmentInputSerializer, responses={200: AssessmentSerializer, **CONFLICT_RESPONSES})
    def patch(self, request: Request, case_id: int) -> Response:
        """Change only the fields given."""
        return self._write(request, case_id, partial=True)


class CaseOrderCausesView(GenericAPIView[Any]):
    """Set or clear the suspected cause of one or many flagged orders of the case."""

    permission_classes = [IsAgencyStaff]
    serializer_class = AssessmentSerializer

    @extend_schema(request=OrderCausesInputSerializer, responses={200: AssessmentSerializer, **CONFLICT_RESPONSES})
    def post(self, request: Request, case_id: int) -> Response:
        """Answers the whole assessment, with the per-order causes as they now stand."""
        data = OrderCausesInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assessment_service.order_causes_set(
            case_id=case_id, actor=current_user(request), entries=data.validated_data["orders"]
        )
        view = assessment_service.assessment_get(user=current_user(request), case_id=case_id)
        return Response(_assessment_data(view))


# --- Quotes -------------------------------------------------------------------------------


class QuoteSerializer(serializers.ModelSerializer[FeeQuote]):
    fee_model_display = serializers.CharField(source="get_fee_model_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    proposed_by = UserRefSerializer(read_only=True)
    decided_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = FeeQuote
        fields = [
            "id",
            "case",
            "version",
            "fee_model",
            "fee_model_display",
            "amount",
            "currency",
            "refund_if_failed",
            "quoted_total",
            "client_note",
            "status",
            "status_display",
            "proposed_by",
            "proposed_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "amount_due",
            "amount_due_computed_at",
        ]
        read_only_fields = fields


class QuoteInputSerializer(serializers.Serializer[dict[str, Any]]):
    fee_model = serializers.ChoiceField(choices=FeeModel.choices)
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="Flat: the fee. Per order cleared: the fee per order. Per case won: the fee for the case.",
    )
    currency = serializers.CharField(max_length=3, default="CNY")
    refund_if_failed = StrictBooleanField(
        default=False, help_text="Flat fee only: refunded in full if the appeal is rejected."
    )
    client_note = serializers.CharField(max_length=services.CLIENT_NOTE_LIMIT, allow_blank=True, default="")


class QuoteWithdrawInputSerializer(serializers.Serializer[dict[str, Any]]):
    reason = serializers.CharField(max_length=services.DECISION_NOTE_LIMIT, allow_blank=True, default="")


class StaffQuoteDecisionInputSerializer(QuoteDecisionInputSerializer):
    note = serializers.CharField(
        max_length=services.DECISION_NOTE_LIMIT,
        allow_blank=True,
        default="",
        help_text="Required: how the client gave this decision (for example by phone).",
    )


class CaseQuotesView(GenericAPIView[Any]):
    """Every version of the case's fee quotes (GET, oldest first), or a new one proposed (POST)."""

    permission_classes = [IsAgencyStaff]
    serializer_class = QuoteSerializer
    filter_backends: list[Any] = []

    @extend_schema(responses={200: QuoteSerializer(many=True)})
    def get(self, request: Request, case_id: int) -> Response:
        page = self.paginate_queryset(selectors.quotes_for_staff(user=current_user(request), case_id=case_id))
        return self.get_paginated_response(QuoteSerializer(page, many=True).data)

    @extend_schema(request=QuoteInputSerializer, responses={201: QuoteSerializer, **CONFLICT_RESPONSES})
    def post(self, request: Request, case_id: int) -> Response:
        """Propose a quote in assessment, after an assessment recommending to take the case (409 otherwise).

        A quote still waiting or accepted is withdrawn by the new one; the client's users are notified.
        """
        data = QuoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        quote = services.quote_propose(case_id=case_id, actor=current_user(request), **data.validated_data)
        shown = selectors.quote_for_staff(user=current_user(request), quote_id=quote.pk)
        return Response(QuoteSerializer(shown).data, status=status.HTTP_201_CREATED)


class QuoteWithdrawView(GenericAPIView[Any]):
    permission_classes = [IsAgencyStaff]
    serializer_class = QuoteSerializer

    @extend_schema(request=QuoteWithdrawInputSerializer, responses={200: QuoteSerializer, **CONFLICT_RESPONSES})
    def post(self, request: Request, pk: int) -> Response:
        """Withdraw a quote the client has not decided on yet (assessment only)."""
        data = QuoteWithdrawInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.quote_withdraw(quote_id=pk, actor=current_user(request), reason=data.validated_data["reason"])
        return Response(QuoteSerializer(selectors.quote_for_staff(user=current_user(request), quote_id=pk)).data)


class _StaffQuoteDecisionView(QuoteDecisionView):
    permission_classes = [IsAgencyStaff]
    serializer_class = QuoteSerializer
    input_serializer = StaffQuoteDecisionInputSerializer

    def decided(self, user: User, quote_id: int) -> Any:
        return QuoteSerializer(selectors.quote_for_staff(user=user, quote_id=quote_id)).data


class QuoteAcceptView(_StaffQuoteDecisionView):
    accept = True

    @extend_schema(request=StaffQuoteDecisionInputSerializer, responses={200: QuoteSerializer, **CONFLICT_RESPONSES})
    def post(self, request: Request, pk: int) -> Response:
        """A supervisor or administrator records the client's acceptance on their behalf; a note is required."""
        return super().post(request, pk)


class QuoteRejectView(_StaffQuoteDecisionView):
    accept = False

    @extend_schema(request=StaffQuoteDecisionInputSerializer, responses={200: QuoteSerializer, **CONFLICT_RESPONSES})
    def post(self, request: Request, pk: int) -> Response:
        """A supervisor or administrator records the client's rejection on their behalf; a note is required."""
        return super().post(request, pk)
