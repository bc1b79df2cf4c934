"""Reputation recovery: templates edited by administrators; plans copied at start_recovery, worked task by
task by staff and the client, then done or waived with a reason."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import STAFF_ROLES, Role, User
from agency.accounts.permissions import require_role
from agency.errors import Conflict, InvalidInput, InvalidState, NotAllowed, NotFound
from agency.organisations.models import Platform
from cases.history import record_case_event
from cases.models import Case, CaseState, EventKind
from cases.permissions import ASSIGNERS, CASE_WORKERS
from cases.selectors import case_for_actor
from recovery.models import RecoveryPlan, RecoveryTask, RecoveryTemplate, RecoveryTemplateTask, TaskOwner, TaskStatus
from workflows import deadlines
from workflows.calendar import business_time_zone
from workflows.models import Deadline, DeadlineKind, DeadlineStatus, TimeUnit

TEMPLATE_EDITORS = (Role.ADMINISTRATOR,)
# Who works a plan's tasks (case managers on their team's cases, supervisors, administrators).
PLAN_WORKERS = CASE_WORKERS
# Waiving the plan gives up on what was agreed with the client: a supervisor's decision.
PLAN_WAIVERS = ASSIGNERS
MAX_CHECK_INS = 10
MAX_CHECK_IN_DAY = 365
MAX_TEMPLATE_TASKS = 30
MAX_DUE_DAYS = 365
MAX_PLAN_TASKS = 100
# Client statuses: the client reports progress on its own tasks; it does not plan them.
CLIENT_STATUSES = (TaskStatus.IN_PROGRESS, TaskStatus.DONE)
# What a client (and a client's integration) may learn about a task. The note and the
# staff member doing it are the agency's own.
PUBLIC_TASK_FIELDS = ("title", "description", "owner", "due_date", "status")
TASK_FIELDS = (*PUBLIC_TASK_FIELDS, "assignee", "note")


class ActiveTemplateExists(Conflict):
    """Another template is already active for the platform; details.template is its id."""

    code = "active_template_exists"


def business_date(at: dt.datetime) -> dt.date:
    """The calendar day of ``at`` in the agency's time zone."""
    return timezone.localtime(at, business_time_zone()).date()


# --- Templates -------------------------------------------------------------------------------


def _check_in_errors(days: Any) -> list[str]:
    if not isinstance(days, list) or any(isinstance(day, bool) or not isinstance(day, int) for day in days):
        return [_("Give a list of whole numbers of days.")]
    errors = []
    if len(days) > MAX_CHECK_INS:
        errors.append(_("At most %(n)d check-ins.") % {"n": MAX_CHECK_INS})
    if any(not 1 <= day <= MAX_CHECK_IN_DAY for day in days):
        errors.append(_("Each check-in day must be between 1 and %(max)d.") % {"max": MAX_CHECK_IN_DAY})
    if any(later <= earlier for earlier, later in itertools.pairwise(days)):
        errors.append(_("Check-in days must be strictly increasing, for example 7, 30, 90."))
    return errors


