"""Read-side queries for deadlines and case waits, each already scoped to the user who asks."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case as SqlCase
from django.db.models import F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import User
from agency.errors import NotAllowed, NotFound
from cases.models import OPEN_STATES, Case
from cases.selectors import case_for_actor, case_visible_to, portal_case_get, portal_case_list
from workflows.models import CaseWait, Deadline, DeadlineStatus


def overdue_q(now: dt.datetime, *, prefix: str = "") -> Q:
    """Deadlines that are overdue at ``now``, leaving out the case's state (see ``is_overdue``).

    Open and past its due time (the sweep has not marked it yet), or missed and not made
    good since. ``prefix`` reaches the deadline through a relation ("deadlines__").
    """
    return Q(**{f"{prefix}status": DeadlineStatus.OPEN, f"{prefix}due_at__lt": now}) | Q(
        **{f"{prefix}status": DeadlineStatus.MISSED, f"{prefix}met_at__isnull": True}
    )


def is_overdue(deadline: Deadline, now: dt.datetime) -> bool:
    """The same test as ``overdue_q`` plus the case being open, for a loaded deadline and its case."""
    if deadline.case.state not in OPEN_STATES:
        return False
    if deadline.status == DeadlineStatus.OPEN:
        return deadline.due_at is not None and deadline.due_at < now
    return deadline.status == DeadlineStatus.MISSED and deadline.met_at is None


def remaining_seconds(deadline: Deadline, now: dt.datetime) -> int | None:
    """Seconds until an open, running deadline is due (negative once past); None otherwise."""
    if deadline.status != DeadlineStatus.OPEN or deadline.due_at is None:
        return None
    return int((deadline.due_at - now).total_seconds())


def _open_first() -> SqlCase:
    return SqlCase(When(status=DeadlineStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField())


def _staff_case(user: User, case_id: int) -> Case:
    return case_for_actor(actor=user, case_id=case_id)


# --- Staff -------------------------------------------------------------------------------------


def case_deadlines(*, user: User, case_id: int, status: str = "") -> QuerySet[Deadline]:
    """Every deadline of a case the user can see (404 otherwise): open ones first, soonest first."""
    case = _staff_case(user, case_id)
    deadlines = Deadline.objects.filter(case_id=case.pk).select_related("case")
    if status:
        deadlines = deadlines.filter(status=status)
    return deadlines.order_by(_open_first(), F("due_at").asc(nulls_last=True), "id")


def deadline_for_staff(*, user: User, deadline_id: int) -> Deadline:
    """One deadline of a case the user can see, or 404."""
    deadline = (
        Deadline.objects.select_related("case")
        .filter(pk=deadline_id, case__in=case_visible_to(user).values("pk"))
        .first()
    )
    if deadline is None:
        raise NotFound()
    return deadline


def my_deadlines(*, user: User, days: int, now: dt.datetime | None = None) -> QuerySet[Deadline]:
    """The user's work: deadlines on open cases assigned to them that need attention.

    Open deadlines due within ``days`` days, and every overdue one (open past its due
    time, or missed and not made good), soonest first; paused clocks (no due time) last.
    """
    now = now or timezone.now()
    horizon = now + dt.timedelta(days=days)
    wanted = Q(status=DeadlineStatus.OPEN, due_at__lte=horizon) | Q(status=DeadlineStatus.OPEN, due_at__isnull=True)
    wanted |= Q(status=DeadlineStatus.MISSED, met_at__isnull=True)
    return (
        Deadline.objects.filter(wanted, case__assignee_id=user.pk, case__state__in=OPEN_STATES)
        .select_related("case")
        .order_by(F("due_at").asc(nulls_last=True), "id")
    )


def overdue_deadlines(
    *, user: User, kind: str = "", assignee_id: int | None = None, now: dt.datetime | None = None
) -> QuerySet[Deadline]:
    """Overdue deadlines across the agency, oldest due first: for the roles that see every case."""
    if not user.sees_all_cases:
        raise NotAllowed(_("Only supervisors and administrators see the agency's overdue deadlines."))
    deadlines = Deadline.objects.filter(overdue_q(now or timezone.now()), case__state__in=OPEN_STATES)
    if kind:
        deadlines = deadlines.filter(kind=kind)
    if assignee_id is not None:
        deadlines = deadlines.filter(case__assignee_id=assignee_id)
    return deadlines.select_related("case", "case__assignee").order_by("due_at", "id")


def case_waits(*, user: User, case_id: int) -> QuerySet[CaseWait]:
    """The waits of a case the user can see (404 otherwise), the current ones first, newest first."""
    case = _staff_case(user, case_id)
    return (
        CaseWait.objects.filter(case_id=case.pk)
        .select_related("started_by", "ended_by")
        .order_by(F("ended_at").desc(nulls_first=True), "-started_at", "-id")
    )


# --- Clients -----------------------------------------------------------------------------------


def _client_facing() -> QuerySet[Deadline]:
    return Deadline.objects.filter(client_facing=True).select_related("case")


def portal_deadlines(*, user: User) -> QuerySet[Deadline]:
    """The client-facing deadlines of the open cases of the user's organisations: open ones first."""
    cases = portal_case_list(user=user).filter(state__in=OPEN_STATES).values("pk")
    return _client_facing().filter(case__in=cases).order_by(_open_first(), F("due_at").asc(nulls_last=True), "id")


def portal_case_deadlines(*, user: User, case_id: int) -> QuerySet[Deadline]:
    """The client-facing deadlines of one case of the user's organisations (404 for any other case)."""
    case = portal_case_get(user=user, case_id=case_id)
    return _client_facing().filter(case_id=case.pk).order_by(_open_first(), F("due_at").asc(nulls_last=True), "id")
