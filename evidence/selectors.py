"""Read-side queries for evidence, each already scoped to the user who asks."""

from __future__ import annotations

from django.db import models
from django.db.models import Count, IntegerField, Q, QuerySet, Value, When

from agency.accounts.models import User
from agency.errors import NotFound
from cases import selectors as case_selectors
from cases.kinds import EvidenceKind
from cases.models import Case, FlaggedOrder
from cases.selectors import case_visible_to
from evidence import rules as evidence_rules
from evidence.models import CheckOutcome, CheckState, EvidenceCheck, EvidenceCheckRule, EvidenceItem

# What staff see of an item with it: the people, the attempt, and its check (the findings
# come in one more query per page); the text read from the file is fetched only on its own.
_STAFF_RELATED = ("order", "uploaded_by", "reviewed_by", "removed_by", "first_submitted_in", "evidence_check")


def evidence_list(*, case: Case) -> QuerySet[EvidenceItem]:
    """Every item of a case the caller has already been allowed to see, oldest first.

    Inactive items (removed, superseded) are included; the API's filters narrow the list.
    The people, the attempt and the check come in the same query and the findings of the
    whole page in a second, so a page costs two queries. The check's text stays behind
    (``evidence_text`` reads it): a page of OCR'd PDFs would otherwise carry every page.
    """
    return (
        EvidenceItem.objects.filter(case_id=case.pk)
        .select_related(*_STAFF_RELATED)
        .defer("evidence_check__text")
        .prefetch_related("evidence_check__findings")
        .order_by("uploaded_at", "id")
    )


def evidence_get(*, user: User, item_id: int) -> EvidenceItem:
    """One item whose case the staff member can see, or 404 (missing and not yours look the same)."""
    item = (
        EvidenceItem.objects.filter(pk=item_id, case__in=case_visible_to(user))
        .select_related(*_STAFF_RELATED)
        .defer("evidence_check__text")
        .prefetch_related("evidence_check__findings")
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


def evidence_text(*, item: EvidenceItem) -> EvidenceCheck | None:
    """What was read from an item's file (method, pages, text), for a caller already allowed to see the item.

    None when the item has no check (every stored file gets one; migration 0005 gave
    one to the files stored before). Only the reading is loaded, not the outcome: the
    portal shows the text and nothing else.
    """
    return (
        EvidenceCheck.objects.filter(item_id=item.pk)
        .only("id", "item_id", "method", "text", "pages_read", "pages_total", "read_at")
        .first()
    )


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


# --- Checks: where an item's check stands, for filters, ordering and the case's counts -----------

# Not checked yet: waiting for its first check, or compared again after its order or rule changed.
PENDING = "pending"
# The order a reviewer works in: contradictions first, then what could not be verified.
CHECK_STATUSES = (
    CheckOutcome.MISMATCH,
    CheckOutcome.UNREADABLE,
    CheckOutcome.NOT_FOUND,
    CheckOutcome.MATCH,
    CheckOutcome.UNCHECKED,
    PENDING,
)


def check_status_q(status: str) -> Q:
    """Items whose check stands at ``status`` (an outcome, or ``pending``).

    An outcome counts only once the check is done: a check queued again keeps its old
    outcome until it is compared again, and is pending meanwhile.
    """
    if status == PENDING:
        return Q(evidence_check__state=CheckState.QUEUED)
    return Q(evidence_check__state=CheckState.DONE, evidence_check__outcome=status)


def check_rank() -> models.Case:
    """0 for a mismatch ... 5 for pending, in ``CHECK_STATUSES`` order; 6 for an item without a check."""
    return models.Case(
        *(When(check_status_q(status), then=Value(rank)) for rank, status in enumerate(CHECK_STATUSES)),
        default=Value(len(CHECK_STATUSES)),
        output_field=IntegerField(),
    )


def order_by_check(items: QuerySet[EvidenceItem], *, descending: bool = False) -> QuerySet[EvidenceItem]:
    """Mismatches first, then unreadable, not found, match, unchecked and pending (reversed when
    ``descending``); ties oldest first, by upload time and id."""
    rank = check_rank()
    return items.order_by(rank.desc() if descending else rank.asc(), "uploaded_at", "id")


def check_counts(*, case: Case) -> dict[str, int]:
    """Where the checks of the case's active items stand, in one query.

    ``orders_contradicted``: orders with at least one active item whose check found a
    contradiction; ``items_<outcome>``: active items by the outcome of their finished
    check; ``items_pending``: active items waiting to be checked. An item without a
    check (every stored file gets one) is in none of them.
    """
    mismatch = check_status_q(CheckOutcome.MISMATCH)
    counts: dict[str, int] = (
        EvidenceItem.objects.active()
        .filter(case_id=case.pk)
        .aggregate(
            orders_contradicted=Count("order_id", filter=mismatch, distinct=True),
            **{f"items_{status}": Count("pk", filter=check_status_q(status)) for status in CHECK_STATUSES},
        )
    )
    return counts


def check_rules() -> list[EvidenceCheckRule]:
    """How every evidence kind is checked, in the kinds' order; a kind without a rule is shown with no groups.

    The rows of kinds without a rule are not saved (no id, no ``updated_at``): such a kind
    is not checked until an administrator gives it a rule.
    """
    rows = {rule.kind: rule for rule in EvidenceCheckRule.objects.select_related("updated_by")}
    return [rows.get(kind) or _no_rule(kind) for kind in EvidenceKind.values]


def check_rule(*, kind: str) -> EvidenceCheckRule:
    """One kind's rule (unsaved and empty when it has none); 404 for a kind that does not exist."""
    if kind not in EvidenceKind.values:
        raise NotFound()
    return EvidenceCheckRule.objects.select_related("updated_by").filter(kind=kind).first() or _no_rule(kind)


def _no_rule(kind: str) -> EvidenceCheckRule:
    rule = EvidenceCheckRule(kind=kind, groups=[])
    rule.updated_at = None  # type: ignore[assignment]  # never saved: it was never edited
    return rule
