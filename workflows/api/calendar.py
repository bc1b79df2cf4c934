"""The working calendar and stage SLAs over the API: staff read them, administrators change them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.fields import DateTimeField, StrictBooleanField
from agency.api.filters import AgencyFilterSet
from agency.api.permissions import HasStaffRole, IsAgencyStaff, current_user
from agency.api.schema import ErrorSerializer
from agency.errors import InvalidInput, NotFound
from cases.models import CaseState
from workflows import calendar_services as services
from workflows.calendar import (
    WORKING_UNITS,
    CalendarRangeError,
    business_time_zone,
    load_calendar,
    outside_supported_years,
    provisional_reason,
    range_error_fields,
    supported_years,
)
from workflows.holidays import statutory_holidays
from workflows.models import CalendarDay, CalendarDayKind, CalendarDaySource, CalendarYear, StageSla, TimeUnit

DATE_REGEX = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
DATE_PARAMETER = OpenApiParameter(
    "date", OpenApiTypes.DATE, OpenApiParameter.PATH, description="The day, as YYYY-MM-DD."
)
YEAR_PARAMETER = OpenApiParameter(
    "year", OpenApiTypes.INT, OpenApiParameter.PATH, description="The year, from 2000 to five years after this one."
)
PROVISIONAL_HELP = (
    "True when the span reaches a year whose official holiday arrangement is not loaded: the time was "
    "computed on that year's statutory holidays and moves when the arrangement is entered."
)
PROVISIONAL_YEARS_HELP = "The years without an official arrangement that the span reaches; empty when not provisional."
PROVISIONAL_REASON_HELP = "Why the time is provisional, in the request's language; null when it is not."


class BusinessDateTimeField(DateTimeField):
    """A datetime read and written in the business time zone: a naive input is local agency time."""

    def default_timezone(self) -> Any:
        return business_time_zone()


def _field_errors(errors: Any) -> dict[str, list[str]]:
    return {field: [str(message) for message in messages] for field, messages in errors.items()}


def _path_date(value: str) -> dt.date:
    # The path matches YYYY-MM-DD; a day that does not exist (2027-02-30) names nothing.
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise NotFound() from exc


# --- Calendar days -----------------------------------------------------------------------


class CalendarDaySerializer(serializers.ModelSerializer[CalendarDay]):
    """A public holiday or make-up working day; PUT sends ``kind`` and ``name``."""

    # One serializer reads and writes, so the schema has one component and one enum for kind.
    kind = serializers.ChoiceField(choices=CalendarDayKind.choices)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    # A plain string, not an enum: "source" is already the name of another choice set in the schema.
    source = serializers.CharField(  # type: ignore[assignment]  # a field named like Field.source
        read_only=True, help_text='"library": the official schedule (chinese-calendar); "manual": entered by staff.'
    )
    source_display = serializers.CharField(source="get_source_display", read_only=True)
    updated_by = serializers.CharField(source="updated_by.label", read_only=True, allow_null=True)

    class Meta:
        model = CalendarDay
        fields = ["date", "kind", "kind_display", "name", "source", "source_display", "updated_by", "updated_at"]
        read_only_fields = ["date", "updated_at"]


class YearFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class CalendarDayFilter(AgencyFilterSet):
    year = YearFilter(
        field_name="date",
        lookup_expr="year",
        min_value=services.FIRST_CALENDAR_YEAR,
        max_value=services.LAST_CALENDAR_YEAR,
        label="Calendar year.",
    )
    kind = django_filters.ChoiceFilter(choices=CalendarDayKind.choices)
    source = django_filters.ChoiceFilter(choices=CalendarDaySource.choices)

    class Meta:
        model = CalendarDay
        fields = ["year", "kind", "source"]


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("year", OpenApiTypes.INT, description="Calendar year, e.g. 2027.")])
)
class CalendarDayViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Any]):
    """The days that break the weekly rule: public holidays and make-up working days (调休).

    Every other day follows the working weekdays in settings. Changing a day recomputes
    the running working-time deadlines over it.
    """

    permission_classes = [IsAgencyStaff, HasStaffRole]
    write_roles = services.CALENDAR_EDITORS
    lookup_field = "date"
    lookup_value_regex = DATE_REGEX
    serializer_class = CalendarDaySerializer
    filterset_class = CalendarDayFilter
    ordering_fields = ["date"]
    ordering = ["date"]

    def get_queryset(self) -> QuerySet[CalendarDay]:
        return services.calendar_days_list()

    @extend_schema(parameters=[DATE_PARAMETER], responses={200: CalendarDaySerializer})
    def retrieve(self, request: Request, date: str) -> Response:
        found = services.calendar_days_list().filter(date=_path_date(date)).first()
        if found is None:
            raise NotFound()
        return Response(CalendarDaySerializer(found).data)

    @extend_schema(parameters=[DATE_PARAMETER], request=CalendarDaySerializer, responses={200: CalendarDaySerializer})
    def update(self, request: Request, date: str) -> Response:
        """Make the day a public holiday or a make-up working day, creating or replacing its entry."""
        day = _path_date(date)
        data = CalendarDaySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.calendar_day_set(
            actor=current_user(request), date=day, kind=data.validated_data["kind"], name=data.validated_data["name"]
        )
        return Response(CalendarDaySerializer(services.calendar_days_list().get(date=day)).data)

    @extend_schema(parameters=[DATE_PARAMETER], responses={204: None})
    def destroy(self, request: Request, date: str) -> Response:
        """Return the day to the weekly rule."""
        services.calendar_day_remove(actor=current_user(request), date=_path_date(date))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Calendar years ----------------------------------------------------------------------


class StatutoryHolidaySerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    name = serializers.CharField()


class CalendarYearSerializer(serializers.ModelSerializer[CalendarYear]):
    """Whether a year's official holiday arrangement is loaded; PUT sends ``official``."""

    official = StrictBooleanField(
        help_text="The year's official arrangement (public holidays and make-up working days) is entered. "
        "Until then the year runs on its statutory holidays and the clocks that reach it are provisional."
    )
    # A plain string, as on calendar days: "source" is already the name of another choice set in the schema.
    source = serializers.CharField(  # type: ignore[assignment]  # a field named like Field.source
        read_only=True,
        help_text='"library": made official by calendar_import; "manual": by an administrator (or never set).',
    )
    updated_by = serializers.CharField(source="updated_by.label", read_only=True, allow_null=True)
    updated_at = DateTimeField(
        read_only=True, allow_null=True, help_text="When the year was last marked; null for a year never recorded."
    )
    holidays_entered = serializers.IntegerField(read_only=True, help_text="Public holiday entries in the year.")
    workdays_entered = serializers.IntegerField(read_only=True, help_text="Make-up working day entries in the year.")
    statutory_holidays = serializers.SerializerMethodField(
        help_text="The statutory holidays of the year by rule: the days off it is computed on while not official."
    )

    class Meta:
        model = CalendarYear
        fields = [
            "year",
            "official",
            "source",
            "updated_by",
            "updated_at",
            "holidays_entered",
            "workdays_entered",
            "statutory_holidays",
        ]
        read_only_fields = ["year"]

    @extend_schema_field(StatutoryHolidaySerializer(many=True))
    def get_statutory_holidays(self, year: CalendarYear) -> list[dict[str, Any]]:
        return [{"date": day, "name": name} for day, name in statutory_holidays(year.year).items()]


