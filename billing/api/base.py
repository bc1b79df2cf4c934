"""What the staff and the portal quote endpoints share: the decision's input and the view that records it."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agency.accounts.models import User
from agency.api.permissions import current_user
from billing import services


class QuoteDecisionInputSerializer(serializers.Serializer[dict[str, Any]]):
    note = serializers.CharField(max_length=services.DECISION_NOTE_LIMIT, allow_blank=True, default="")
    expected_version = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The quote version the client was shown; 409 if a newer one has replaced it.",
    )


# No docstrings on this base: drf-spectacular would show them on the operations of its subclasses.
class QuoteDecisionView(GenericAPIView[Any]):
    # Accept or reject a quote (the service checks who may), then answer with the quote as the caller sees it.
    accept = True
    input_serializer: type[QuoteDecisionInputSerializer] = QuoteDecisionInputSerializer

    def decided(self, user: User, quote_id: int) -> Any:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        user = current_user(request)
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        decide = services.quote_accept if self.accept else services.quote_reject
        decide(quote_id=pk, actor=user, **data.validated_data)
        return Response(self.decided(user, pk))
