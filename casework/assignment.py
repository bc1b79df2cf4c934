"""Assignment: automatic at intake by weighted open work and skills; by supervisors with a reason.

Open work is counted the same way everywhere (automatic assignment, the workload view and
the workload report):

- open cases: cases assigned to the person in one of ``OPEN_STATES``;
- open flagged orders: the orders of those cases that are still part of the appeal (not
  excluded) and not yet cleared by the platform (an order upheld on an open case is still
  work: the case may appeal again);
- work = ``ASSIGNMENT_CASE_WEIGHT`` x open cases + ``ASSIGNMENT_ORDER_WEIGHT`` x open orders.

``open_work`` counts cases and orders for any number of people in one GROUP BY, and
``workload_rows`` adds one more over their cases' deadlines. Open orders are summed from each
case's stored ``open_order_count`` (kept exact by the services that add, exclude, include
and decide orders), so the count reads cases, never the order rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import Role, User
from agency.accounts.permissions import require_role
from agency.errors import InvalidInput, NotAllowed, NotFound
from agency.organisations.models import Platform
from cases.history import record_case_event
from cases.models import OPEN_STATES, Case, EventKind
from cases.permissions import ASSIGNABLE_ROLES, ASSIGNERS
from cases.reasons import Reason, ReasonCode, reason_notification_params, system_reason
from workflows.models import Deadline, DeadlineStatus, NotificationKind
from workflows.notifications import notify
from workflows.selectors import overdue_q

# "Deadlines this week" in the workload view: open deadlines due from now to seven days on
# (a rolling week, so Friday afternoon still shows next Monday's deadlines).
WEEK = dt.timedelta(days=7)

# Why nobody could be picked at intake (AUTO_ASSIGNMENT_FAILED: history new_value["why"]
# and the notification's params["why"]).
WHY_NO_SKILL = "no_skill"
WHY_ALL_AWAY = "all_away"


# --- Counting open work ------------------------------------------------------------------------


def open_work(user_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Open cases and open flagged orders per person, in one GROUP BY over their open cases.

    Open orders are the cases' stored ``open_order_count`` (in the appeal, not cleared);
    counting the orders themselves would read millions of rows. People without open work
    are missing from the answer (read them as zeros).
    """
    rows = (
        Case.objects.filter(assignee_id__in=list(user_ids), state__in=OPEN_STATES)
        .order_by()
        .values("assignee_id")
        .annotate(open_cases=Count("pk"), open_orders=Sum("open_order_count"))
    )
    return {
        row["assignee_id"]: {"open_cases": row["open_cases"], "open_orders": row["open_orders"] or 0} for row in rows
    }


def work_score(*, open_cases: int, open_orders: int) -> int:
    return int(settings.ASSIGNMENT_CASE_WEIGHT) * open_cases + int(settings.ASSIGNMENT_ORDER_WEIGHT) * open_orders


def assignable_staff() -> QuerySet[User]:
    """People a case can be assigned to: active case managers and supervisors, never an API key."""
    return User.objects.filter(is_active=True, role__in=ASSIGNABLE_ROLES, api_key__isnull=True)


