"""Client portal evidence: the client's view of a case's evidence, uploads, downloads and removal."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.permissions import IsClientUser, current_user
from agency.api.schema import CONFLICT_RESPONSES
from cases import selectors as case_selectors
from cases.models import Case
from evidence import selectors, services
from evidence.api.filters import EvidenceFilter
from evidence.api.serializers import EvidenceUploadInputSerializer
from evidence.api.views import (
    CASE_ID_PARAMETER,
    DOWNLOAD_RESPONSES,
    UPLOAD_RESPONSES,
    AnyAcceptNegotiation,
    install_handler_for_uploads,
)
from evidence.downloads import evidence_file_response
from evidence.models import EvidenceItem
from evidence.portal import serializers as s


@extend_schema(tags=["portal"], parameters=[CASE_ID_PARAMETER])
class PortalCaseEvidenceViewSet(viewsets.GenericViewSet[Any]):
    """Evidence of a case of the client's organisations; any other case answers 404."""

    permission_classes = [IsClientUser]
    # For schema generation only; every real request is scoped through the case.
    queryset = EvidenceItem.objects.none()
    serializer_class = s.PortalEvidenceItemSerializer
    parser_classes = [MultiPartParser]
    filter_backends = [DjangoFilterBackend]
    filterset_class = EvidenceFilter

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        drf_request = super().initialize_request(request, *args, **kwargs)
        install_handler_for_uploads(self, request)
        return drf_request

    def _case(self) -> Case:
        return case_selectors.portal_case_get(user=current_user(self.request), case_id=int(self.kwargs["id"]))

    @extend_schema(responses={200: s.PortalEvidenceItemSerializer(many=True)})
    def list(self, request: Request, id: str) -> Response:
        """The case's evidence, oldest first, with the reason for any rejection so it can be fixed."""
        queryset = self.filter_queryset(selectors.portal_evidence_list(case=self._case()))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(s.PortalEvidenceItemSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": EvidenceUploadInputSerializer},
        responses={201: s.PortalEvidenceItemSerializer, **UPLOAD_RESPONSES},
    )
    def create(self, request: Request, id: str) -> Response:
        """Upload one file for a flagged order, or for the case as a whole (multipart)."""
        case = self._case()
        data = EvidenceUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.evidence_upload(
            case_id=case.pk,
            actor=current_user(request),
            file=data.validated_data["file"],
            kind=data.validated_data["kind"],
            order_id=data.validated_data.get("order"),
            note=data.validated_data["note"],
            supersedes_id=data.validated_data.get("supersedes"),
            request_id=data.validated_data.get("request"),
        )
        item = selectors.portal_evidence_get(user=current_user(request), item_id=item.pk)
        return Response(s.PortalEvidenceItemSerializer(item).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["portal"])
class PortalEvidenceViewSet(viewsets.GenericViewSet[Any]):
    """One evidence item of a case of the client's organisations; any other answers 404."""

    permission_classes = [IsClientUser]
    # Ids are positive bigints; anything else is a 404 from the router, not a 500 later.
    lookup_value_regex = r"[0-9]{1,18}"
    queryset = EvidenceItem.objects.none()
    serializer_class = s.PortalEvidenceItemSerializer
    filter_backends: list[Any] = []
    content_negotiation_class = AnyAcceptNegotiation

    def _item(self) -> EvidenceItem:
        return selectors.portal_evidence_get(user=current_user(self.request), item_id=int(self.kwargs["pk"]))

    @extend_schema(responses={200: s.PortalEvidenceItemSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(s.PortalEvidenceItemSerializer(self._item()).data)

    @extend_schema(responses=DOWNLOAD_RESPONSES)
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str) -> FileResponse:
        """The file itself."""
        return evidence_file_response(self._item())

    @extend_schema(
        request=s.PortalRemoveInputSerializer, responses={200: s.PortalEvidenceItemSerializer, **CONFLICT_RESPONSES}
    )
    @action(detail=True, methods=["post"])
    def remove(self, request: Request, pk: str) -> Response:
        """Take back a file your side uploaded, with a reason (403 for the agency's uploads; 409 once it
        went into a submitted appeal: upload a new file that supersedes it instead)."""
        item = self._item()
        data = s.PortalRemoveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.evidence_remove(item_id=item.pk, actor=current_user(request), reason=data.validated_data["reason"])
        return Response(s.PortalEvidenceItemSerializer(self._item()).data)
