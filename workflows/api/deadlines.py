"""Deadline endpoints: staff read and enter a case's deadlines and waits, see their own and the overdue
ones; the deadlines clients have to meet are in workflows.api.portal."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.fields import DueMomentField
from agency.api.permissions import IsAgencyStaff, current_user
from agency.api.schema import CONFLICT_RESPONSES, ErrorSerializer
from cases.api.serializers import UserRefSerializer
from cases.reasons import ReasonCode, reason_code_or_none
from workflows import deadline_services as services
from workflows import selectors
from workflows.calendar import provisional_reason
from workflows.deadline_services import MAX_BUDGET_AMOUNT
from workflows.deadlines import deadline_closing_reason, deadline_label
from workflows.models import CaseWait, Deadline, DeadlineKind, DeadlineStatus, TimeUnit, WaitingOn

# --- Representations ---------------------------------------------------------------------------


class NowMixin:
    """One "now" per response, so every row of a page is judged at the same moment."""

    _now: dt.datetime | None = None

    def now(self) -> dt.datetime:
        if self._now is None:
            self._now = timezone.now()
        return self._now


class BudgetSerializer(serializers.Serializer[dict[str, Any]]):
    amount = serializers.IntegerField()
    unit = serializers.ChoiceField(choices=TimeUnit.choices)


TITLE_HELP = "The title staff gave the deadline, else a name for its kind in the request's language."
CLOSING_REASON_HELP = (
    "Why it was met or cancelled, in the request's language: the system's reason worded from "
    "closing_reason_code, or what a person typed, as typed."
)
CLOSING_REASON_CODE_HELP = "The system's reason as a stable code; null when a person typed it (or none was given)."
CLOSING_REASON_PARAMS_HELP = "The values closing_reason_code is worded with; null with no code."


class DeadlineSerializer(NowMixin, serializers.ModelSerializer[Deadline]):
    """A deadline as staff see it: its basis, its clock and where it stands now."""

    case_reference = serializers.CharField(source="case.reference", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    title = serializers.SerializerMethodField(help_text=TITLE_HELP)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    paused = serializers.SerializerMethodField(help_text="The clock is paused while the case waits; due_at is null.")
    budget = serializers.SerializerMethodField(help_text="How long from starts_at; null for a fixed due time.")
    overdue = serializers.SerializerMethodField(
        help_text="Open and past its due time, or missed and not made good since, on an open case."
    )
    remaining_seconds = serializers.SerializerMethodField(
        help_text="Open and running: seconds until due (negative once past). Otherwise null."
    )
    provisional = serializers.BooleanField(
        read_only=True,
        help_text="A working-time clock whose span reaches a year without an official holiday arrangement: "
        "computed on that year's statutory holidays, and recomputed when the arrangement is entered.",
    )
    provisional_years = serializers.ListField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="The years without an official arrangement the clock reaches; empty when not provisional.",
    )
    provisional_reason = serializers.SerializerMethodField(
        help_text="Why the due time is provisional, in the request's language; null when it is not."
    )
    closing_reason = serializers.SerializerMethodField(help_text=CLOSING_REASON_HELP)
    closing_reason_code = serializers.SerializerMethodField(help_text=CLOSING_REASON_CODE_HELP)
    closing_reason_params = serializers.SerializerMethodField(help_text=CLOSING_REASON_PARAMS_HELP)

    class Meta:
        model = Deadline
        fields = [
            "id",
            "case",
            "case_reference",
            "kind",
            "kind_display",
            "title",
            "note",
            "status",
            "status_display",
            "due_at",
            "paused",
            "paused_at",
            "used_seconds",
            "starts_at",
            "budget",
            "basis",
            "client_facing",
            "pausable",
            "stage",
            "evidence_request",
            "met_at",
            "missed_at",
            "cancelled_at",
            "closing_reason",
            "closing_reason_code",
            "closing_reason_params",
            "overdue",
            "remaining_seconds",
            "provisional",
            "provisional_years",
            "provisional_reason",
            "created_at",
        ]
        read_only_fields = fields

    def get_title(self, deadline: Deadline) -> str:
        return deadline_label(deadline)

    def get_provisional_reason(self, deadline: Deadline) -> str | None:
        return provisional_reason(deadline.provisional_years) if deadline.provisional else None

    def get_closing_reason(self, deadline: Deadline) -> str:
        return deadline_closing_reason(deadline)

    @extend_schema_field(serializers.ChoiceField(choices=ReasonCode.choices, allow_null=True))
    def get_closing_reason_code(self, deadline: Deadline) -> str | None:
        return reason_code_or_none(deadline.closing_reason_code)

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_closing_reason_params(self, deadline: Deadline) -> dict[str, Any] | None:
        return deadline.closing_reason_params if deadline.closing_reason_code else None

    def get_paused(self, deadline: Deadline) -> bool:
        return deadline.paused_at is not None

    @extend_schema_field(BudgetSerializer(allow_null=True))
    def get_budget(self, deadline: Deadline) -> dict[str, Any] | None:
        if deadline.budget_amount is None:
            return None
        return {"amount": deadline.budget_amount, "unit": deadline.budget_unit}

    def get_overdue(self, deadline: Deadline) -> bool:
        return selectors.is_overdue(deadline, self.now())

    def get_remaining_seconds(self, deadline: Deadline) -> int | None:
        return selectors.remaining_seconds(deadline, self.now())


class OverdueDeadlineSerializer(DeadlineSerializer):
    """An overdue deadline in the agency-wide list, with who has the case."""

    assignee = UserRefSerializer(source="case.assignee", read_only=True, allow_null=True)

    class Meta(DeadlineSerializer.Meta):
        fields = [*DeadlineSerializer.Meta.fields, "assignee"]
        read_only_fields = fields


class CaseWaitSerializer(serializers.ModelSerializer[CaseWait]):
    started_by = UserRefSerializer(read_only=True, allow_null=True)
    ended_by = UserRefSerializer(read_only=True, allow_null=True)
    active = serializers.SerializerMethodField(help_text="Still waiting: the case's internal clocks are paused.")

    class Meta:
        model = CaseWait
        fields = ["id", "waiting_on", "source", "note", "started_at", "ended_at", "started_by", "ended_by", "active"]
        read_only_fields = fields

    def get_active(self, wait: CaseWait) -> bool:
        return wait.ended_at is None


# --- Inputs ------------------------------------------------------------------------------------


class DeadlineInputSerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(
        choices=DeadlineKind.choices,
        help_text=(
            "Staff enter platform_appeal_window, platform_supplement and recovery_check_in; "
            "the other kinds are kept by the system (400)."
        ),
    )
    due_at = DueMomentField(
        required=False, allow_null=True, default=None, help_text="A fixed due time (from the platform's notice)."
    )
    amount = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=MAX_BUDGET_AMOUNT,
        help_text="With unit, instead of due_at: how long from starts_at.",
    )
    unit = serializers.ChoiceField(choices=TimeUnit.choices, required=False, allow_blank=True, default="")
    starts_at = DueMomentField(
        required=False, allow_null=True, default=None, help_text="Where amount and unit count from; defaults to now."
    )
    title = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="Defaults to the kind's name. The client sees the title of a recovery_check_in; never the note.",
    )
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class DeadlineMoveInputSerializer(serializers.Serializer[dict[str, Any]]):
    due_at = DueMomentField(help_text="The new fixed due time; must be in the future.")
    # Blank is refused by the service, with the same 400 and field name.
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class DeadlineReasonInputSerializer(serializers.Serializer[dict[str, Any]]):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class DeadlineListQuerySerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.ChoiceField(choices=DeadlineStatus.choices, required=False)


class MyDeadlinesQuerySerializer(serializers.Serializer[dict[str, Any]]):
    days = serializers.IntegerField(
        required=False, default=7, min_value=1, max_value=90, help_text="Look this many days ahead (1 to 90)."
    )


class OverdueQuerySerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(choices=DeadlineKind.choices, required=False)
    assignee = serializers.IntegerField(required=False, min_value=1, help_text="Only cases assigned to this user.")


class CaseWaitInputSerializer(serializers.Serializer[dict[str, Any]]):
    waiting_on = serializers.ChoiceField(choices=WaitingOn.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CaseWaitEndInputSerializer(serializers.Serializer[dict[str, Any]]):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


FILTER_RESPONSES = {400: OpenApiResponse(ErrorSerializer, description="An invalid filter value (details.fields).")}


def _query(serializer_class: type[serializers.Serializer[dict[str, Any]]], request: Request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


# --- Staff: one case ---------------------------------------------------------------------------


@extend_schema(tags=["deadlines"])
class CaseDeadlinesView(GenericAPIView[Any]):
    """A case's deadlines (GET), or one staff enter by hand (POST)."""

    permission_classes = [IsAgencyStaff]
    serializer_class = DeadlineSerializer
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[DeadlineListQuerySerializer],
        responses={200: DeadlineSerializer(many=True), **FILTER_RESPONSES},
    )
    def get(self, request: Request, case_id: int) -> Response:
        """Every deadline of the case, open ones first and soonest first; `?status=open` for the open ones."""
        wanted = _query(DeadlineListQuerySerializer, request)
        found = selectors.case_deadlines(user=current_user(request), case_id=case_id, status=wanted.get("status", ""))
        page = self.paginate_queryset(found)
        return self.get_paginated_response(DeadlineSerializer(page, many=True).data)

    @extend_schema(request=DeadlineInputSerializer, responses={201: DeadlineSerializer, **CONFLICT_RESPONSES})
    def post(self, request: Request, case_id: int) -> Response:
        """Enter a platform's appeal window or supplement request, or a recovery check-in.

        Either a fixed `due_at` or `amount` and `unit` (from `starts_at`, default now).
        409: the case is finished, or already has an open appeal window (move that one).
        """
        data = DeadlineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.deadline_create(case_id=case_id, actor=current_user(request), **data.validated_data)
        return Response(DeadlineSerializer(created).data, status=status.HTTP_201_CREATED)