def workload_rows(*, now: dt.datetime | None = None, user_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Open work per assignable staff member (everyone, or those in ``user_ids``), in three queries.

    People with no work are included (with zeros). ``deadlines_this_week`` counts open
    deadlines of their open cases due in the next seven days from ``now``; ``overdue``
    counts their open cases' deadlines that are overdue at ``now`` (``overdue_q``: open and
    past due, or missed and not made good since). ``work`` is the score automatic
    assignment compares.

    One query for the people, one GROUP BY over their open cases, one over those cases'
    deadlines: each table is read once, whatever the number of people. (Correlated
    subqueries per person read the deadlines once per person: 1.5 s for 54 people over
    300,000 deadlines on PostgreSQL.)
    """
    now = now or timezone.now()
    people = assignable_staff()
    if user_ids is not None:
        # A queryset stays a subquery.
        people = people.filter(pk__in=user_ids if isinstance(user_ids, QuerySet) else list(user_ids))
    rows = list(
        people.order_by("username", "pk").values(
            "pk",
            "username",
            "display_name",
            "first_name",
            "last_name",
            "role",
            "team__name",
            "is_away",
            "platform_skills",
        )
    )
    ids = [row["pk"] for row in rows]
    cases = open_work(ids)
    this_week = Q(status=DeadlineStatus.OPEN, due_at__gte=now, due_at__lt=now + WEEK)
    overdue = overdue_q(now)
    deadlines = {
        row["case__assignee_id"]: row
        for row in Deadline.objects.filter(case__assignee_id__in=ids, case__state__in=OPEN_STATES)
        .filter(this_week | overdue)
        .order_by()
        .values("case__assignee_id")
        .annotate(
            deadlines_this_week=Count("pk", filter=this_week),
            overdue=Count("pk", filter=overdue),
        )
    }
    merged: list[dict[str, Any]] = []
    for row in rows:
        work = cases.get(row["pk"], {})
        due = deadlines.get(row["pk"], {})
        merged.append(
            {
                **row,
                "open_cases": work.get("open_cases", 0),
                "open_orders": work.get("open_orders", 0),
                "deadlines_this_week": due.get("deadlines_this_week", 0),
                "overdue": due.get("overdue", 0),
            }
        )
    return [_workload_row(row) for row in merged]


def _workload_row(row: Mapping[str, Any]) -> dict[str, Any]:
    full_name = f"{row['first_name']} {row['last_name']}".strip()
    return {
        "user_id": row["pk"],
        "username": row["username"],
        # The same as User.label, without loading the user.
        "display_name": row["display_name"] or full_name or row["username"],
        "role": row["role"],
        "team": row["team__name"],
        "is_away": row["is_away"],
        "platform_skills": list(row["platform_skills"] or []),
        "open_cases": row["open_cases"],
        "open_orders": row["open_orders"],
        "deadlines_this_week": row["deadlines_this_week"],
        "overdue": row["overdue"],
        "work": work_score(open_cases=row["open_cases"], open_orders=row["open_orders"]),
    }


def workload_for(*, actor: User, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The workload rows ``actor`` may see.

    Supervisors and administrators see every assignable staff member. A case manager sees
    their own team (the same people whose cases they can see), or only themselves when they
    have no team. Other roles do not manage caseloads and are refused.
    """
    if actor.role in ASSIGNERS:
        return workload_rows(now=now)
    require_role(actor, (Role.CASE_MANAGER,))
    if actor.team_id is None:
        return workload_rows(now=now, user_ids=[actor.pk])
    team = assignable_staff().filter(team_id=actor.team_id).values_list("pk", flat=True)
    return workload_rows(now=now, user_ids=team)


# --- Automatic assignment at intake -------------------------------------------------------------


def auto_assign_at_intake(*, case: Case, actor: User) -> User | None:
    """Give a new case to the eligible case manager with the least open work, or say why nobody.

    Called by ``case_create`` inside its transaction, after the case's flagged orders are
    added (orders imported later do not re-run it). Returns the assignee, or None.

    1. Eligible: active case managers (not an API key's principal), not away, whose
       ``platform_skills`` list the case's shop platform. A manager with no skills listed
       is eligible for nothing: skills are opted into, so a new hire gets no case until a
       supervisor says which platforms they handle.
    2. Every active case manager's row is locked (FOR NO KEY UPDATE, in id order, so two
       intakes queue rather than deadlock) before work is counted: a second intake waits
       here until the first commits, then sees its case, and so does not pick the same
       person on stale counts.
    3. Work is counted for all eligible managers in one query (``open_work``).
    4. Least work wins; ties go to fewer open cases, then to whoever was given a case least
       recently (never first), then to the lowest id.
    5. Nobody eligible: the case stays unassigned, the history says why (staff only) and
       every active supervisor is notified.
    """
    if not settings.AUTO_ASSIGN_AT_INTAKE or case.assignee_id is not None:
        return None
    platform = case.shop.platform
    managers = list(
        User.objects.filter(is_active=True, role=Role.CASE_MANAGER, api_key__isnull=True)
        .select_for_update(of=("self",), no_key=True)
        .order_by("pk")
    )
    skilled = [manager for manager in managers if platform in (manager.platform_skills or [])]
    eligible = [manager for manager in skilled if not manager.is_away]
    if not eligible:
        _auto_assignment_failed(
            case=case, actor=actor, platform=platform, why=WHY_ALL_AWAY if skilled else WHY_NO_SKILL
        )
        return None

    counted = open_work(manager.pk for manager in eligible)
    work = {manager.pk: counted.get(manager.pk, {"open_cases": 0, "open_orders": 0}) for manager in eligible}
    never = dt.datetime.min.replace(tzinfo=dt.UTC)

    def rank(manager: User) -> tuple[int, int, bool, dt.datetime, int]:
        counts = work[manager.pk]
        score = work_score(open_cases=counts["open_cases"], open_orders=counts["open_orders"])
        assigned_at = manager.last_assigned_at
        return (score, counts["open_cases"], assigned_at is not None, assigned_at or never, manager.pk)

    chosen = min(eligible, key=rank)
    counts = work[chosen.pk]
    score = rank(chosen)[0]
    now = timezone.now()
    case.assignee = chosen
    case.save(update_fields=["assignee", "updated_at"])
    User.objects.filter(pk=chosen.pk).update(last_assigned_at=now)
    chosen.last_assigned_at = now
    reason = system_reason(
        ReasonCode.AUTO_ASSIGNED_LEAST_WORK, work=score, cases=counts["open_cases"], orders=counts["open_orders"]
    )
    # new_value goes to the client's integrations (CASE_ASSIGNED webhook), so the work
    # score, which is about the agency's staff, stays in the reason, which never leaves.
    event = record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.ASSIGNED,
        old_value={"assignee": None},
        new_value={"assignee": chosen.pk, "automatic": True},
        reason=reason,
    )
    _notify_assignee(case=case, assignee=chosen, actor=actor, reason=reason, automatic=True, event_id=event.pk)
    return chosen


