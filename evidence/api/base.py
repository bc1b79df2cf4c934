"""What the staff and the portal evidence endpoints share.

The schema pieces of uploads and downloads, the negotiation that never answers 406 to a
download, the upload handler, the answer with the text read from a file, and the two
viewset bases: a case's evidence (list, upload) and one item (read, download, text,
remove). Each audience's viewset says whose view of the case it is (the selector), how an
item is shown (the serializer) and documents its operations.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.permissions import current_user
from agency.api.schema import ErrorSerializer
from cases.models import Case
from evidence import services
from evidence.api.filters import EvidenceFilter
from evidence.api.serializers import EvidenceTextSerializer, EvidenceUploadInputSerializer, RequestListQuerySerializer
from evidence.models import EvidenceCheck, EvidenceItem
from evidence.uploads import SERVED_MEDIA_TYPES, install_upload_handler

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


def filtered_requests(queryset: Any, request: Request) -> Any:
    """Evidence requests narrowed by ``?status=``, when given (400 for an unknown status)."""
    query = RequestListQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    wanted = query.validated_data.get("status")
    return queryset.filter(status=wanted) if wanted else queryset


# The viewset bases have no docstrings: drf-spectacular would describe their subclasses' operations with them.


class CaseEvidenceBase(viewsets.GenericViewSet[Any]):
    # A case's evidence items (list) and uploads to it (create), for staff or for the client.

    # For schema generation only; every real request is scoped through the case.
    queryset = EvidenceItem.objects.none()
    parser_classes = [MultiPartParser]
    filter_backends = [DjangoFilterBackend]
    filterset_class = EvidenceFilter

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        drf_request = super().initialize_request(request, *args, **kwargs)
        install_handler_for_uploads(self, request)
        return drf_request

    def _case(self) -> Case:
        raise NotImplementedError

    def _listed(self, items: QuerySet[EvidenceItem], serializer: type[serializers.Serializer[Any]]) -> Response:
        page = self.paginate_queryset(self.filter_queryset(items))
        return self.get_paginated_response(serializer(page, many=True).data)

    def _upload(self, request: Request) -> EvidenceItem:
        case = self._case()
        data = EvidenceUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return services.evidence_upload(
            case_id=case.pk,
            actor=current_user(request),
            file=data.validated_data["file"],
            kind=data.validated_data["kind"],
            order_id=data.validated_data.get("order"),
            note=data.validated_data["note"],
            supersedes_id=data.validated_data.get("supersedes"),
            request_id=data.validated_data.get("request"),
        )


def text_response(reading: EvidenceCheck | None) -> Response:
    """The text read from an item's file (``EvidenceTextSerializer``); kept out of shared caches like the file."""
    response = Response(EvidenceTextSerializer(reading if reading is not None else EvidenceCheck()).data)
    response["Cache-Control"] = "private, no-store"
    return response


class EvidenceItemBase(viewsets.GenericViewSet[Any]):
    # One evidence item (retrieve, download, text, remove), for staff or for the client.

    # Ids are positive bigints; anything else is a 404 from the router, not a 500 later.
    lookup_value_regex = r"[0-9]{1,18}"
    queryset = EvidenceItem.objects.none()
    filter_backends: list[Any] = []
    content_negotiation_class = AnyAcceptNegotiation

    def _item(self) -> EvidenceItem:
        raise NotImplementedError

    def _remove(self, request: Request, reason_input: type[serializers.Serializer[Any]]) -> None:
        item = self._item()
        data = reason_input(data=request.data)
        data.is_valid(raise_exception=True)
        services.evidence_remove(item_id=item.pk, actor=current_user(request), reason=data.validated_data["reason"])
