"""Read-side queries for evidence, each already scoped to the user who asks."""

from __future__ import annotations

from django.db.models import QuerySet

from agency.accounts.models import User
from agency.errors import NotFound
from cases import selectors as case_selectors
from cases.models import Case, FlaggedOrder
from cases.selectors import case_visible_to
from evidence import rules as evidence_rules
from evidence.models import EvidenceItem


def evidence_list(*, case: Case) -> QuerySet[EvidenceItem]:
    """Every item of a case the caller has already been allowed to see, oldest first.

    Inactive items (removed, superseded) are included; the API's filters narrow the list.
    The people and the attempt come in the same query, so a page costs one query.
    """
    return (
        EvidenceItem.objects.filter(case_id=case.pk)
        .select_related("order", "uploaded_by", "reviewed_by", "removed_by", "first_submitted_in")
        .order_by("uploaded_at", "id")
    )


def evidence_get(*, user: User, item_id: int) -> EvidenceItem:
    """One item whose case the staff member can see, or 404 (missing and not yours look the same)."""
    item = (
        EvidenceItem.objects.filter(pk=item_id, case__in=case_visible_to(user))
        .select_related("order", "uploaded_by", "reviewed_by", "removed_by", "first_submitted_in")
        .first()
    )
    if item is None:
        raise NotFound()
    return item


def portal_evidence_list(*, case: Case) -> QuerySet[EvidenceItem]:
    """A client's view of a case's items; nothing about the staff who handled them is loaded."""
    return (
        EvidenceItem.objects.filter(case_id=case.pk)
        .select_related("order", "case", "first_submitted_in")
        .order_by("uploaded_at", "id")
    )


def portal_evidence_get(*, user: User, item_id: int) -> EvidenceItem:
    """One item of a case of the client user's organisations, or 404."""
    item = (
        EvidenceItem.objects.filter(pk=item_id, case__organisation__memberships__user_id=user.pk)
        .select_related("order", "case", "first_submitted_in")
        .first()
    )
    if item is None:
        raise NotFound()
    return item


def flagged_orders_filtered(
    *,
    case: Case,
    excluded: bool | None = None,
    complete: bool | None = None,
    missing_kind: str = "",
    chat_evidence_due_within: int | None = None,
) -> QuerySet[FlaggedOrder]:
    """The case's orders, narrowed by exclusion, completeness, a missing kind or chat-evidence urgency."""
    orders = case_selectors.flagged_orders(case=case)
    if excluded is not None:
        orders = orders.filter(excluded_at__isnull=not excluded)
    if complete is not None:
        in_appeal_and_complete = evidence_rules.complete_q(case)
        if complete:
            orders = orders.filter(in_appeal_and_complete)
        else:
            orders = orders.filter(excluded_at__isnull=True).exclude(in_appeal_and_complete)
    if missing_kind:
        orders = evidence_rules.filter_missing_kind(orders, missing_kind)
    if chat_evidence_due_within is not None:
        orders = evidence_rules.chat_evidence_due(case, orders, within_days=chat_evidence_due_within)
    return orders
