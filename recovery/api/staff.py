"""Staff endpoints for reputation recovery: templates (administrators edit, staff read) and a case's plan."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.fields import DateTimeField, StrictBooleanField
from agency.api.permissions import HasStaffRole, IsAgencyStaff, current_user
from agency.api.schema import CONFLICT_RESPONSES
from agency.organisations.models import Platform
from cases.api.serializers import UserRefSerializer
from cases.reasons import ReasonCode, reason_code_or_none
from recovery import selectors, services
from recovery.api.base import check_in_day, task_overdue
from recovery.models import RecoveryTask, RecoveryTemplate, RecoveryTemplateTask, TaskOwner, TaskStatus
from workflows import selectors as deadline_selectors
from workflows.deadlines import deadline_closing_reason, deadline_label
from workflows.models import Deadline

# --- Templates -------------------------------------------------------------------------------


class TemplateTaskSerializer(serializers.ModelSerializer[RecoveryTemplateTask]):
    class Meta:
        model = RecoveryTemplateTask
        fields = ["position", "title", "description", "owner", "due_days"]
        read_only_fields = fields


# "" is the general template, used for any platform without one of its own; in and out alike.
TEMPLATE_PLATFORMS = [("", "All platforms"), *Platform.choices]


class TemplateSerializer(serializers.ModelSerializer[RecoveryTemplate]):
    tasks = TemplateTaskSerializer(many=True, read_only=True)
    platform = serializers.ChoiceField(choices=TEMPLATE_PLATFORMS, read_only=True)

    class Meta:
        model = RecoveryTemplate
        fields = ["id", "name", "platform", "check_in_days", "is_active", "tasks", "updated_at"]
        read_only_fields = fields


class TemplateTaskInputSerializer(serializers.Serializer[dict[str, Any]]):
    # Ranges and blanks are the service's to refuse, with the same 400 and field names.
    title = serializers.CharField(allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    owner = serializers.ChoiceField(choices=TaskOwner.choices)
    due_days = serializers.IntegerField(help_text="Days after the plan starts (0 to 365).")
    position = serializers.IntegerField(required=False, allow_null=True, help_text="Defaults to the list order.")


class TemplateInputSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    platform = serializers.ChoiceField(
        choices=TEMPLATE_PLATFORMS,
        allow_blank=True,
        default="",
        help_text="Blank: a general template, used when the case's platform has no active template of its own.",
    )
    check_in_days = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="Days after the start of each check-in: increasing, 1 to 365, at most 10. Default 7, 30, 90.",
    )
    is_active = StrictBooleanField(
        default=True, help_text="One active template per platform (and one general one); a second is a 409."
    )
    tasks = TemplateTaskInputSerializer(
        many=True, required=False, default=list, help_text="On PATCH, replaces the whole list."
    )


def _tasks_by_index(errors: Any) -> Any:
    """Name a nested list's invalid items by their index as a string, as the service does."""
    if not isinstance(errors, dict):
        return errors
    entries = errors.get("tasks")
    if isinstance(entries, list) and all(isinstance(entry, dict) for entry in entries):
        errors = {**errors, "tasks": {str(index): entry for index, entry in enumerate(entries) if entry}}
    elif isinstance(entries, dict):
        # Newer DRF keys a nested list's errors by integer index: the same names as the service's.
        errors = {**errors, "tasks": {str(key): entry for key, entry in entries.items()}}
    return errors


def _template_input(request: Request, *, partial: bool) -> dict[str, Any]:
    data = TemplateInputSerializer(data=request.data, partial=partial)
    if not data.is_valid():
        raise ValidationError(_tasks_by_index(data.errors))
    return dict(data.validated_data)


class RecoveryTemplateListView(GenericAPIView[Any]):
    """Recovery plan templates: every staff member reads them; administrators add them."""

    permission_classes = [IsAgencyStaff, HasStaffRole]
    write_roles = services.TEMPLATE_EDITORS
    serializer_class = TemplateSerializer
    filter_backends: list[Any] = []

    @extend_schema(tags=["recovery"], responses={200: TemplateSerializer(many=True)})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.template_list())
        return self.get_paginated_response(TemplateSerializer(page, many=True).data)

    @extend_schema(
        tags=["recovery"], request=TemplateInputSerializer, responses={201: TemplateSerializer, **CONFLICT_RESPONSES}
    )
    def post(self, request: Request) -> Response:
        """A new template with its tasks and check-in days; a second active one for a platform is a 409."""
        values = _template_input(request, partial=False)
        template = services.template_create(actor=current_user(request), **values)
        return Response(
            TemplateSerializer(selectors.template_get(template_id=template.pk)).data, status=status.HTTP_201_CREATED
        )


