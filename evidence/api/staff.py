"""Staff evidence API: list and upload per case, accept every item whose checks match; read one item
(with its check), download it, read its text, review and remove it."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.permissions import IsAgencyStaff, current_user
from agency.api.schema import CONFLICT_RESPONSES, ErrorSerializer
from cases import selectors as case_selectors
from cases.models import Case
from evidence import selectors, services
from evidence.api import serializers as s
from evidence.api.base import (
    CASE_ID_PARAMETER,
    DOWNLOAD_RESPONSES,
    UPLOAD_RESPONSES,
    CaseEvidenceBase,
    EvidenceItemBase,
    text_response,
)
from evidence.api.filters import StaffEvidenceFilter
from evidence.downloads import evidence_file_response
from evidence.models import EvidenceItem
from integrations.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotency_responses, idempotent


@extend_schema(parameters=[CASE_ID_PARAMETER])
class CaseEvidenceViewSet(CaseEvidenceBase):
    """A case's evidence items as staff see them, and uploads to it."""

    permission_classes = [IsAgencyStaff]
    serializer_class = s.EvidenceItemSerializer
    filterset_class = StaffEvidenceFilter

    def _case(self) -> Case:
        return case_selectors.case_get(user=current_user(self.request), case_id=int(self.kwargs["id"]))

    @extend_schema(responses={200: s.EvidenceItemSerializer(many=True)})
    def list(self, request: Request, id: str) -> Response:
        """The case's evidence, oldest first (?ordering=check: mismatches first); by default only items that
        count (not removed or superseded). Each item carries its check and findings."""
        return self._listed(selectors.evidence_list(case=self._case()), s.EvidenceItemSerializer)

    @extend_schema(
        request={"multipart/form-data": s.EvidenceUploadInputSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=idempotency_responses({201: s.EvidenceItemSerializer, **UPLOAD_RESPONSES}),
    )
    @idempotent
    def create(self, request: Request, id: str) -> Response:
        """Upload one file for a flagged order of the case, or for the case as a whole (multipart)."""
        item = self._upload(request)
        item = selectors.evidence_get(user=current_user(request), item_id=item.pk)
        return Response(s.EvidenceItemSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.AcceptMatchingInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=idempotency_responses(
            {
                200: s.AcceptMatchingResultSerializer,
                409: OpenApiResponse(
                    ErrorSerializer, description="invalid_state: the case is finished (closed, declined, withdrawn)."
                ),
            }
        ),
        filters=False,
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="accept-matching",
        parser_classes=[JSONParser],
        filter_backends=[],
        pagination_class=None,
    )
    @idempotent
    def accept_matching(self, request: Request, id: str) -> Response:
        """Accept, in one action, every pending item whose check matched its order (`kind`: only that kind).

        Items that count, not in a submitted appeal, whose check is done with the outcome
        match. Each acceptance gets its own history row, with the reviewer and the reason
        "checks matched"; items that contradict their order, could not be checked or wait
        for their check stay for a person. Evidence reviewers, case managers, supervisors
        and administrators (403 otherwise); 404 for a case the caller cannot see.
        """
        data = s.AcceptMatchingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        accepted = services.evidence_accept_matching(
            case_id=int(id), actor=current_user(request), kind=data.validated_data.get("kind")
        )
        case = case_selectors.case_get(user=current_user(request), case_id=int(id))
        items = selectors.evidence_list(case=case).filter(pk__in=[item.pk for item in accepted])
        result = {"accepted": len(accepted), "items": items}
        return Response(s.AcceptMatchingResultSerializer(result).data)


class EvidenceViewSet(EvidenceItemBase):
    """One evidence item, for staff who can see its case (anyone else: 404)."""

    permission_classes = [IsAgencyStaff]
    serializer_class = s.EvidenceItemSerializer

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

    @extend_schema(responses={200: s.EvidenceTextSerializer})
    @action(detail=True, methods=["get"])
    def text(self, request: Request, pk: str) -> Response:
        """The text read from the file, for staff who can see the case (others: 404).

        JSON rather than text/plain: how the file was read (method: text_layer, text, ocr,
        mixed, none) and how many of its pages come with the text, and errors keep the one
        error shape. `text` separates pages by a form feed and lines by a newline; `pages`
        has the same as lists of lines. Until the file is read method is blank, read_at null
        and the text empty. How the text compares with the order is the item's `check`.
        """
        return text_response(selectors.evidence_text(item=self._item()))

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
        self._remove(request, s.RemoveInputSerializer)
        return Response(s.EvidenceItemSerializer(self._item()).data)