def _template_task_errors(tasks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if len(tasks) > MAX_TEMPLATE_TASKS:
        return {"tasks": [_("At most %(n)d tasks per template.") % {"n": MAX_TEMPLATE_TASKS}]}
    by_index: dict[str, dict[str, list[str]]] = {}
    for index, task in enumerate(tasks):
        errors: dict[str, list[str]] = {}
        title = str(task.get("title") or "").strip()
        if not title:
            errors["title"] = [_("Give the task a title.")]
        elif len(title) > 200:
            errors["title"] = [_("At most %(n)d characters.") % {"n": 200}]
        if task.get("owner") not in TaskOwner.values:
            errors["owner"] = [_("Choose who does the task: %(owners)s.") % {"owners": ", ".join(TaskOwner.values)}]
        due_days = task.get("due_days")
        if isinstance(due_days, bool) or not isinstance(due_days, int) or not 0 <= due_days <= MAX_DUE_DAYS:
            errors["due_days"] = [
                _("Days after the plan starts: a whole number from 0 to %(max)d.") % {"max": MAX_DUE_DAYS}
            ]
        position = task.get("position")
        if position is not None and (isinstance(position, bool) or not isinstance(position, int) or position < 0):
            errors["position"] = [_("A position is a whole number from 0.")]
        if errors:
            by_index[str(index)] = errors
    return {"tasks": by_index} if by_index else {}


def _template_errors(values: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if "name" in values:
        name = str(values["name"] or "").strip()
        if not name:
            errors["name"] = [_("Give the template a name.")]
        elif len(name) > 200:
            errors["name"] = [_("At most %(n)d characters.") % {"n": 200}]
    if "platform" in values and values["platform"] not in ("", *Platform.values):
        errors["platform"] = [_("Unknown platform; leave it blank for a template that fits every platform.")]
    if "check_in_days" in values:
        check_in_errors = _check_in_errors(values["check_in_days"])
        if check_in_errors:
            errors["check_in_days"] = check_in_errors
    if "tasks" in values:
        errors.update(_template_task_errors(values["tasks"]))
    return errors


def _refuse_second_active(template: RecoveryTemplate) -> None:
    if not template.is_active:
        return
    other = (
        RecoveryTemplate.objects.filter(platform=template.platform, is_active=True)
        .exclude(pk=template.pk)
        .values_list("pk", flat=True)
        .first()
    )
    if other is not None:
        raise ActiveTemplateExists(_platform_taken_message(template.platform), details=_taken_details(template, other))


def _platform_taken_message(platform: str) -> str:
    if platform:
        return _("Another template is already active for %(platform)s; deactivate it first.") % {
            "platform": Platform(platform).label
        }
    return _("Another general template (for every platform) is already active; deactivate it first.")


def _taken_details(template: RecoveryTemplate, other: int | None) -> dict[str, Any]:
    return {"template": other, "platform": template.platform, "fields": {"is_active": [_("Only one can be active.")]}}


def _save_template(template: RecoveryTemplate, tasks: Sequence[Mapping[str, Any]] | None) -> None:
    """Save, and replace the tasks if given; the database's constraint settles a race for "active"."""
    _refuse_second_active(template)
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as exc:
        raise ActiveTemplateExists(
            _platform_taken_message(template.platform), details=_taken_details(template, None)
        ) from exc
    if tasks is None:
        return
    template.tasks.all().delete()
    RecoveryTemplateTask.objects.bulk_create(
        RecoveryTemplateTask(
            template=template,
            position=int(task["position"]) if task.get("position") is not None else index,
            title=str(task["title"]).strip(),
            description=str(task.get("description") or "").strip(),
            owner=task["owner"],
            due_days=task["due_days"],
        )
        for index, task in enumerate(tasks)
    )


@transaction.atomic
def template_create(
    *,
    actor: User,
    name: str,
    platform: str = "",
    check_in_days: list[int] | None = None,
    is_active: bool = True,
    tasks: Sequence[Mapping[str, Any]] = (),
) -> RecoveryTemplate:
    """A new template; only one may be active per platform (409 naming the active one)."""
    require_role(actor, TEMPLATE_EDITORS)
    values: dict[str, Any] = {"name": name, "platform": platform, "tasks": list(tasks)}
    if check_in_days is not None:
        values["check_in_days"] = check_in_days
    errors = _template_errors(values)
    if errors:
        raise InvalidInput(details={"fields": errors})
    template = RecoveryTemplate(name=name.strip(), platform=platform, is_active=is_active)
    if check_in_days is not None:
        template.check_in_days = check_in_days
    _save_template(template, values["tasks"])
    return template


@transaction.atomic
def template_update(*, actor: User, template_id: int, changes: Mapping[str, Any]) -> RecoveryTemplate:
    """Change a template; ``tasks``, when given, replaces the whole task list. Plans already made keep theirs."""
    require_role(actor, TEMPLATE_EDITORS)
    template = RecoveryTemplate.objects.select_for_update().filter(pk=template_id).first()
    if template is None:
        raise NotFound()
    errors = _template_errors(changes)
    if errors:
        raise InvalidInput(details={"fields": errors})
    for field in ("name", "platform", "check_in_days", "is_active"):
        if field in changes:
            value = changes[field]
            setattr(template, field, value.strip() if field == "name" else value)
    tasks = changes.get("tasks")
    _save_template(template, list(tasks) if tasks is not None else None)
    return template


@transaction.atomic
def template_deactivate(*, actor: User, template_id: int) -> RecoveryTemplate:
    """Stop using a template for new plans; it is kept for the plans made from it."""
    require_role(actor, TEMPLATE_EDITORS)
    template = RecoveryTemplate.objects.select_for_update().filter(pk=template_id).first()
    if template is None:
        raise NotFound()
    if template.is_active:
        template.is_active = False
        template.save(update_fields=["is_active", "updated_at"])
    return template


def template_for_platform(platform: str) -> RecoveryTemplate | None:
    """The active template for the platform, else the active general one, else none."""
    candidates = {
        template.platform: template
        for template in RecoveryTemplate.objects.filter(is_active=True, platform__in=[platform, ""]).prefetch_related(
            "tasks"
        )
    }
    return candidates.get(platform) or candidates.get("")


# --- Starting a plan ---------------------------------------------------------------------------


def plan_start(*, case: Case, actor: User) -> RecoveryPlan:
    """Copy the fitting template into the case's plan, with one check-in deadline per check-in day.

    Called by ``case_transition`` after ``start_recovery``, in its transaction. Task due
    dates count calendar days from the agency's today; check-ins count natural days from
    the start, at the same local time. Staff tasks go to the case's assignee. A case that
    already has a plan keeps it (no second copy, no second set of check-ins).
    """
    existing = RecoveryPlan.objects.filter(case_id=case.pk).first()
    if existing is not None:
        return existing
    platform = case.shop.platform
    template = template_for_platform(platform)
    now = timezone.now()
    plan = RecoveryPlan.objects.create(case=case, template=template, started_at=now, created_by=actor)
    start_date = business_date(now)
    template_tasks = list(template.tasks.all()) if template is not None else []
    RecoveryTask.objects.bulk_create(
        RecoveryTask(
            plan=plan,
            position=task.position,
            title=task.title,
            description=task.description,
            owner=task.owner,
            assignee_id=case.assignee_id if task.owner == TaskOwner.STAFF else None,
            due_date=start_date + dt.timedelta(days=task.due_days),
        )
        for task in template_tasks
    )
    check_in_days = list(template.check_in_days) if template is not None else []
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.RECOVERY_PLAN_CREATED,
        new_value={
            "plan": plan.pk,
            "tasks": len(template_tasks),
            "client_tasks": sum(1 for task in template_tasks if task.owner == TaskOwner.CLIENT),
            "check_in_days": check_in_days,
        },
        client_visible=True,
    )
    for day in check_in_days:
        deadlines.deadline_set(
            case=case,
            kind=DeadlineKind.RECOVERY_CHECK_IN,
            actor=actor,
            starts_at=now,
            amount=day,
            unit=TimeUnit.NATURAL_DAYS,
            # No stored title: the kind's name is rendered in the reader's language, and the
            # day is in the basis for whoever wants "day 7".
            basis={"source": "recovery_plan", "plan": plan.pk, "day": day},
        )
    return plan


# --- Working a plan ----------------------------------------------------------------------------


def _require_recovery(case: Case) -> None:
    if case.state != CaseState.REPUTATION_RECOVERY:
        raise InvalidState(
            _("The recovery plan can change only while the case is in reputation recovery (now: %(state)s).")
            % {"state": CaseState(case.state).label},
            details={"state": case.state},
        )


def _plan_of(case: Case, *, lock: bool = True) -> RecoveryPlan:
    plans = RecoveryPlan.objects.filter(case_id=case.pk)
    plan = (plans.select_for_update() if lock else plans).first()
    if plan is None:
        raise NotFound(_("This case has no recovery plan."))
    return plan


def _require_not_waived(plan: RecoveryPlan) -> None:
    if plan.waived_at is not None:
        raise InvalidState(_("The recovery plan was waived; it can no longer change."), details={"waived": True})


def _locked_task(actor: User, task_id: int) -> tuple[Case, RecoveryPlan, RecoveryTask]:
    """The task, with its case locked first (404 if the actor cannot see the case), then its plan and itself."""
    case_id = RecoveryTask.objects.filter(pk=task_id).values_list("plan__case_id", flat=True).first()
    if case_id is None:
        raise NotFound()
    case = case_for_actor(actor=actor, case_id=case_id, lock=True)
    plan = _plan_of(case)
    task = RecoveryTask.objects.select_for_update().get(pk=task_id)
    return case, plan, task


def _staff_assignee(assignee_id: int) -> User:
    user = User.objects.filter(pk=assignee_id, is_active=True, role__in=STAFF_ROLES, api_key__isnull=True).first()
    if user is None:
        raise InvalidInput(details={"fields": {"assignee": [_("Choose an active member of the agency's staff.")]}})
    return user


def _public(task: RecoveryTask) -> dict[str, Any]:
    return {
        "task": task.pk,
        "title": task.title,
        "owner": task.owner,
        "status": task.status,
        "due_date": task.due_date.isoformat(),
    }


def _task_event(
    *,
    case: Case,
    actor: User,
    task: RecoveryTask,
    old: Mapping[str, Any],
    action: str,
    reason: str = "",
    was_client: bool = False,
) -> None:
    """One history row per task change. new_value goes to the client's integrations: public fields only."""
    changed = [field for field in PUBLIC_TASK_FIELDS if field in old]
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.RECOVERY_TASK_CHANGED,
        old_value={key: value.isoformat() if isinstance(value, dt.date) else value for key, value in old.items()}
        or None,
        new_value={**_public(task), "action": action, "changed": changed},
        reason=reason,
        client_visible=(was_client or task.owner == TaskOwner.CLIENT) and (action != "updated" or bool(changed)),
    )