def _path_year(value: str) -> int:
    year = int(value)
    if services.supported_year_error(year) is not None:
        raise NotFound()
    return year


class CalendarYearViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Any]):
    """The years the working calendar has a record of, and whether each one's official arrangement is loaded.

    A year becomes official when an administrator has entered its days and marks it so (or
    ``calendar_import`` loads it from the library); every provisional clock that reaches it
    is then recomputed and loses the mark. Any supported year can be read, recorded or not.
    """

    permission_classes = [IsAgencyStaff, HasStaffRole]
    write_roles = services.CALENDAR_EDITORS
    lookup_field = "year"
    lookup_value_regex = r"[0-9]{4}"
    serializer_class = CalendarYearSerializer
    filter_backends: list[Any] = []
    pagination_class = None

    def get_queryset(self) -> QuerySet[CalendarYear]:
        return services.calendar_years_list()

    @extend_schema(parameters=[YEAR_PARAMETER], responses={200: CalendarYearSerializer})
    def retrieve(self, request: Request, year: str) -> Response:
        return Response(CalendarYearSerializer(services.calendar_year_get(year=_path_year(year))).data)

    @extend_schema(
        parameters=[YEAR_PARAMETER],
        request=CalendarYearSerializer,
        responses={
            200: CalendarYearSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Invalid input; details.fields names each."),
        },
    )
    def update(self, request: Request, year: str) -> Response:
        """Mark the year's official arrangement as entered (``official: true``), or withdraw that."""
        data = CalendarYearSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        number = _path_year(year)
        services.calendar_year_set(actor=current_user(request), year=number, official=data.validated_data["official"])
        return Response(CalendarYearSerializer(services.calendar_year_get(year=number)).data)


