"""Client portal endpoints for reputation recovery: the plan, and the client's progress on its own tasks."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.fields import DateTimeField
from agency.api.permissions import IsClientUser, current_user
from agency.api.schema import CONFLICT_RESPONSES
from recovery import selectors, services
from recovery.api.base import check_in_day, task_overdue
from recovery.models import RecoveryTask, TaskOwner, TaskStatus
from workflows.deadlines import deadline_label
from workflows.models import Deadline


class PortalTaskSerializer(serializers.ModelSerializer[RecoveryTask]):
    """A task as the client sees it: no staff note, no staff names."""

    yours = serializers.SerializerMethodField(help_text="The client does this task, and reports its progress.")
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = RecoveryTask
        fields = [
            "id",
            "position",
            "title",
            "description",
            "owner",
            "due_date",
            "status",
            "completed_at",
            "yours",
            "overdue",
        ]
        read_only_fields = fields

    def get_yours(self, task: RecoveryTask) -> bool:
        return task.owner == TaskOwner.CLIENT

    def get_overdue(self, task: RecoveryTask) -> bool:
        return task_overdue(task, self.context)


class PortalCheckInSerializer(serializers.ModelSerializer[Deadline]):
    day = serializers.SerializerMethodField()
    title = serializers.SerializerMethodField()

    class Meta:
        model = Deadline
        fields = ["id", "day", "title", "due_at", "status", "met_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_day(self, deadline: Deadline) -> int | None:
        return check_in_day(deadline)

    def get_title(self, deadline: Deadline) -> str:
        return deadline_label(deadline)


class PortalPlanSerializer(serializers.Serializer[selectors.PlanView]):
    id = serializers.IntegerField(source="plan.pk")
    case = serializers.IntegerField(source="case.pk")
    started_at = DateTimeField(source="plan.started_at")
    waived = serializers.SerializerMethodField(help_text="The agency ended the plan early.")
    finished = serializers.BooleanField()
    tasks_open = serializers.IntegerField()
    check_ins_outstanding = serializers.IntegerField()
    tasks = PortalTaskSerializer(many=True)
    check_ins = PortalCheckInSerializer(many=True)

    def get_waived(self, view: selectors.PlanView) -> bool:
        return view.plan.waived_at is not None


class PortalTaskInputSerializer(serializers.Serializer[dict[str, Any]]):
    # One choice set with the staff side (one enum in the schema); the service refuses "todo" with a 400.
    status = serializers.ChoiceField(choices=TaskStatus.choices, help_text="in_progress or done.")


class PortalRecoveryPlanView(GenericAPIView[Any]):
    """The recovery plan of one of the client's cases (404 for another organisation's case, or none yet)."""

    permission_classes = [IsClientUser]
    serializer_class = PortalPlanSerializer

    @extend_schema(tags=["portal"], responses={200: PortalPlanSerializer})
    def get(self, request: Request, case_id: int) -> Response:
        view = selectors.plan_for_client(user=current_user(request), case_id=case_id)
        return Response(PortalPlanSerializer(view, context={"today": view.today}).data)


class PortalRecoveryTaskView(GenericAPIView[Any]):
    permission_classes = [IsClientUser]
    serializer_class = PortalTaskSerializer

    @extend_schema(
        tags=["portal"], request=PortalTaskInputSerializer, responses={200: PortalTaskSerializer, **CONFLICT_RESPONSES}
    )
    def post(self, request: Request, pk: int) -> Response:
        """Report progress on one of your own tasks: in_progress or done (403 for a task the agency does)."""
        data = PortalTaskInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = current_user(request)
        services.portal_task_update(task_id=pk, actor=user, status=data.validated_data["status"])
        return Response(PortalTaskSerializer(selectors.task_for_client(user=user, task_id=pk)).data)
