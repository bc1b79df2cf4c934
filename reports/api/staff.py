"""Report endpoints: GET /api/v1/reports/<name>/ as JSON, or CSV with ?format=csv or Accept: text/csv."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.fields import DateTimeField
from agency.api.permissions import IsAgencyStaff, current_user
from agency.organisations.models import Platform
from cases.models import ViolationType
from reports.queries import REPORTS, ReportFilters, ReportSpec, business_zone, report_run
from reports.renderers import ReportCSVRenderer


class SeesWholeAgency(BasePermission):
    """Reports cover every case: supervisors and administrators only."""

    message = gettext_lazy("Only supervisors and administrators may read reports.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(getattr(request.user, "sees_all_cases", False))


class ReportQuerySerializer(serializers.Serializer[dict[str, Any]]):
    """The filters a report takes; ``groupings`` and ``case_filters`` come from the report's spec."""

    groupings: tuple[str, ...] = ()
    default_grouping: tuple[str, ...] = ()

    def validate_group_by(self, value: str) -> tuple[str, ...]:
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in self.groupings]
        if unknown:
            raise serializers.ValidationError(
                _("Unknown grouping: %(unknown)s. Choose from: %(allowed)s.")
                % {"unknown": ", ".join(unknown), "allowed": ", ".join(self.groupings)}
            )
        return tuple(name for name in self.groupings if name in names)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("created_from"), attrs.get("created_to")
        if start is not None and end is not None and end < start:
            raise serializers.ValidationError({"created_to": [_("The end date is before the start date.")]})
        return attrs


def _query_serializer(name: str, spec: ReportSpec) -> type[ReportQuerySerializer]:
    fields: dict[str, Any] = {"groupings": spec.groupings, "default_grouping": spec.default_grouping}
    if spec.case_filters:
        fields.update(
            created_from=serializers.DateField(
                required=False, help_text="Cases created on or after this day (business time zone)."
            ),
            created_to=serializers.DateField(
                required=False, help_text="Cases created on or before this day (business time zone)."
            ),
            platform=serializers.ChoiceField(choices=Platform.choices, required=False),
            violation_type=serializers.ChoiceField(choices=ViolationType.choices, required=False),
        )
    if spec.groupings:
        default = ",".join(spec.default_grouping) or "none"
        fields["group_by"] = serializers.CharField(
            required=False,
            allow_blank=True,
            help_text=(
                f"Comma-separated subset of: {', '.join(spec.groupings)}. Default: {default}; empty: one row of totals."
            ),
        )
    class_name = "".join(part.title() for part in name.split("-")) + "ReportQuerySerializer"
    return type(class_name, (ReportQuerySerializer,), fields)


class ReportSerializer(serializers.Serializer[dict[str, Any]]):
    report = serializers.CharField()
    generated_at = DateTimeField()
    filters = serializers.DictField(help_text="The filters applied, as understood.")
    columns = serializers.ListField(child=serializers.CharField(), help_text="The columns of each row, in order.")
    rows = serializers.ListField(child=serializers.DictField())
    totals = serializers.DictField()


class ReportView(GenericAPIView[Any]):
    """One report; subclasses name it. JSON by default, CSV on request (errors are always JSON)."""

    permission_classes = [IsAgencyStaff, SeesWholeAgency]
    renderer_classes = [JSONRenderer, ReportCSVRenderer]
    filter_backends: list[Any] = []
    pagination_class = None
    report_name = ""
    query_serializer_class: type[ReportQuerySerializer] = ReportQuerySerializer

    def get(self, request: Request) -> Response:
        query = self.query_serializer_class(data=request.query_params)
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        filters = ReportFilters(
            created_from=wanted.get("created_from"),
            created_to=wanted.get("created_to"),
            platform=wanted.get("platform", ""),
            violation_type=wanted.get("violation_type", ""),
            group_by=wanted.get("group_by"),
        )
        report = report_run(user=current_user(request), name=self.report_name, filters=filters)
        response = Response(report.as_dict())
        if isinstance(getattr(request, "accepted_renderer", None), ReportCSVRenderer):
            day = timezone.localtime(report.generated_at, business_zone()).date().isoformat()
            response["Content-Disposition"] = f'attachment; filename="report-{self.report_name}-{day}.csv"'
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        # A CSV request that fails answers the API's JSON error shape, not an empty sheet.
        if response.status_code >= 400 and isinstance(getattr(response, "accepted_renderer", None), ReportCSVRenderer):
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response


DESCRIPTIONS = {
    "cases-by-state": "How many cases are in each state; every state is listed, zero included. "
    "group_by=platform gives one block of states per platform with cases.",
    "success-rates": "Cases with an outcome by platform, violation type and month of the outcome (business time "
    "zone): accepted, partially accepted, rejected; orders appealed (cleared plus upheld) and cleared; "
    "order_success_rate = cleared / appealed, case_success_rate = (accepted + partially) / decided.",
    "time-in-state": "Per state a case passes through (terminal states left out): closed spans, with the median, "
    "90th percentile and mean time spent there, in hours.",
    "overdue": "Overdue deadlines on open cases (open past due, or missed and not made good), by kind, assignee "
    "and platform, with the total.",
    "workload": "Per staff member: open cases, open flagged orders, deadlines this week, overdue items and the "
    "weighted work the automatic assignment compares.",
    "fees": "Fee quotes by fee model, currency and status (optionally month of the client's decision): quotes, "
    "current quoted total, accepted quotes and their total, amount due computed, and accepted quotes "
    "whose case awaits an outcome.",
}


def _report_view(name: str, spec: ReportSpec) -> type[ReportView]:
    query_serializer = _query_serializer(name, spec)
    class_name = "".join(part.title() for part in name.split("-")) + "ReportView"

    # A function of its own per view: extend_schema stores the schema on the function it decorates.
    def get(self: ReportView, request: Request) -> Response:
        return ReportView.get(self, request)

    documented = extend_schema(
        tags=["reports"],
        summary=f"Report: {name}",
        description=DESCRIPTIONS[name] + " Supervisors and administrators only. CSV with ?format=csv or "
        "Accept: text/csv (UTF-8 with a BOM, as an attachment).",
        parameters=[query_serializer] if spec.case_filters or spec.groupings else [],
        responses={
            (200, "application/json"): ReportSerializer,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="The columns as a header line, then one line per row."
            ),
        },
    )(get)
    return type(
        class_name,
        (ReportView,),
        {
            "report_name": name,
            "query_serializer_class": query_serializer,
            "__doc__": DESCRIPTIONS[name],
            "get": documented,
        },
    )


REPORT_VIEWS: dict[str, type[ReportView]] = {name: _report_view(name, spec) for name, spec in REPORTS.items()}
