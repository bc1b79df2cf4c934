"""Client portal evidence: the client's view of a case's evidence, uploads, downloads (and the text read
from a file) and removal of the client's own evidence, and what the agency has asked the client for
(evidence requests)."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.permissions import IsClientUser, current_user
from agency.api.schema import CONFLICT_RESPONSES
from cases import selectors as case_selectors
from cases.models import Case
from evidence import requests as request_service
from evidence import selectors
from evidence.api import serializers as s
from evidence.api.base import (
    CASE_ID_PARAMETER,
    DOWNLOAD_RESPONSES,
    UPLOAD_RESPONSES,
    CaseEvidenceBase,
    EvidenceItemBase,
    filtered_requests,
    text_response,
)
from evidence.downloads import evidence_file_response
from evidence.models import EvidenceItem


@extend_schema(tags=["portal"], parameters=[CASE_ID_PARAMETER])
class PortalCaseEvidenceViewSet(CaseEvidenceBase):
    """Evidence of a case of the client's organisations; any other case answers 404."""

    permission_classes = [IsClientUser]
    serializer_class = s.PortalEvidenceItemSerializer

    def _case(self) -> Case:
        return case_selectors.portal_case_get(user=current_user(self.request), case_id=int(self.kwargs["id"]))

    @extend_schema(responses={200: s.PortalEvidenceItemSerializer(many=True)})
    def list(self, request: Request, id: str) -> Response:
        """The case's evidence, oldest first, with the reason for any rejection so it can be fixed."""
        return self._listed(selectors.portal_evidence_list(case=self._case()), s.PortalEvidenceItemSerializer)

    @extend_schema(
        request={"multipart/form-data": s.EvidenceUploadInputSerializer},
        responses={201: s.PortalEvidenceItemSerializer, **UPLOAD_RESPONSES},
    )
    def create(self, request: Request, id: str) -> Response:
        """Upload one file for a flagged order, or for the case as a whole (multipart)."""
        item = self._upload(request)
        item = selectors.portal_evidence_get(user=current_user(request), item_id=item.pk)
        return Response(s.PortalEvidenceItemSerializer(item).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["portal"])
class PortalEvidenceViewSet(EvidenceItemBase):
    """One evidence item of a case of the client's organisations; any other answers 404."""

    permission_classes = [IsClientUser]
    serializer_class = s.PortalEvidenceItemSerializer

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

    @extend_schema(responses={200: s.EvidenceTextSerializer})
    @action(detail=True, methods=["get"])
    def text(self, request: Request, pk: str) -> Response:
        """The text read from the file, as JSON (method, pages, the text, and the text as pages of lines).

        `text` separates pages by a form feed and lines by a newline. Until the file is
        read, method is blank, read_at null and the text empty.
        """
        return text_response(selectors.evidence_text(item=self._item()))

    @extend_schema(
        request=s.PortalRemoveInputSerializer, responses={200: s.PortalEvidenceItemSerializer, **CONFLICT_RESPONSES}
    )
    @action(detail=True, methods=["post"])
    def remove(self, request: Request, pk: str) -> Response:
        """Take back a file your side uploaded, with a reason (403 for the agency's uploads; 409 once it
        went into a submitted appeal: upload a new file that supersedes it instead)."""
        self._remove(request, s.PortalRemoveInputSerializer)
        return Response(s.PortalEvidenceItemSerializer(self._item()).data)


# --- Evidence requests ---------------------------------------------------------------------------


class PortalCaseEvidenceRequestsView(GenericAPIView[Any]):
    """What the agency has asked the client for on one case; `?status=open` for what is still owed."""

    permission_classes = [IsClientUser]
    serializer_class = s.PortalEvidenceRequestSerializer
    filter_backends: list[Any] = []

    @extend_schema(
        tags=["portal"],
        parameters=[s.RequestListQuerySerializer],
        responses={200: s.PortalEvidenceRequestSerializer(many=True)},
    )
    def get(self, request: Request, case_id: int) -> Response:
        requests = request_service.evidence_requests_for_client(user=current_user(request), case_id=case_id)
        page = self.paginate_queryset(filtered_requests(requests, request))
        return self.get_paginated_response(s.PortalEvidenceRequestSerializer(page, many=True).data)


class PortalEvidenceRequestView(GenericAPIView[Any]):
    permission_classes = [IsClientUser]
    serializer_class = s.PortalEvidenceRequestSerializer

    @extend_schema(tags=["portal"], responses={200: s.PortalEvidenceRequestSerializer})
    def get(self, request: Request, pk: int) -> Response:
        found = request_service.evidence_request_for_client(user=current_user(request), request_id=pk)
        return Response(s.PortalEvidenceRequestSerializer(found).data)