def _auto_assignment_failed(*, case: Case, actor: User, platform: str, why: str) -> None:
    code = ReasonCode.AUTO_ASSIGNMENT_ALL_AWAY if why == WHY_ALL_AWAY else ReasonCode.AUTO_ASSIGNMENT_NO_SKILL
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.AUTO_ASSIGNMENT_FAILED,
        new_value={"platform": platform, "why": why},
        reason=system_reason(code, platform=platform),
        client_visible=False,
    )
    supervisors = User.objects.filter(role=Role.SUPERVISOR, is_active=True, api_key__isnull=True)
    notify(
        recipients=supervisors,
        kind=NotificationKind.AUTO_ASSIGNMENT_FAILED,
        case=case,
        deadline=None,
        params={"reference": case.reference, "platform": platform, "why": why},
        dedupe_key=f"auto-assignment-failed:{case.pk}",
    )


def _notify_assignee(
    *, case: Case, assignee: User, actor: User, reason: Reason, automatic: bool, event_id: int
) -> None:
    # The reason travels as the history row has it (typed text, or code and values), so the
    # notification and its e-mail word it in the recipient's language, not the writer's.
    notify(
        recipients=[assignee],
        kind=NotificationKind.CASE_ASSIGNED,
        case=case,
        deadline=None,
        params={
            "reference": case.reference,
            "assigned_by": actor.label,
            **reason_notification_params(reason),
            "automatic": automatic,
        },
        dedupe_key=f"case-assigned:{case.pk}:{event_id}",
    )


def notify_assigned(*, case: Case, assignee: User, actor: User, reason: str, event_id: int) -> None:
    """Tell a person a supervisor gave them a case (``case_assign``)."""
    _notify_assignee(case=case, assignee=assignee, actor=actor, reason=reason, automatic=False, event_id=event_id)


# --- Staff profile: skills and away --------------------------------------------------------------


def staff_list(*, actor: User) -> QuerySet[User]:
    """Agency staff with their assignment settings; for supervisors and administrators."""
    require_role(actor, ASSIGNERS)
    return (
        User.objects.filter(is_active=True, api_key__isnull=True)
        .exclude(role=Role.CLIENT)
        .select_related("team")
        .order_by("username", "pk")
    )


def _clean_skills(skills: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    unknown: list[str] = []
    for code in skills:
        if code not in Platform.values:
            unknown.append(str(code))
        elif code not in cleaned:
            cleaned.append(code)
    if unknown:
        raise InvalidInput(
            details={
                "fields": {
                    "platform_skills": [_("Unknown platforms: %(codes)s.") % {"codes": ", ".join(sorted(unknown))}]
                }
            }
        )
    return cleaned


@transaction.atomic
def staff_profile_update(
    *, actor: User, user_id: int, platform_skills: Iterable[str] | None = None, is_away: bool | None = None
) -> User:
    """A supervisor or administrator sets a staff member's platform skills and away flag."""
    require_role(actor, ASSIGNERS)
    staff = staff_list(actor=actor).select_for_update(of=("self",), no_key=True).filter(pk=user_id).first()
    if staff is None:
        raise NotFound()
    fields: list[str] = []
    if platform_skills is not None:
        staff.platform_skills = _clean_skills(platform_skills)
        fields.append("platform_skills")
    if is_away is not None:
        staff.is_away = is_away
        fields.append("is_away")
    if fields:
        staff.save(update_fields=fields)
    return staff


@transaction.atomic
def staff_away_set(*, actor: User, is_away: bool) -> User:
    """A staff member marks themselves away (no new cases automatically) or back."""
    if not actor.is_agency_staff or User.objects.filter(pk=actor.pk, api_key__isnull=False).exists():
        raise NotAllowed()
    User.objects.filter(pk=actor.pk).update(is_away=is_away)
    actor.is_away = is_away
    return actor