def _set_status(task: RecoveryTask, status: str, actor: User) -> None:
    if status == task.status:
        return
    task.status = status
    if status == TaskStatus.DONE:
        task.completed_at, task.completed_by = timezone.now(), actor
    else:
        task.completed_at, task.completed_by = None, None


def _task_value_errors(values: Mapping[str, Any], *, plan: RecoveryPlan) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if "title" in values:
        title = str(values["title"] or "").strip()
        if not title:
            errors["title"] = [_("Give the task a title.")]
        elif len(title) > 200:
            errors["title"] = [_("At most %(n)d characters.") % {"n": 200}]
    if "owner" in values and values["owner"] not in TaskOwner.values:
        errors["owner"] = [_("Choose who does the task: %(owners)s.") % {"owners": ", ".join(TaskOwner.values)}]
    if "status" in values and values["status"] not in TaskStatus.values:
        errors["status"] = [_("Unknown status.")]
    if "due_date" in values:
        due = values["due_date"]
        if not isinstance(due, dt.date):
            errors["due_date"] = [_("Give a date.")]
        elif due < business_date(plan.started_at):
            errors["due_date"] = [_("The due date cannot be before the plan started.")]
    return errors


@transaction.atomic
def plan_task_add(
    *,
    case_id: int,
    actor: User,
    title: str,
    owner: str,
    due_date: dt.date,
    description: str = "",
    assignee_id: int | None = None,
    note: str = "",
) -> RecoveryTask:
    """Add a task to the case's plan; a staff task goes to the case's assignee unless another is named."""
    require_role(actor, PLAN_WORKERS)
    case = case_for_actor(actor=actor, case_id=case_id, lock=True)
    _require_recovery(case)
    plan = _plan_of(case)
    _require_not_waived(plan)
    errors = _task_value_errors({"title": title, "owner": owner, "due_date": due_date}, plan=plan)
    if owner == TaskOwner.CLIENT and assignee_id is not None:
        errors["assignee"] = [_("A client's task has no staff assignee.")]
    if plan.tasks.count() >= MAX_PLAN_TASKS:
        errors["title"] = [_("A plan has at most %(n)d tasks.") % {"n": MAX_PLAN_TASKS}]
    if errors:
        raise InvalidInput(details={"fields": errors})
    assignee = None
    if owner == TaskOwner.STAFF:
        assignee = _staff_assignee(assignee_id) if assignee_id is not None else case.assignee
    last = plan.tasks.order_by("-position").values_list("position", flat=True).first()
    task = RecoveryTask.objects.create(
        plan=plan,
        position=0 if last is None else last + 1,
        title=title.strip(),
        description=description.strip(),
        owner=owner,
        assignee=assignee,
        due_date=due_date,
        note=note.strip(),
    )
    _task_event(case=case, actor=actor, task=task, old={}, action="added")
    return task


