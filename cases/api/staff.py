"""Staff case API: thin views that validate input, call one service or selector, serialise."""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.permissions import IsAgencyStaff, current_user
from agency.api.schema import CONFLICT_RESPONSES, TRANSITION_RESPONSES, ErrorSerializer
from cases import selectors
from cases.api import serializers as s
from cases.api.filters import CaseFilter
from cases.models import Case
from casework import importing, services
from evidence import rules as evidence_rules
from evidence import selectors as evidence_selectors
from integrations.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotency_responses, idempotent


class CaseViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Any]):
    """Cases as staff see them, scoped to the caller's role and team."""

    permission_classes = [IsAgencyStaff]
    # Ids are positive bigints; anything else is a 404 from the router, not a 500 later.
    lookup_value_regex = r"[0-9]{1,18}"
    # For schema generation only; get_queryset() scopes every real request.
    queryset = Case.objects.none()
    serializer_class = s.CaseListSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = CaseFilter
    ordering_fields = [
        "reference",
        "created_at",
        "updated_at",
        "notice_received_at",
        "appeal_deadline",
        "state",
        "penalty_points",
        "flagged_order_count",
    ]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> Any:
        return selectors.case_list(user=current_user(self.request))

    def _case(self) -> Case:
        return selectors.case_get(user=current_user(self.request), case_id=int(self.kwargs["pk"]))

    def _detail(self, case_id: int, status_code: int = status.HTTP_200_OK) -> Response:
        case = selectors.case_get(user=current_user(self.request), case_id=case_id)
        return Response(s.CaseDetailSerializer(case).data, status=status_code)

    @extend_schema(responses={200: s.CaseDetailSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(s.CaseDetailSerializer(self._case()).data)

    @extend_schema(
        request=s.CaseCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=idempotency_responses(
            {
                201: s.CaseDetailSerializer,
                409: OpenApiResponse(
                    ErrorSerializer,
                    description="duplicate_external_reference: the organisation already has a case with this "
                    "external_reference; details.case is its id.",
                ),
            }
        ),
    )
    @idempotent
    def create(self, request: Request) -> Response:
        """Open a case at intake from a violation notice, optionally with its flagged orders."""
        data = s.CaseCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.case_create(actor=current_user(request), **data.validated_data)
        return self._detail(case.pk, status.HTTP_201_CREATED)

    @extend_schema(request=s.CaseDetailsInputSerializer, responses={200: s.CaseDetailSerializer, **CONFLICT_RESPONSES})
    def partial_update(self, request: Request, pk: str) -> Response:
        """Correct the notice's details; allowed while the case is in intake or assessment."""
        case = self._case()
        data = s.CaseDetailsInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.case_update_details(case_id=case.pk, actor=current_user(request), changes=data.validated_data)
        return self._detail(case.pk)

    @extend_schema(
        methods=["GET"],
        responses={200: s.AvailableTransitionSerializer(many=True)},
        description="The transitions the caller may take now, each with its unmet conditions.",
    )
    @extend_schema(
        methods=["POST"],
        request=s.TransitionInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=idempotency_responses({200: s.CaseDetailSerializer, **TRANSITION_RESPONSES}),
        description=(
            "Take one transition. 409: not possible from the current state, or the case changed; "
            "400: unmet conditions (all listed); 403: role may not; 404: not visible."
        ),
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    @idempotent
    def transitions(self, request: Request, pk: str) -> Response:
        if request.method == "GET":
            available: Any = services.transitions_for(case=self._case(), actor=current_user(request))
            return Response(s.AvailableTransitionSerializer(available, many=True).data)
        # The transition loads the case (404 when not visible) once, with what the answer
        # shows, and hands back the evidence it read so the answer does not read it again.
        data = s.TransitionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.case_transition(
            case_id=int(pk),
            name=data.validated_data["transition"],
            actor=current_user(request),
            reason=data.validated_data["reason"],
            outcome=data.validated_data["outcome"],
            expected_state=data.validated_data["expected_state"],
        )
        return Response(s.CaseDetailSerializer(case).data)

    @extend_schema(request=s.AssignInputSerializer, responses={200: s.CaseDetailSerializer, **CONFLICT_RESPONSES})
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str) -> Response:
        """Assign, reassign (with a reason) or unassign; supervisors and administrators only."""
        case = self._case()
        data = s.AssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.case_assign(
            case_id=case.pk,
            actor=current_user(request),
            assignee_id=data.validated_data["assignee"],
            reason=data.validated_data["reason"],
        )
        return self._detail(case.pk)

    @extend_schema(responses={200: s.CaseEventSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request: Request, pk: str) -> Response:
        """The case's full, append-only history, oldest first."""
        queryset = selectors.case_events(case=self._case())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(s.CaseEventSerializer(page, many=True).data)

    @extend_schema(
        methods=["GET"],
        parameters=[s.OrderListQuerySerializer],
        responses={200: s.FlaggedOrderWithEvidenceSerializer(many=True)},
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        request=s.FlaggedOrderInputSerializer,
        responses={201: s.FlaggedOrderSerializer, **CONFLICT_RESPONSES},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def orders(self, request: Request, pk: str) -> Response:
        """The case's flagged orders (GET), or add one (POST)."""
        case = self._case()
        if request.method == "GET":
            query = s.OrderListQuerySerializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            orders = evidence_selectors.flagged_orders_filtered(case=case, **query.validated_data)
            page = self.paginate_queryset(orders)
            statuses = evidence_rules.order_statuses(case, list(page or []))
            return self.get_paginated_response(
                s.FlaggedOrderWithEvidenceSerializer(page, many=True, context={"statuses": statuses}).data
            )
        data = s.FlaggedOrderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.flagged_orders_add(
            case_id=case.pk, actor=current_user(request), orders=[data.validated_data]
        )
        return Response(s.FlaggedOrderSerializer(created[0]).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.FlaggedOrderBulkSerializer,
        responses={201: s.FlaggedOrderSerializer(many=True), **CONFLICT_RESPONSES},
    )
    @action(detail=True, methods=["post"], url_path="orders/bulk", filter_backends=[], pagination_class=None)
    def orders_bulk(self, request: Request, pk: str) -> Response:
        """Add many flagged orders in one request: all are added, or none (errors by index)."""
        case = self._case()
        data = s.FlaggedOrderBulkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.flagged_orders_add(
            case_id=case.pk,
            actor=current_user(request),
            orders=data.validated_data["orders"],
        )
        return Response(s.FlaggedOrderSerializer(created, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={"multipart/form-data": s.FlaggedOrderImportInputSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=idempotency_responses(
            {
                201: s.FlaggedOrderImportResultSerializer,
                200: OpenApiResponse(s.FlaggedOrderImportResultSerializer, description="Dry run: nothing was written."),
                400: OpenApiResponse(
                    ErrorSerializer,
                    description=(
                        "Nothing imported. A bad file, mapping or missing required column: details.fields. "
                        "Bad rows: details.rows lists {row, column, field, message} (row 1 is the header; "
                        "at most 500 listed; a cell past the header has its column letter and a null field) "
                        "and details.error_count counts them all."
                    ),
                ),
                **CONFLICT_RESPONSES,
            }
        ),
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="orders/import",
        filter_backends=[],
        parser_classes=[MultiPartParser, FormParser],
    )
    @idempotent
    def orders_import(self, request: Request, pk: str) -> Response:
        """Import the platform's export of flagged orders (CSV or XLSX): every row is valid and imported, or none."""
        case = self._case()
        data = s.FlaggedOrderImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = importing.flagged_orders_import(
            case_id=case.pk,
            actor=current_user(request),
            upload=data.validated_data["file"],
            mapping=data.validated_data["mapping"],
            default_goods_type=data.validated_data["default_goods_type"],
            default_currency=data.validated_data["default_currency"],
            dry_run=data.validated_data["dry_run"],
        )
        answer = status.HTTP_200_OK if result.dry_run else status.HTTP_201_CREATED
        return Response(s.FlaggedOrderImportResultSerializer(result).data, status=answer)

    def _set_excluded(self, request: Request, pk: str, order_id: str, *, excluded: bool) -> Response:
        case = self._case()
        data = s.ExclusionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.flagged_order_set_excluded(
            case_id=case.pk,
            order_id=int(order_id),
            actor=current_user(request),
            excluded=excluded,
            reason=data.validated_data["reason"],
        )
        return Response(s.FlaggedOrderSerializer(order).data)

    @extend_schema(
        request=s.FlaggedOrderUpdateSerializer,
        responses={
            200: s.FlaggedOrderSerializer,
            409: OpenApiResponse(ErrorSerializer, description="invalid_state: the case is finished."),
        },
    )
    @action(detail=True, methods=["patch"], url_path=r"orders/(?P<order_id>[0-9]{1,18})", filter_backends=[])
    def order_update(self, request: Request, pk: str, order_id: str) -> Response:
        """Correct an order's courier, tracking number or buyer handle while the case is open.

        These are what the merchant supplied; the order's evidence is checked again against
        the new values. The platform's order id, order time and amount stay as the notice
        gave them (400 naming the field). The roles that add orders; one history row.
        """
        case = self._case()
        data = s.FlaggedOrderUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.flagged_order_update(
            case_id=case.pk, order_id=int(order_id), actor=current_user(request), changes=data.validated_data
        )
        return Response(s.FlaggedOrderSerializer(order).data)

    @extend_schema(request=s.ExclusionInputSerializer, responses={200: s.FlaggedOrderSerializer, **CONFLICT_RESPONSES})
    @action(detail=True, methods=["post"], url_path=r"orders/(?P<order_id>[0-9]{1,18})/exclude", filter_backends=[])
    def order_exclude(self, request: Request, pk: str, order_id: str) -> Response:
        """Leave an order out of the appeal, with a reason: it then needs no evidence."""
        return self._set_excluded(request, pk, order_id, excluded=True)

    @extend_schema(request=s.ExclusionInputSerializer, responses={200: s.FlaggedOrderSerializer, **CONFLICT_RESPONSES})
    @action(detail=True, methods=["post"], url_path=r"orders/(?P<order_id>[0-9]{1,18})/include", filter_backends=[])
    def order_include(self, request: Request, pk: str, order_id: str) -> Response:
        """Bring an excluded order back into the appeal."""
        return self._set_excluded(request, pk, order_id, excluded=False)