# --- Working-time calculator -------------------------------------------------------------


class WorkingTimeQuerySerializer(serializers.Serializer[Any]):
    start = BusinessDateTimeField(
        required=False, help_text="ISO 8601; without an offset it is agency time. Default: now."
    )
    amount = serializers.IntegerField(min_value=0, max_value=1000)
    unit = serializers.ChoiceField(choices=TimeUnit.choices)

    def validate_start(self, value: dt.datetime) -> dt.datetime:
        # Far outside the years the calendar knows, an answer would be a guess on an empty calendar.
        first, last = supported_years()
        if not first <= value.astimezone(business_time_zone()).year <= last:
            raise serializers.ValidationError(outside_supported_years(first, last))
        return value


class WorkingTimeSerializer(serializers.Serializer[Any]):
    start = BusinessDateTimeField()
    due = BusinessDateTimeField(help_text="When a budget of amount units from start runs out.")
    amount = serializers.IntegerField()
    unit = serializers.ChoiceField(choices=TimeUnit.choices)
    budget_seconds = serializers.IntegerField(help_text="The budget in seconds of the unit's measure.")
    working_day = serializers.BooleanField(help_text="Whether the start's date is a working day.")
    time_zone = serializers.CharField()
    provisional = serializers.BooleanField(help_text=PROVISIONAL_HELP)
    provisional_years = serializers.ListField(child=serializers.IntegerField(), help_text=PROVISIONAL_YEARS_HELP)
    provisional_reason = serializers.CharField(allow_null=True, help_text=PROVISIONAL_REASON_HELP)


class WorkingTimeView(GenericAPIView[Any]):
    """Where a budget in a unit ends, on the agency's working calendar: a calculator for staff."""

    permission_classes = [IsAgencyStaff]
    serializer_class = WorkingTimeSerializer
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(
        parameters=[WorkingTimeQuerySerializer],
        responses={
            200: WorkingTimeSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Invalid parameters; details.fields names each."),
        },
    )
    def get(self, request: Request) -> Response:
        query = WorkingTimeQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise InvalidInput(details={"fields": _field_errors(query.errors)})
        calendar = load_calendar()
        start: dt.datetime = query.validated_data.get("start") or timezone.now()
        start = start.astimezone(calendar.tz)
        amount: int = query.validated_data["amount"]
        unit: str = query.validated_data["unit"]
        try:
            due = calendar.add(start, amount, unit)
        except CalendarRangeError as exc:
            raise InvalidInput(details={"fields": range_error_fields(exc, start_field="start")}) from exc
        # Natural time (and a zero budget) does not depend on the holidays: only working time can be provisional.
        years = list(calendar.unofficial_years(start, due)) if unit in WORKING_UNITS and amount else []
        result = {
            "start": start,
            "due": due,
            "amount": amount,
            "unit": unit,
            "budget_seconds": calendar.budget_seconds(amount, unit),
            "working_day": calendar.is_working_day(start.date()),
            "time_zone": str(calendar.tz),
            "provisional": bool(years),
            "provisional_years": years,
            "provisional_reason": provisional_reason(years),
        }
        return Response(WorkingTimeSerializer(result).data)


# --- Stage SLAs --------------------------------------------------------------------------


class StageSlaSerializer(serializers.ModelSerializer[StageSla]):
    state_display = serializers.SerializerMethodField()

    class Meta:
        model = StageSla
        fields = ["id", "state", "state_display", "amount", "unit", "active", "updated_at"]
        read_only_fields = ["id", "state", "state_display", "updated_at"]
        extra_kwargs = {"amount": {"min_value": 1, "max_value": services.STAGE_SLA_MAX_AMOUNT}}

    def get_state_display(self, sla: StageSla) -> str:
        return str(CaseState(sla.state).label) if sla.state in CaseState.values else sla.state


class StageSlaViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Any]):
    """How long a case may stay in each state before it is late; clocks started later use a change."""

    permission_classes = [IsAgencyStaff, HasStaffRole]
    write_roles = services.CALENDAR_EDITORS
    lookup_value_regex = r"[0-9]{1,18}"
    serializer_class = StageSlaSerializer
    queryset = StageSla.objects.all()
    filterset_fields = ["active"]
    ordering_fields = ["state"]
    ordering = ["state"]

    @extend_schema(responses={200: StageSlaSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change a stage's amount, unit or whether its clock runs at all."""
        sla = self.get_object()
        data = StageSlaSerializer(sla, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        updated = services.stage_sla_update(actor=current_user(request), sla_id=sla.pk, changes=data.validated_data)
        return Response(StageSlaSerializer(updated).data)
