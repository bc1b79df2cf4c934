"""Client portal endpoints for deadlines: what the client has to do on its open cases, and by when."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.permissions import IsClientUser, current_user
from workflows import selectors
from workflows.api.deadlines import TITLE_HELP, NowMixin
from workflows.deadlines import deadline_label
from workflows.models import Deadline


class PortalDeadlineSerializer(NowMixin, serializers.ModelSerializer[Deadline]):
    """A deadline the client has to meet: no notes, no basis, no internal clocks."""

    case_reference = serializers.CharField(source="case.reference", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    title = serializers.SerializerMethodField(help_text=TITLE_HELP)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Deadline
        fields = ["id", "case", "case_reference", "kind", "kind_display", "title", "due_at", "status", "overdue"]
        read_only_fields = fields

    def get_title(self, deadline: Deadline) -> str:
        return deadline_label(deadline)

    def get_overdue(self, deadline: Deadline) -> bool:
        return selectors.is_overdue(deadline, self.now())


@extend_schema(tags=["portal"])
class PortalDeadlinesView(GenericAPIView[Any]):
    permission_classes = [IsClientUser]
    serializer_class = PortalDeadlineSerializer
    filter_backends: list[Any] = []

    @extend_schema(responses={200: PortalDeadlineSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """What you have to do and by when, on all your open cases: open deadlines first, soonest first."""
        page = self.paginate_queryset(selectors.portal_deadlines(user=current_user(request)))
        return self.get_paginated_response(PortalDeadlineSerializer(page, many=True).data)


@extend_schema(tags=["portal"])
class PortalCaseDeadlinesView(GenericAPIView[Any]):
    permission_classes = [IsClientUser]
    serializer_class = PortalDeadlineSerializer
    filter_backends: list[Any] = []

    @extend_schema(responses={200: PortalDeadlineSerializer(many=True)})
    def get(self, request: Request, case_id: int) -> Response:
        """What you have to do and by when on one case: open deadlines first, soonest first."""
        page = self.paginate_queryset(selectors.portal_case_deadlines(user=current_user(request), case_id=case_id))
        return self.get_paginated_response(PortalDeadlineSerializer(page, many=True).data)
