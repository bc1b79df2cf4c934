"""Client portal: a client user's own organisation's cases, a timeline, and withdrawal."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.permissions import IsClientUser, current_user
from agency.api.schema import TRANSITION_RESPONSES
from cases import selectors
from cases.models import Case
from cases.portal import serializers as s
from casework import services


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
    serializer_class = s.PortalCaseSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        cases = selectors.portal_case_list(user=current_user(self.request)).order_by("-created_at", "-id")
        external_reference = self.request.query_params.get("external_reference", "").strip()
        if self.action == "list" and external_reference:
            cases = cases.filter(external_reference=external_reference)
        return cases

    def _case(self) -> Case:
        return selectors.portal_case_get(user=current_user(self.request), case_id=int(self.kwargs["pk"]))

    @extend_schema(responses={200: s.PortalCaseSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(s.PortalCaseSerializer(self._case()).data)

    @extend_schema(responses={200: s.TimelineEntrySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def timeline(self, request: Request, pk: str) -> Response:
        """What has happened on the case, in plain language (Accept-Language: zh-hans or en)."""
        page = self.paginate_queryset(selectors.case_client_timeline(case=self._case()))
        return self.get_paginated_response(s.TimelineEntrySerializer(page, many=True).data)

    @extend_schema(request=s.WithdrawInputSerializer, responses={200: s.PortalCaseSerializer, **TRANSITION_RESPONSES})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        """Withdraw the case; a reason is required."""
        case = self._case()
        data = s.WithdrawInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.case_transition(
            case_id=case.pk,
            name="withdraw",
            actor=current_user(request),
            reason=data.validated_data["reason"],
            expected_state=data.validated_data["expected_state"],
        )
        return Response(s.PortalCaseSerializer(self._case()).data)