@transaction.atomic
def plan_task_update(*, task_id: int, actor: User, changes: Mapping[str, Any]) -> RecoveryTask:
    """Change a task's details, owner, assignee, status or staff note; one history row with the old values.

    Moving a task to the client clears its assignee; moving it to the agency gives it the
    case's assignee unless one is named.
    """
    require_role(actor, PLAN_WORKERS)
    case, plan, task = _locked_task(actor, task_id)
    _require_recovery(case)
    _require_not_waived(plan)
    changes = {key: value for key, value in changes.items() if key in TASK_FIELDS}
    errors = _task_value_errors(changes, plan=plan)
    owner = changes.get("owner", task.owner)
    if owner == TaskOwner.CLIENT and changes.get("assignee") is not None:
        errors["assignee"] = [_("A client's task has no staff assignee.")]
    if errors:
        raise InvalidInput(details={"fields": errors})
    if "assignee" in changes and changes["assignee"] is not None:
        changes["assignee"] = _staff_assignee(int(changes["assignee"])).pk
    was_client = task.owner == TaskOwner.CLIENT
    old: dict[str, Any] = {}

    def put(field: str, value: Any) -> None:
        attribute = "assignee_id" if field == "assignee" else field
        if getattr(task, attribute) != value:
            old[field] = getattr(task, attribute)
            setattr(task, attribute, value)

    for field in ("title", "description", "note"):
        if field in changes:
            put(field, str(changes[field] or "").strip())
    if "due_date" in changes:
        put("due_date", changes["due_date"])
    if "owner" in changes:
        put("owner", owner)
    if owner == TaskOwner.CLIENT:
        put("assignee", None)
    elif "assignee" in changes:
        put("assignee", changes["assignee"])
    elif "owner" in old and task.assignee_id is None:
        put("assignee", case.assignee_id)
    if "status" in changes and changes["status"] != task.status:
        old["status"] = task.status
        _set_status(task, changes["status"], actor)
    if not old:
        return task
    task.save()
    _task_event(case=case, actor=actor, task=task, old=old, action="updated", was_client=was_client)
    return task


