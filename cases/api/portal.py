"""Client portal endpoints of the cases app, with client-safe representations: no internal notes, people or reasons.

A client user's own organisation's cases, a timeline in plain language, and withdrawal; the
outcome of the client's appeal, per attempt and per order, without the agency's notes; the
message thread with the agency on a case (never internal notes). A case of another
organisation answers 404 on every path, exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agency.accounts.models import User
from agency.api.fields import DateTimeField, UnsetChoiceField
from agency.api.permissions import IsClientUser, current_user
from agency.api.schema import CONFLICT_RESPONSES, TRANSITION_RESPONSES
from agency.organisations.models import Platform
from cases import selectors
from cases.api.conversation import MessageInputSerializer
from cases.models import (
    Case,
    CaseEvent,
    CaseMessage,
    CaseState,
    FlaggedOrder,
    Outcome,
    Restriction,
    Severity,
    ViolationType,
)
from casework import appeals, conversation, services, timeline

# --- Cases: representations -----------------------------------------------------------------------


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


# --- Cases: list, read, timeline, withdraw --------------------------------------------------------


@extend_schema(tags=["portal"])
@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "external_reference",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="Only the case with this external reference (exact).",
            )
        ]
    )
)
class PortalCaseViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Any]):
    """A case of another organisation answers 404 on every path, exactly like a missing one."""

    permission_classes = [IsClientUser]
    # Ids are positive bigints; anything else is a 404 from the router, not a 500 later.
    lookup_value_regex = r"[0-9]{1,18}"
    # For schema generation only; get_queryset() scopes every real request.
    queryset = Case.objects.none()
    serializer_class = PortalCaseSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        cases = selectors.portal_case_list(user=current_user(self.request)).order_by("-created_at", "-id")
        external_reference = self.request.query_params.get("external_reference", "").strip()
        if self.action == "list" and external_reference:
            cases = cases.filter(external_reference=external_reference)
        return cases

    def _case(self) -> Case:
        return selectors.portal_case_get(user=current_user(self.request), case_id=int(self.kwargs["pk"]))

    @extend_schema(responses={200: PortalCaseSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(PortalCaseSerializer(self._case()).data)

    @extend_schema(responses={200: TimelineEntrySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def timeline(self, request: Request, pk: str) -> Response:
        """What has happened on the case, in plain language (Accept-Language: zh-hans or en)."""
        page = self.paginate_queryset(selectors.case_client_timeline(case=self._case()))
        return self.get_paginated_response(TimelineEntrySerializer(page, many=True).data)

    @extend_schema(request=WithdrawInputSerializer, responses={200: PortalCaseSerializer, **TRANSITION_RESPONSES})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        """Withdraw the case; a reason is required."""
        case = self._case()
        data = WithdrawInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.case_transition(
            case_id=case.pk,
            name="withdraw",
            actor=current_user(request),
            reason=data.validated_data["reason"],
            expected_state=data.validated_data["expected_state"],
        )
        return Response(PortalCaseSerializer(self._case()).data)


# --- The outcome of the appeal --------------------------------------------------------------------


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


# --- The message thread with the agency -----------------------------------------------------------


def author_name_for_client(author: User, *, from_client: bool) -> str:
    """How the client sees a message's author.

    A colleague in the client's own organisation: their usual label. Agency staff: their
    display name (clients know their case manager by name), or "The agency" when there
    is none; never a username, a role or an id, which are the agency's internal handles.
    """
    if from_client:
        return author.label
    return author.display_name or author.get_full_name() or _("The agency")


class PortalMessageSerializer(serializers.ModelSerializer[CaseMessage]):
    author_name = serializers.SerializerMethodField(help_text="Display name; staff are never shown by username.")

    class Meta:
        model = CaseMessage
        fields = ["id", "from_client", "author_name", "body", "created_at"]
        read_only_fields = fields

    def get_author_name(self, message: CaseMessage) -> str:
        return author_name_for_client(message.author, from_client=message.from_client)


class PortalCaseMessagesView(GenericAPIView[Any]):
    """The messages between the client and the agency on one case (GET, oldest first), or a new one (POST).

    A case of another organisation answers 404. Posting needs an open case (409 once it is
    closed, declined or withdrawn); the case manager (or, with none yet, the supervisors) is
    notified.
    """

    permission_classes = [IsClientUser]
    serializer_class = PortalMessageSerializer
    filter_backends: list[Any] = []

    @extend_schema(tags=["portal"], responses={200: PortalMessageSerializer(many=True)})
    def get(self, request: Request, case_id: int) -> Response:
        page = self.paginate_queryset(conversation.portal_message_list(user=current_user(request), case_id=case_id))
        return self.get_paginated_response(PortalMessageSerializer(page, many=True).data)

    @extend_schema(
        tags=["portal"],
        request=MessageInputSerializer,
        responses={201: PortalMessageSerializer, **CONFLICT_RESPONSES},
    )
    def post(self, request: Request, case_id: int) -> Response:
        data = MessageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = conversation.message_post(
            case_id=case_id, actor=current_user(request), body=data.validated_data["body"]
        )
        return Response(PortalMessageSerializer(message).data, status=status.HTTP_201_CREATED)