class _DeadlineActionView(GenericAPIView[Any]):
    """POST {input} to /deadlines/{id}/<action>/: validate, call one service, answer with the deadline."""

    permission_classes = [IsAgencyStaff]
    serializer_class = DeadlineSerializer
    input_serializer: type[serializers.Serializer[Any]]

    def act(self, *, deadline_id: int, request: Request, **inputs: Any) -> Deadline:
        raise NotImplementedError

    def _respond(self, request: Request, pk: int) -> Response:
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        deadline = self.act(deadline_id=pk, request=request, **data.validated_data)
        return Response(DeadlineSerializer(deadline).data)


@extend_schema(tags=["deadlines"])
class DeadlineMoveView(_DeadlineActionView):
    input_serializer = DeadlineMoveInputSerializer

    def act(self, *, deadline_id: int, request: Request, **inputs: Any) -> Deadline:
        return services.deadline_move_to(deadline_id=deadline_id, actor=current_user(request), **inputs)

    @extend_schema(request=DeadlineMoveInputSerializer, responses={200: DeadlineSerializer, **CONFLICT_RESPONSES})
    def post(self, request: Request, pk: int) -> Response:
        """Move an open deadline to a new fixed time, with a reason (for example, the platform granted more time)."""
        return self._respond(request, pk)