@transaction.atomic
def plan_task_remove(*, task_id: int, actor: User, reason: str = "") -> None:
    """Take a task off the plan; a done task stays (it is part of the record), 409."""
    require_role(actor, PLAN_WORKERS)
    case, plan, task = _locked_task(actor, task_id)
    _require_recovery(case)
    _require_not_waived(plan)
    if task.status == TaskStatus.DONE:
        raise InvalidState(_("A done task stays on the plan."), details={"status": task.status})
    snapshot = RecoveryTask(pk=task.pk, title=task.title, owner=task.owner, status=task.status, due_date=task.due_date)
    task.delete()
    _task_event(case=case, actor=actor, task=snapshot, old={}, action="removed", reason=reason.strip())


@transaction.atomic
def plan_waive(*, case_id: int, actor: User, reason: str) -> RecoveryPlan:
    """Give up on the rest of the plan, with a reason: open check-ins are cancelled and the case may close.

    A case in reputation recovery without a plan (started before plans existed) gets an
    empty one, waived.
    """
    require_role(actor, PLAN_WAIVERS)
    case = case_for_actor(actor=actor, case_id=case_id, lock=True)
    _require_recovery(case)
    if not reason.strip():
        raise InvalidInput(details={"fields": {"reason": [_("Say why the plan is waived.")]}})
    plan = RecoveryPlan.objects.select_for_update().filter(case_id=case.pk).first()
    if plan is None:
        plan = RecoveryPlan.objects.create(case=case, created_by=actor)
    _require_not_waived(plan)
    plan.waived_at, plan.waived_by, plan.waiver_reason = timezone.now(), actor, reason.strip()
    plan.save(update_fields=["waived_at", "waived_by", "waiver_reason"])
    open_tasks = plan.tasks.exclude(status=TaskStatus.DONE).count()
    cancelled = 0
    for deadline in Deadline.objects.select_for_update().filter(
        case_id=case.pk, kind=DeadlineKind.RECOVERY_CHECK_IN, status=DeadlineStatus.OPEN
    ):
        deadline.case = case
        if deadlines.deadline_close(deadline, status=DeadlineStatus.CANCELLED, actor=actor, reason=reason.strip()):
            cancelled += 1
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.RECOVERY_PLAN_WAIVED,
        new_value={"plan": plan.pk, "open_tasks": open_tasks, "check_ins_cancelled": cancelled},
        reason=reason.strip(),
        client_visible=True,
    )
    return plan


# --- The client's side ---------------------------------------------------------------------------


@transaction.atomic
def portal_task_update(*, task_id: int, actor: User, status: str) -> RecoveryTask:
    """The client reports progress on one of its own tasks (in progress or done).

    Another organisation's task is a 404; a task the agency does is the agency's (403).
    """
    require_role(actor, (Role.CLIENT,))
    case, plan, task = _locked_task(actor, task_id)
    if task.owner != TaskOwner.CLIENT:
        raise NotAllowed(_("The agency does this task; only the agency can change it."))
    _require_recovery(case)
    _require_not_waived(plan)
    if status not in CLIENT_STATUSES:
        message = _("Choose one of: %(statuses)s.") % {"statuses": ", ".join(CLIENT_STATUSES)}
        raise InvalidInput(details={"fields": {"status": [message]}})
    if status == task.status:
        return task
    old = {"status": task.status}
    _set_status(task, status, actor)
    task.save(update_fields=["status", "completed_at", "completed_by", "updated_at"])
    _task_event(case=case, actor=actor, task=task, old=old, action="updated", was_client=True)
    return task