class RecoveryTemplateDetailView(GenericAPIView[Any]):
    """One template: read (staff), change (administrators; ``tasks`` replaces the list), deactivate (DELETE)."""

    permission_classes = [IsAgencyStaff, HasStaffRole]
    write_roles = services.TEMPLATE_EDITORS
    serializer_class = TemplateSerializer

    @extend_schema(tags=["recovery"], responses={200: TemplateSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(TemplateSerializer(selectors.template_get(template_id=pk)).data)

    @extend_schema(
        tags=["recovery"], request=TemplateInputSerializer, responses={200: TemplateSerializer, **CONFLICT_RESPONSES}
    )
    def patch(self, request: Request, pk: int) -> Response:
        """Plans already made keep their tasks and check-ins; only new plans use the change."""
        changes = _template_input(request, partial=True)
        services.template_update(actor=current_user(request), template_id=pk, changes=changes)
        return Response(TemplateSerializer(selectors.template_get(template_id=pk)).data)

    @extend_schema(tags=["recovery"], responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        """Deactivate: the template is kept (plans refer to it) but no new plan uses it."""
        services.template_deactivate(actor=current_user(request), template_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- A case's plan ---------------------------------------------------------------------------


class TemplateRefSerializer(serializers.ModelSerializer[RecoveryTemplate]):
    # "" is the general template, as in TemplateSerializer: the schema's enum must include it.
    platform = serializers.ChoiceField(choices=TEMPLATE_PLATFORMS, read_only=True)

    class Meta:
        model = RecoveryTemplate
        fields = ["id", "name", "platform"]
        read_only_fields = fields


class RecoveryTaskSerializer(serializers.ModelSerializer[RecoveryTask]):
    """A task as staff see it, with the staff-only note."""

    assignee = UserRefSerializer(read_only=True, allow_null=True)
    completed_by = UserRefSerializer(read_only=True, allow_null=True)
    overdue = serializers.SerializerMethodField(help_text="Not done and its due date has passed (agency's calendar).")

    class Meta:
        model = RecoveryTask
        fields = [
            "id",
            "position",
            "title",
            "description",
            "owner",
            "assignee",
            "due_date",
            "status",
            "completed_at",
            "completed_by",
            "note",
            "overdue",
            "updated_at",
        ]
        read_only_fields = fields

    def get_overdue(self, task: RecoveryTask) -> bool:
        return task_overdue(task, self.context)


class CheckInSerializer(serializers.ModelSerializer[Deadline]):
    """A check-in: a recovery_check_in deadline, met by hand (POST /api/v1/deadlines/<id>/met/)."""

    day = serializers.SerializerMethodField(help_text="Days after the plan's start; null for one entered by hand.")
    title = serializers.SerializerMethodField()
    outstanding = serializers.SerializerMethodField(help_text="Open, or missed and not met late since.")
    overdue = serializers.SerializerMethodField()
    closing_reason = serializers.SerializerMethodField(
        help_text="Why it was met or cancelled, in the request's language (the system's words, or a person's)."
    )
    closing_reason_code = serializers.SerializerMethodField(
        help_text="The system's reason as a stable code; null when a person typed it (or none was given)."
    )

    class Meta:
        model = Deadline
        fields = [
            "id",
            "day",
            "title",
            "due_at",
            "status",
            "met_at",
            "missed_at",
            "cancelled_at",
            "closing_reason",
            "closing_reason_code",
            "outstanding",
            "overdue",
        ]
        read_only_fields = fields

    def get_closing_reason(self, deadline: Deadline) -> str:
        return deadline_closing_reason(deadline)

    @extend_schema_field(serializers.ChoiceField(choices=ReasonCode.choices, allow_null=True))
    def get_closing_reason_code(self, deadline: Deadline) -> str | None:
        return reason_code_or_none(deadline.closing_reason_code)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_day(self, deadline: Deadline) -> int | None:
        return check_in_day(deadline)

    def get_title(self, deadline: Deadline) -> str:
        return deadline_label(deadline)

    def get_outstanding(self, deadline: Deadline) -> bool:
        return selectors.check_in_outstanding(deadline)

    def get_overdue(self, deadline: Deadline) -> bool:
        now = self.context.get("now") or timezone.now()
        return deadline_selectors.is_overdue(deadline, now)


class RecoveryPlanSerializer(serializers.Serializer[selectors.PlanView]):
    id = serializers.IntegerField(source="plan.pk")
    case = serializers.IntegerField(source="case.pk")
    template = TemplateRefSerializer(source="plan.template", allow_null=True)
    started_at = DateTimeField(source="plan.started_at")
    created_by = UserRefSerializer(source="plan.created_by")
    waived_at = DateTimeField(source="plan.waived_at", allow_null=True)
    waived_by = UserRefSerializer(source="plan.waived_by", allow_null=True)
    waiver_reason = serializers.CharField(source="plan.waiver_reason")
    finished = serializers.BooleanField(
        help_text="Waived, or every task done and every check-in met: the case may close."
    )
    tasks_open = serializers.IntegerField(help_text="Tasks not done yet.")
    check_ins_outstanding = serializers.IntegerField(help_text="Check-ins open, or missed and not met late.")
    tasks = RecoveryTaskSerializer(many=True)
    check_ins = CheckInSerializer(many=True)


def plan_body(view: selectors.PlanView) -> dict[str, Any]:
    return dict(RecoveryPlanSerializer(view, context={"today": view.today, "now": timezone.now()}).data)


class TaskAddInputSerializer(serializers.Serializer[dict[str, Any]]):
    title = serializers.CharField(allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    owner = serializers.ChoiceField(choices=TaskOwner.choices)
    due_date = serializers.DateField()
    assignee = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="A staff task only; defaults to the case's assignee."
    )
    note = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default="", help_text="Staff only; never in the portal."
    )


class TaskUpdateInputSerializer(serializers.Serializer[dict[str, Any]]):
    title = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    owner = serializers.ChoiceField(choices=TaskOwner.choices, required=False)
    due_date = serializers.DateField(required=False)
    assignee = serializers.IntegerField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, help_text="Staff only.")


class TaskRemoveInputSerializer(serializers.Serializer[dict[str, Any]]):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class WaiveInputSerializer(serializers.Serializer[dict[str, Any]]):
    # Blank is refused by the service, with the same 400 and field name.
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


def _task_body(task_id: int, request: Request) -> dict[str, Any]:
    task = selectors.task_for_staff(user=current_user(request), task_id=task_id)
    return dict(RecoveryTaskSerializer(task, context={"today": selectors.business_today()}).data)


class CaseRecoveryPlanView(GenericAPIView[Any]):
    """A case's recovery plan: tasks, check-ins and what is left before the case may close (404 if none)."""

    permission_classes = [IsAgencyStaff]
    serializer_class = RecoveryPlanSerializer

    @extend_schema(tags=["recovery"], responses={200: RecoveryPlanSerializer})
    def get(self, request: Request, case_id: int) -> Response:
        return Response(plan_body(selectors.plan_for_staff(user=current_user(request), case_id=case_id)))


class CaseRecoveryTasksView(GenericAPIView[Any]):
    permission_classes = [IsAgencyStaff, HasStaffRole]
    write_roles = services.PLAN_WORKERS
    serializer_class = RecoveryTaskSerializer

    @extend_schema(
        tags=["recovery"],
        request=TaskAddInputSerializer,
        responses={201: RecoveryTaskSerializer, **CONFLICT_RESPONSES},
    )
    def post(self, request: Request, case_id: int) -> Response:
        """Add a task while the case is in reputation recovery (409 otherwise, or once the plan is waived)."""
        data = TaskAddInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        task = services.plan_task_add(
            case_id=case_id, actor=current_user(request), assignee_id=values.pop("assignee"), **values
        )
        return Response(_task_body(task.pk, request), status=status.HTTP_201_CREATED)


class RecoveryTaskView(GenericAPIView[Any]):
    permission_classes = [IsAgencyStaff, HasStaffRole]
    write_roles = services.PLAN_WORKERS
    serializer_class = RecoveryTaskSerializer

    @extend_schema(
        tags=["recovery"],
        request=TaskUpdateInputSerializer,
        responses={200: RecoveryTaskSerializer, **CONFLICT_RESPONSES},
    )
    def patch(self, request: Request, pk: int) -> Response:
        """Change a task; each change is one history row (the client sees those of its own tasks, never the note)."""
        data = TaskUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.plan_task_update(task_id=pk, actor=current_user(request), changes=data.validated_data)
        return Response(_task_body(pk, request))

    @extend_schema(tags=["recovery"], request=TaskRemoveInputSerializer, responses={204: None, **CONFLICT_RESPONSES})
    def delete(self, request: Request, pk: int) -> Response:
        """Take a task that is not done off the plan (a done one stays: 409)."""
        data = TaskRemoveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.plan_task_remove(task_id=pk, actor=current_user(request), reason=data.validated_data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class CaseRecoveryPlanWaiveView(GenericAPIView[Any]):
    permission_classes = [IsAgencyStaff, HasStaffRole]
    write_roles = services.PLAN_WAIVERS
    serializer_class = RecoveryPlanSerializer

    @extend_schema(
        tags=["recovery"], request=WaiveInputSerializer, responses={200: RecoveryPlanSerializer, **CONFLICT_RESPONSES}
    )
    def post(self, request: Request, case_id: int) -> Response:
        """Waive the rest of the plan with a reason (supervisors): open check-ins are cancelled; the case may close."""
        data = WaiveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = current_user(request)
        services.plan_waive(case_id=case_id, actor=user, reason=data.validated_data["reason"])
        return Response(plan_body(selectors.plan_for_staff(user=user, case_id=case_id)))