@extend_schema(tags=["deadlines"])
class DeadlineMetView(_DeadlineActionView):
    input_serializer = DeadlineReasonInputSerializer

    def act(self, *, deadline_id: int, request: Request, **inputs: Any) -> Deadline:
        return services.deadline_mark_met(deadline_id=deadline_id, actor=current_user(request), **inputs)

    @extend_schema(request=DeadlineReasonInputSerializer, responses={200: DeadlineSerializer, **CONFLICT_RESPONSES})
    def post(self, request: Request, pk: int) -> Response:
        """Mark a hand-entered deadline met (a missed one: met late). 409 for kinds that close themselves."""
        return self._respond(request, pk)


@extend_schema(tags=["deadlines"])
class DeadlineCancelView(_DeadlineActionView):
    input_serializer = DeadlineReasonInputSerializer

    def act(self, *, deadline_id: int, request: Request, **inputs: Any) -> Deadline:
        return services.deadline_cancel(deadline_id=deadline_id, actor=current_user(request), **inputs)

    @extend_schema(request=DeadlineReasonInputSerializer, responses={200: DeadlineSerializer, **CONFLICT_RESPONSES})
    def post(self, request: Request, pk: int) -> Response:
        """Cancel an open deadline, with a reason: hand-entered kinds; supervisors may cancel any."""
        return self._respond(request, pk)


