"""Read-side queries for cases, each already scoped to the user who asks."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from agency.accounts.models import Role, User
from agency.errors import NotFound
from agency.organisations.models import Membership
from cases.models import Case, CaseEvent, CaseState, FlaggedOrder


def organisation_ids_of(user: User) -> QuerySet[Membership, int]:
    return Membership.objects.filter(user_id=user.pk).values_list("organisation_id", flat=True)


def case_scope_filter(user: User) -> Q | None:
    """The Q that limits cases to what ``user`` may see; None means every case.

    Client users see their organisations' cases. Supervisors and administrators see all.
    Case managers and evidence reviewers see cases assigned to them or to a teammate.
    Intake specialists see the intake queue and the cases they opened.
    """
    if user.sees_all_cases:
        return None
    if user.role == Role.CLIENT:
        return Q(organisation_id__in=organisation_ids_of(user))
    if user.role in (Role.CASE_MANAGER, Role.EVIDENCE_REVIEWER):
        scope = Q(assignee_id=user.pk)
        if user.team_id is not None:
            scope |= Q(assignee__team_id=user.team_id)
        return scope
    if user.role == Role.INTAKE_SPECIALIST:
        return Q(state=CaseState.INTAKE) | Q(created_by_id=user.pk)
    return Q(pk__in=[])


def case_visible_to(user: User) -> QuerySet[Case]:
    scope = case_scope_filter(user)
    queryset = Case.objects.all()
    return queryset if scope is None else queryset.filter(scope)


def with_order_count(queryset: QuerySet[Case]) -> QuerySet[Case]:
    # A correlated subquery rather than a JOIN + GROUP BY, so that filters and ordering on
    # the outer query stay cheap and the count does not multiply other joins.
    counts = (
        FlaggedOrder.objects.filter(case_id=OuterRef("pk"))
        .order_by()
        .values("case_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return queryset.annotate(flagged_order_count=Coalesce(Subquery(counts, output_field=IntegerField()), 0))


def case_list(*, user: User) -> QuerySet[Case]:
    return with_order_count(case_visible_to(user).select_related("organisation", "shop", "assignee"))


def case_get(*, user: User, case_id: int) -> Case:
    case = case_list(user=user).filter(pk=case_id).first()
    if case is None:
        raise NotFound()
    return case


def case_events(*, case: Case) -> QuerySet[CaseEvent]:
    return CaseEvent.objects.filter(case_id=case.pk).select_related("actor").order_by("created_at", "id")


def case_client_timeline(*, case: Case) -> QuerySet[CaseEvent]:
    return CaseEvent.objects.filter(case_id=case.pk, client_visible=True).order_by("created_at", "id")


def flagged_orders(*, case: Case) -> QuerySet[FlaggedOrder]:
    return FlaggedOrder.objects.filter(case_id=case.pk).order_by("order_time", "id")
