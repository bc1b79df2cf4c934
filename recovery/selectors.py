"""Read-side queries for reputation recovery: templates, and a case's plan as staff and the client see it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from agency.accounts.models import User
from agency.errors import NotFound
from cases.models import Case
from cases.selectors import case_for_actor, portal_case_get
from recovery.models import RecoveryPlan, RecoveryTask, RecoveryTemplate, TaskStatus
from workflows.calendar import business_time_zone
from workflows.models import Deadline, DeadlineKind, DeadlineStatus


def business_today() -> dt.date:
    """Today in the agency's time zone: task due dates are the agency's calendar days."""
    return timezone.localtime(timezone.now(), business_time_zone()).date()


def check_in_outstanding(deadline: Deadline) -> bool:
    """Still to be done: open, or missed and not met late since. Met, met late or cancelled are settled."""
    return deadline.status == DeadlineStatus.OPEN or (
        deadline.status == DeadlineStatus.MISSED and deadline.met_at is None
    )


def _check_ins(case_id: int) -> QuerySet[Deadline]:
    return Deadline.objects.filter(case_id=case_id, kind=DeadlineKind.RECOVERY_CHECK_IN)


def plan_finished(case: Case) -> bool:
    """Waived, or every task done and every check-in met (met late or cancelled counts)."""
    plan = RecoveryPlan.objects.filter(case_id=case.pk).first()
    if plan is None:
        return False
    if plan.waived_at is not None:
        return True
    if plan.tasks.exclude(status=TaskStatus.DONE).exists():
        return False
    check_ins = _check_ins(case.pk)
    return (
        not check_ins.filter(status=DeadlineStatus.OPEN).exists()
        and not check_ins.filter(status=DeadlineStatus.MISSED, met_at__isnull=True).exists()
    )


# --- Templates -------------------------------------------------------------------------------


def template_list() -> QuerySet[RecoveryTemplate]:
    """Every template (staff read them all), with its tasks in one more query."""
    return RecoveryTemplate.objects.prefetch_related("tasks").order_by("-is_active", "platform", "name", "id")


def template_get(*, template_id: int) -> RecoveryTemplate:
    template = template_list().filter(pk=template_id).first()
    if template is None:
        raise NotFound()
    return template


# --- A case's plan ---------------------------------------------------------------------------


@dataclass
class PlanView:
    """A plan with its tasks and check-ins loaded, and what is left before the case may close."""

    case: Case
    plan: RecoveryPlan
    tasks: list[RecoveryTask]
    check_ins: list[Deadline]
    today: dt.date = field(default_factory=lambda: business_today())

    @property
    def tasks_open(self) -> int:
        return sum(1 for task in self.tasks if task.status != TaskStatus.DONE)

    @property
    def check_ins_outstanding(self) -> int:
        return sum(1 for deadline in self.check_ins if check_in_outstanding(deadline))

    @property
    def finished(self) -> bool:
        """The same rule as ``plan_finished``, on the rows already loaded."""
        return self.plan.waived_at is not None or (self.tasks_open == 0 and self.check_ins_outstanding == 0)


def _plan_view(case: Case, plan: RecoveryPlan | None, check_ins: Iterable[Deadline]) -> PlanView:
    if plan is None:
        raise NotFound()
    loaded = list(check_ins)
    for deadline in loaded:
        deadline.case = case
    return PlanView(case=case, plan=plan, tasks=list(plan.tasks.all()), check_ins=loaded)


def _check_ins_in_order(case: Case) -> QuerySet[Deadline]:
    return _check_ins(case.pk).order_by("starts_at", "due_at", "id")


def plan_for_staff(*, user: User, case_id: int) -> PlanView:
    """The case's plan (404 if the user cannot see the case, or it has none): four queries."""
    case = case_for_actor(actor=user, case_id=case_id)
    plan = (
        RecoveryPlan.objects.select_related("template", "created_by", "waived_by")
        .prefetch_related(Prefetch("tasks", queryset=RecoveryTask.objects.select_related("assignee", "completed_by")))
        .filter(case_id=case.pk)
        .first()
    )
    return _plan_view(case, plan, _check_ins_in_order(case))


def plan_for_client(*, user: User, case_id: int) -> PlanView:
    """The plan of one of the client user's organisation's cases (404 for any other case, or no plan)."""
    case = portal_case_get(user=user, case_id=case_id)
    plan = RecoveryPlan.objects.prefetch_related("tasks").filter(case_id=case.pk).first()
    return _plan_view(case, plan, _check_ins_in_order(case))


def task_for_client(*, user: User, task_id: int) -> RecoveryTask:
    task = (
        RecoveryTask.objects.filter(pk=task_id, plan__case__organisation__memberships__user_id=user.pk)
        .select_related(None)
        .first()
    )
    if task is None:
        raise NotFound()
    return task


def task_for_staff(*, user: User, task_id: int) -> RecoveryTask:
    task = RecoveryTask.objects.select_related("plan", "assignee", "completed_by").filter(pk=task_id).first()
    if task is None:
        raise NotFound()
    case_for_actor(actor=user, case_id=task.plan.case_id)
    return task
