"""Read-side queries for cases, each already scoped to the user who asks."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from agency.accounts.models import Role, User
from agency.errors import NotFound
from agency.organisations.models import Membership, Shop
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


# What the case's answers show alongside it (case_get, and a transition's answer).
CASE_RELATED = ("organisation", "shop", "assignee", "rule_profile", "created_by")


def case_for_actor(*, actor: User, case_id: int, lock: bool = False, related: bool = False) -> Case:
    """The case, if ``actor`` may see it (404 otherwise, whether it exists or not).

    ``lock`` takes the row FOR NO KEY UPDATE: writers of the case take turns, while rows
    that merely reference it (history, deadlines, alerts) can still be inserted. The lock
    order everywhere is the case, then what belongs to it (its deadlines, its evidence):
    the sweep and the evidence services take the case first too. ``related`` loads what an
    answer about the case shows with it, in the same query.
    """
    queryset = case_visible_to(actor).filter(pk=case_id)
    if related:
        queryset = queryset.select_related(*CASE_RELATED)
    if lock:
        queryset = queryset.select_for_update(of=("self",), no_key=True)
    case = queryset.first()
    if case is None:
        raise NotFound()
    return case


def case_list(*, user: User) -> QuerySet[Case]:
    return case_visible_to(user).select_related("organisation", "shop", "assignee")


def case_get(*, user: User, case_id: int) -> Case:
    case = case_list(user=user).select_related("rule_profile", "created_by").filter(pk=case_id).first()
    if case is None:
        raise NotFound()
    return case


def portal_case_list(*, user: User) -> QuerySet[Case]:
    """A client user's cases, with only what the portal shows (the shop, not the staff)."""
    return Case.objects.filter(organisation__memberships__user_id=user.pk).select_related("shop")


_PORTAL_CASE_SQL = (
    "SELECT c.*, s.name AS shop_name, s.platform AS shop_platform "  # noqa: S608 - names from model metadata
    f"FROM {Case._meta.db_table} c "
    f"JOIN {Shop._meta.db_table} s ON s.id = c.shop_id "
    f"JOIN {Membership._meta.db_table} m ON m.organisation_id = c.organisation_id "
    "WHERE c.id = %s AND m.user_id = %s"
)


def portal_case_get(*, user: User, case_id: int) -> Case:
    """One case of the client user's organisations, or 404.

    The same scope as ``portal_case_list`` (a membership of the case's organisation), as
    fixed SQL: this is the portal's most frequent read, and building the equivalent ORM
    query cost four times its execution. The shop carries only the fields the portal shows.
    """
    case = next(iter(Case.objects.raw(_PORTAL_CASE_SQL, [case_id, user.pk])), None)
    if case is None:
        raise NotFound()
    shop_name, shop_platform = case.shop_name, case.shop_platform
    case.shop = Shop(id=case.shop_id, organisation_id=case.organisation_id, name=shop_name, platform=shop_platform)
    return case


def case_events(*, case: Case) -> QuerySet[CaseEvent]:
    return CaseEvent.objects.filter(case_id=case.pk).select_related("actor").order_by("created_at", "id")


def case_client_timeline(*, case: Case) -> QuerySet[CaseEvent]:
    return CaseEvent.objects.filter(case_id=case.pk, client_visible=True).order_by("created_at", "id")


def flagged_orders(*, case: Case) -> QuerySet[FlaggedOrder]:
    return FlaggedOrder.objects.filter(case_id=case.pk).order_by("order_time", "id")