# --- Staff: across cases -----------------------------------------------------------------------


@extend_schema(tags=["deadlines"])
class MyDeadlinesView(GenericAPIView[Any]):
    permission_classes = [IsAgencyStaff]
    serializer_class = DeadlineSerializer
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[MyDeadlinesQuerySerializer], responses={200: DeadlineSerializer(many=True), **FILTER_RESPONSES}
    )
    def get(self, request: Request) -> Response:
        """Deadlines on my open cases due within `days` days, and every overdue one; soonest first, paused last."""
        wanted = _query(MyDeadlinesQuerySerializer, request)
        found = selectors.my_deadlines(user=current_user(request), days=wanted["days"])
        page = self.paginate_queryset(found)
        return self.get_paginated_response(DeadlineSerializer(page, many=True).data)


@extend_schema(tags=["deadlines"])
class OverdueDeadlinesView(GenericAPIView[Any]):
    permission_classes = [IsAgencyStaff]
    serializer_class = OverdueDeadlineSerializer
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[OverdueQuerySerializer],
        responses={200: OverdueDeadlineSerializer(many=True), **FILTER_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        """Overdue deadlines across the agency, oldest due first; supervisors and administrators only."""
        wanted = _query(OverdueQuerySerializer, request)
        found = selectors.overdue_deadlines(
            user=current_user(request), kind=wanted.get("kind", ""), assignee_id=wanted.get("assignee")
        )
        page = self.paginate_queryset(found)
        return self.get_paginated_response(OverdueDeadlineSerializer(page, many=True).data)


# --- Staff: waits ------------------------------------------------------------------------------


WAITING_ON_PARAMETER = OpenApiParameter(
    "waiting_on",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=list(WaitingOn.values),
    description="Who the case waits on.",
)


@extend_schema(tags=["deadlines"])
class CaseWaitsView(GenericAPIView[Any]):
    """When the case waited, or waits, on the client or the platform (GET); start waiting (POST)."""

    permission_classes = [IsAgencyStaff]
    serializer_class = CaseWaitSerializer
    filter_backends: list[Any] = []

    @extend_schema(responses={200: CaseWaitSerializer(many=True)})
    def get(self, request: Request, case_id: int) -> Response:
        """The case's waits, current ones first, then newest first."""
        page = self.paginate_queryset(selectors.case_waits(user=current_user(request), case_id=case_id))
        return self.get_paginated_response(CaseWaitSerializer(page, many=True).data)

    @extend_schema(request=CaseWaitInputSerializer, responses={201: CaseWaitSerializer, **CONFLICT_RESPONSES})
    def post(self, request: Request, case_id: int) -> Response:
        """Start waiting on the client or the platform: stage SLAs pause; the platform's deadlines run on."""
        data = CaseWaitInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wait = services.case_wait_add(case_id=case_id, actor=current_user(request), **data.validated_data)
        return Response(CaseWaitSerializer(wait).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["deadlines"], parameters=[WAITING_ON_PARAMETER])
class CaseWaitEndView(GenericAPIView[Any]):
    permission_classes = [IsAgencyStaff]
    serializer_class = CaseWaitSerializer

    @extend_schema(request=CaseWaitEndInputSerializer, responses={200: CaseWaitSerializer, **CONFLICT_RESPONSES})
    def post(self, request: Request, case_id: int, waiting_on: str) -> Response:
        """Stop waiting on that party: paused clocks run again with the time they had left."""
        data = CaseWaitEndInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wait = services.case_wait_stop(
            case_id=case_id, actor=current_user(request), waiting_on=waiting_on, note=data.validated_data["note"]
        )
        return Response(CaseWaitSerializer(wait).data)
