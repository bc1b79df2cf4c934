"""The appeal dossier endpoint: a case's evidence as one streamed ZIP, for staff to hand to the platform."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from agency.api.permissions import IsAgencyStaff, current_user
from agency.api.schema import ErrorSerializer
from agency.errors import NotFound
from cases.selectors import case_get
from evidence.dossier import dossier_contents, dossier_stream

# Ids are bigints; a longer number in the path is a case that cannot exist, not a database error.
MAX_ID = 2**63 - 1


class DossierQuerySerializer(serializers.Serializer[Any]):
    attempt = serializers.IntegerField(required=False, min_value=1, max_value=32767)


class ErrorsAsJson(BaseContentNegotiation):
    """The archive is the only success body and is built by hand; errors are always JSON.

    Without this a client asking for ``Accept: application/zip`` would get 406 from DRF's
    negotiation, and an error could not be rendered in the zip type it asked for.
    """

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class CaseDossierView(APIView):
    permission_classes = [IsAgencyStaff]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = ErrorsAsJson

    @extend_schema(
        operation_id="cases_dossier_retrieve",
        tags=["cases"],
        parameters=[
            OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The case."),
            OpenApiParameter(
                "attempt",
                OpenApiTypes.INT,
                description="Rebuild exactly what this appeal attempt carried (its number, from 1).",
            ),
        ],
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description=(
                    "A ZIP streamed as it is built: index.html, index.csv, manifest.csv, case/ and orders/<order id>/."
                ),
            ),
            400: OpenApiResponse(ErrorSerializer, description="attempt is not a positive whole number."),
            409: OpenApiResponse(
                ErrorSerializer,
                description="The attempt's recorded evidence no longer matches the stored items (details list them).",
            ),
        },
    )
    def get(self, request: Request, pk: int) -> StreamingHttpResponse:
        """The appeal dossier: every order in the appeal with its accepted evidence, named by kind.

        Streamed with a Content-Length; memory on the server does not grow with its size.
        Orders excluded from the appeal are listed in the index but get no folder.
        """
        query = DossierQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if pk > MAX_ID:
            raise NotFound()
        case = case_get(user=current_user(request), case_id=pk)
        contents = dossier_contents(case=case, attempt_number=query.validated_data.get("attempt"))
        archive = dossier_stream(contents)
        # A generator, so that Django closes it (and the file being read) when the response
        # is closed, even if the client went away in the middle.
        response = StreamingHttpResponse(iter(archive), content_type="application/zip")
        response["Content-Length"] = str(len(archive))
        disposition = content_disposition_header(as_attachment=True, filename=contents.filename)
        response["Content-Disposition"] = disposition or "attachment"
        # Evidence is private: no shared cache may keep a copy.
        response["Cache-Control"] = "private, no-store"
        return response
