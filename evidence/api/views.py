"""Staff evidence API: list and upload per case, read, download, review and remove one item."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.permissions import IsAgencyStaff, current_user
from agency.api.schema import CONFLICT_RESPONSES, ErrorSerializer
from cases import selectors as case_selectors
from cases.models import Case
from evidence import selectors, services
from evidence.api import serializers as s
from evidence.api.filters import EvidenceFilter
from evidence.downloads import evidence_file_response
from evidence.models import EvidenceItem
from evidence.uploads import SERVED_MEDIA_TYPES, install_upload_handler
from integrations.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotency_responses, idempotent

CASE_ID_PARAMETER = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The case's id.")

UPLOAD_RESPONSES = {
    400: OpenApiResponse(
        ErrorSerializer,
        description="Invalid fields (details.fields): the file is empty, too large (details.max_bytes), "
        "has a path in its name, is not an accepted type by its content, or its extension does not match "
        "its content; an unknown kind; an order, or an item to supersede, not on this case.",
    ),
    409: OpenApiResponse(
        ErrorSerializer,
        description="duplicate_evidence: the same file already counts for this order (or for the case); "
        "details.existing_item is its id. invalid_state: the case is closed, declined or withdrawn, or the "
        "item to supersede was removed or superseded already.",
    ),
}

DOWNLOAD_RESPONSES = {
    (200, media_type): OpenApiResponse(
        OpenApiTypes.BINARY,
        description="The file, streamed as an attachment under its original name, with the content type "
        "found from its bytes (text with its charset).",
    )
    for media_type in SERVED_MEDIA_TYPES
}


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """Never answer 406: a download is sent as what it is, and errors as JSON, whatever Accept says."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


def install_handler_for_uploads(view: viewsets.GenericViewSet[Any], request: HttpRequest) -> None:
    """Stream the file through the evidence upload handler for the upload action only.

    Called from ``initialize_request``: the body must not have been read yet, and a
    session-authenticated request reads it in the CSRF check, before the view runs.
    """
    if view.action == "create":
        install_upload_handler(request)


@extend_schema(parameters=[CASE_ID_PARAMETER])
class CaseEvidenceViewSet(viewsets.GenericViewSet[Any]):
    """A case's evidence items as staff see them, and uploads to it."""

    permission_classes = [IsAgencyStaff]
    # For schema generation only; every real request is scoped through the case.
    queryset = EvidenceItem.objects.none()
    serializer_class = s.EvidenceItemSerializer
    parser_classes = [MultiPartParser]
    filter_backends = [DjangoFilterBackend]
    filterset_class = EvidenceFilter

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        drf_request = super().initialize_request(request, *args, **kwargs)
        install_handler_for_uploads(self, request)
        return drf_request

    def _case(self) -> Case:
        return case_selectors.case_get(user=current_user(self.request), case_id=int(self.kwargs["id"]))

    @extend_schema(responses={200: s.EvidenceItemSerializer(many=True)})
    def list(self, request: Request, id: str) -> Response:
        """The case's evidence, oldest first; by default only items that count (not removed or superseded)."""
        queryset = self.filter_queryset(selectors.evidence_list(case=self._case()))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(s.EvidenceItemSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": s.EvidenceUploadInputSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=idempotency_responses({201: s.EvidenceItemSerializer, **UPLOAD_RESPONSES}),
    )
    @idempotent
    def create(self, request: Request, id: str) -> Response:
        """Upload one file for a flagged order of the case, or for the case as a whole (multipart)."""
        case = self._case()
        data = s.EvidenceUploadInputSerializer(data=request.data)
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
        item = selectors.evidence_get(user=current_user(request), item_id=item.pk)
        return Response(s.EvidenceItemSerializer(item).data, status=status.HTTP_201_CREATED)


class EvidenceViewSet(viewsets.GenericViewSet[Any]):
    """One evidence item, for staff who can see its case (anyone else: 404)."""

    permission_classes = [IsAgencyStaff]
    # Ids are positive bigints; anything else is a 404 from the router, not a 500 later.
    lookup_value_regex = r"[0-9]{1,18}"
    queryset = EvidenceItem.objects.none()
    serializer_class = s.EvidenceItemSerializer
    filter_backends: list[Any] = []
    content_negotiation_class = AnyAcceptNegotiation

    def _item(self) -> EvidenceItem:
        return selectors.evidence_get(user=current_user(self.request), item_id=int(self.kwargs["pk"]))

    @extend_schema(responses={200: s.EvidenceItemSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(s.EvidenceItemSerializer(self._item()).data)

    @extend_schema(responses=DOWNLOAD_RESPONSES)
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str) -> FileResponse:
        """The file itself, for staff who can see the case (others: 404)."""
        return evidence_file_response(self._item())

    @extend_schema(request=s.ReviewInputSerializer, responses={200: s.EvidenceItemSerializer, **CONFLICT_RESPONSES})
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str) -> Response:
        """Accept the item, or reject it with a reason the client sees.

        Evidence reviewers, case managers, supervisors and administrators. 409 when the
        item no longer counts, went into a submitted appeal, or the case is closed.
        """
        item = self._item()
        data = s.ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.evidence_review(
            item_id=item.pk,
            actor=current_user(request),
            decision=data.validated_data["decision"],
            reason=data.validated_data["reason"],
        )
        return Response(s.EvidenceItemSerializer(self._item()).data)

    @extend_schema(request=s.RemoveInputSerializer, responses={200: s.EvidenceItemSerializer, **CONFLICT_RESPONSES})
    @action(detail=True, methods=["post"])
    def remove(self, request: Request, pk: str) -> Response:
        """Remove the item with a reason; it stays in the history. Refused (409) once it went into an appeal."""
        item = self._item()
        data = s.RemoveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.evidence_remove(item_id=item.pk, actor=current_user(request), reason=data.validated_data["reason"])
        return Response(s.EvidenceItemSerializer(self._item()).data)
