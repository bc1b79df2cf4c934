"""Client portal endpoints for fee quotes: the client reads its case's quotes and accepts or rejects one.

The client sees the terms and what they mean in plain language, never who at the agency
proposed them nor the assessment behind them. A quote of another organisation's case
answers 404, exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agency.accounts.models import User
from agency.api.permissions import IsClientUser, current_user
from agency.api.schema import CONFLICT_RESPONSES
from billing import selectors
from billing.api.base import QuoteDecisionInputSerializer, QuoteDecisionView
from billing.models import FeeModel, FeeQuote, QuoteStatus
from cases.models import CaseState
from cases.selectors import portal_case_get


def quote_explanation(quote: FeeQuote) -> str:
    """What the client will owe under this quote, in one or two plain sentences (request language)."""
    values = {"amount": quote.amount, "currency": quote.currency, "total": quote.quoted_total}
    if quote.fee_model == FeeModel.FLAT and quote.refund_if_failed:
        text = (
            _(
                "A flat fee of %(amount)s %(currency)s. If the platform rejects the appeal (no order cleared), "
                "the fee is refunded in full."
            )
            % values
        )
    elif quote.fee_model == FeeModel.FLAT:
        text = _("A flat fee of %(amount)s %(currency)s, owed whatever the platform decides.") % values
    elif quote.fee_model == FeeModel.PER_ORDER_CLEARED:
        text = (
            _(
                "%(amount)s %(currency)s for each flagged order the platform clears, and nothing for an order it "
                "upholds: at most %(total)s %(currency)s if every order in the appeal is cleared."
            )
            % values
        )
    else:
        text = (
            _(
                "%(amount)s %(currency)s if the platform accepts the appeal in full or in part; nothing if it "
                "rejects the appeal."
            )
            % values
        )
    if quote.amount_due is not None:
        text += " " + _("After the platform's decision, the amount due is %(due)s %(currency)s.") % {
            "due": quote.amount_due,
            "currency": quote.currency,
        }
    return text


class PortalQuoteSerializer(serializers.ModelSerializer[FeeQuote]):
    fee_model_display = serializers.CharField(source="get_fee_model_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    explanation = serializers.SerializerMethodField()
    can_decide = serializers.SerializerMethodField(
        help_text="True while the quote waits for the client's decision (accept or reject)."
    )

    class Meta:
        model = FeeQuote
        fields = [
            "id",
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
            "proposed_at",
            "decided_at",
            "amount_due",
            "amount_due_computed_at",
            "explanation",
            "can_decide",
        ]
        read_only_fields = fields

    def get_explanation(self, quote: FeeQuote) -> str:
        return quote_explanation(quote)

    def get_can_decide(self, quote: FeeQuote) -> bool:
        return quote.status == QuoteStatus.PROPOSED and self.context.get("case_state") == CaseState.ASSESSMENT


class PortalCaseQuotesView(GenericAPIView[Any]):
    """The fee quotes of one of the client's cases, every version, oldest first."""

    permission_classes = [IsClientUser]
    serializer_class = PortalQuoteSerializer
    filter_backends: list[Any] = []

    @extend_schema(tags=["portal"], responses={200: PortalQuoteSerializer(many=True)})
    def get(self, request: Request, case_id: int) -> Response:
        user = current_user(request)
        case = portal_case_get(user=user, case_id=case_id)
        page = self.paginate_queryset(selectors.quotes_of(case))
        data = PortalQuoteSerializer(page, many=True, context={"case_state": case.state}).data
        return self.get_paginated_response(data)


class _PortalQuoteDecisionView(QuoteDecisionView):
    permission_classes = [IsClientUser]
    serializer_class = PortalQuoteSerializer

    def decided(self, user: User, quote_id: int) -> Any:
        quote = selectors.quote_for_client(user=user, quote_id=quote_id)
        case = portal_case_get(user=user, case_id=quote.case_id)
        return PortalQuoteSerializer(quote, context={"case_state": case.state}).data


class PortalQuoteAcceptView(_PortalQuoteDecisionView):
    accept = True

    @extend_schema(
        tags=["portal"],
        request=QuoteDecisionInputSerializer,
        responses={200: PortalQuoteSerializer, **CONFLICT_RESPONSES},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Accept the quote. With ``expected_version``, 409 if a newer quote has replaced the one you saw."""
        return super().post(request, pk)


class PortalQuoteRejectView(_PortalQuoteDecisionView):
    accept = False

    @extend_schema(
        tags=["portal"],
        request=QuoteDecisionInputSerializer,
        responses={200: PortalQuoteSerializer, **CONFLICT_RESPONSES},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Reject the quote, optionally saying why. The agency may then propose another."""
        return super().post(request, pk)
