"""Evidence request endpoints for staff: ask the client for items, list and cancel requests.

The client's portal lists what is asked of it in evidence.api.portal.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.permissions import IsAgencyStaff, current_user
from agency.api.schema import CONFLICT_RESPONSES
from evidence import requests as service
from evidence.api import serializers as s
from evidence.api.base import filtered_requests


class CaseEvidenceRequestsView(GenericAPIView[Any]):
    """Requests to the client on one case (GET, newest first), or a new one (POST)."""

    permission_classes = [IsAgencyStaff]
    serializer_class = s.EvidenceRequestSerializer
    filter_backends: list[Any] = []

    @extend_schema(parameters=[s.RequestListQuerySerializer], responses={200: s.EvidenceRequestSerializer(many=True)})
    def get(self, request: Request, case_id: int) -> Response:
        requests = service.evidence_requests_for_staff(user=current_user(request), case_id=case_id)
        page = self.paginate_queryset(filtered_requests(requests, request))
        return self.get_paginated_response(s.EvidenceRequestSerializer(page, many=True).data)

    @extend_schema(
        request=s.EvidenceRequestInputSerializer, responses={201: s.EvidenceRequestSerializer, **CONFLICT_RESPONSES}
    )
    def post(self, request: Request, case_id: int) -> Response:
        """Ask the client for items (a kind, for an order or the whole case) by a due time."""
        data = s.EvidenceRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = service.evidence_request_create(case_id=case_id, actor=current_user(request), **data.validated_data)
        shown = service.evidence_requests_for_staff(user=current_user(request), case_id=case_id).get(pk=created.pk)
        return Response(s.EvidenceRequestSerializer(shown).data, status=status.HTTP_201_CREATED)


class EvidenceRequestCancelView(GenericAPIView[Any]):
    permission_classes = [IsAgencyStaff]
    serializer_class = s.EvidenceRequestSerializer

    @extend_schema(request=s.CancelInputSerializer, responses={200: s.EvidenceRequestSerializer, **CONFLICT_RESPONSES})
    def post(self, request: Request, pk: int) -> Response:
        """Withdraw an open request, with a reason."""
        data = s.CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cancelled = service.evidence_request_cancel(
            request_id=pk, actor=current_user(request), reason=data.validated_data["reason"]
        )
        shown = service.evidence_requests_for_staff(user=current_user(request), case_id=cancelled.case_id).get(pk=pk)
        return Response(s.EvidenceRequestSerializer(shown).data)
