"""Evidence completeness: what each flagged order still needs, and the rule ``submit_appeal`` checks.

An order is complete when, for every kind its rule profile requires for its goods type,
it has at least one accepted evidence item that counts (not removed, not superseded).
Excluded orders need nothing. Everything here reads and changes nothing, and costs a
fixed number of queries however many orders a case has.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from cases.kinds import DEFAULT_REQUIRED_EVIDENCE, EvidenceKind
from cases.models import NOT_CLEARED, Case, FlaggedOrder
from evidence.models import EvidenceItem, ReviewState

DEFAULT_CHAT_LOOKBACK_DAYS = 75


def required_evidence(case: Case) -> dict[str, list[str]]:
    """Kinds required per goods type, from the case's rule profile (live, so corrections apply)."""
    profile = case.rule_profile
    if profile is None:
        return {goods: list(kinds) for goods, kinds in DEFAULT_REQUIRED_EVIDENCE.items()}
    return {goods: profile.required_kinds(goods) for goods in ("physical", "virtual")}


def chat_lookback(case: Case) -> dt.timedelta:
    days = case.rule_profile.chat_lookback_days if case.rule_profile else DEFAULT_CHAT_LOOKBACK_DAYS
    return dt.timedelta(days=days)


def accepted_kinds(case_id: int, order_ids: list[int] | None = None) -> dict[int, set[str]]:
    """order id -> the kinds that have accepted, counting evidence (one query)."""
    items = EvidenceItem.objects.active().filter(
        case_id=case_id, order__isnull=False, review_state=ReviewState.ACCEPTED
    )
    if order_ids is not None:
        items = items.filter(order_id__in=order_ids)
    kinds: dict[int, set[str]] = {}
    for order_id, kind in items.values_list("order_id", "kind").distinct():
        kinds.setdefault(order_id, set()).add(kind)
    return kinds


def missing_kinds(goods_type: str, required: dict[str, list[str]], accepted: set[str]) -> list[str]:
    return [kind for kind in required.get(goods_type, []) if kind not in accepted]


@dataclass
class EvidenceSummary:
    orders_total: int = 0
    orders_complete: int = 0
    orders_incomplete: int = 0
    orders_excluded: int = 0
    # kind -> how many orders in the appeal lack accepted evidence of that kind
    missing_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def orders_in_appeal(self) -> int:
        return self.orders_total - self.orders_excluded

    def as_dict(self) -> dict[str, Any]:
        return {
            "orders_total": self.orders_total,
            "orders_complete": self.orders_complete,
            "orders_incomplete": self.orders_incomplete,
            "orders_excluded": self.orders_excluded,
            "missing_by_kind": self.missing_by_kind,
        }


def _summarise(
    required: dict[str, list[str]], accepted: dict[int, set[str]], orders: Iterable[tuple[int, str, Any]]
) -> EvidenceSummary:
    """The rule itself: per order in the appeal, the required kinds it has no accepted item of."""
    summary = EvidenceSummary()
    missing: Counter[str] = Counter()
    for order_id, goods_type, excluded_at in orders:
        summary.orders_total += 1
        if excluded_at is not None:
            summary.orders_excluded += 1
            continue
        lacking = missing_kinds(goods_type, required, accepted.get(order_id, set()))
        if lacking:
            summary.orders_incomplete += 1
            missing.update(lacking)
        else:
            summary.orders_complete += 1
    # Kinds in the profile's order, so the answer reads the same way every time.
    order = {kind: index for index, kind in enumerate(EvidenceKind.values)}
    summary.missing_by_kind = {kind: missing[kind] for kind in sorted(missing, key=order.__getitem__)}
    return summary


def evidence_summary(case: Case) -> EvidenceSummary:
    """Per case: orders complete, incomplete and excluded, and missing items by kind (two queries)."""
    rows = FlaggedOrder.objects.filter(case_id=case.pk).values_list("id", "goods_type", "excluded_at")
    return _summarise(required_evidence(case), accepted_kinds(case.pk), rows.iterator(chunk_size=5000))


def gaps_of(summary: EvidenceSummary) -> list[dict[str, Any]]:
    if summary.orders_in_appeal == 0:
        return [{"kind": "orders", "orders": 0}]
    return [{"kind": kind, "orders": count} for kind, count in summary.missing_by_kind.items()]


@dataclass
class EvidenceSnapshot:
    """The case's accepted evidence and its orders, read once: the rule, and what an appeal would carry.

    ``items`` are the accepted, counting items (``id``, ``order_id``, ``kind``, ``sha256``,
    ``size``, ``original_name``) in the order an appeal's manifest lists them;
    ``appealed_orders`` are the orders an appeal now covers (in the appeal, not cleared by
    an earlier attempt: cases.models.NOT_CLEARED); ``locked``: the items were read FOR
    UPDATE, so they cannot change before the transaction ends.
    """

    summary: EvidenceSummary
    items: list[dict[str, Any]]
    appealed_orders: set[int]
    locked: bool

    @property
    def gaps(self) -> list[dict[str, Any]]:
        return gaps_of(self.summary)

    def manifest_items(self) -> list[dict[str, Any]]:
        """The items an appeal sends: case-level ones, and those of orders it appeals."""
        return [item for item in self.items if item["order_id"] is None or item["order_id"] in self.appealed_orders]


def evidence_snapshot(case: Case, *, lock: bool = False) -> EvidenceSnapshot:
    """Read the case's accepted evidence and its orders once (two queries, however many orders).

    With ``lock`` the items are taken FOR UPDATE first, so that no review or removal can
    change what the rule saw before the transaction that submits them commits. Call it
    after the case's row is locked (the lock order is the case, then its evidence).
    """
    items = (
        EvidenceItem.objects.active()
        .filter(case_id=case.pk, review_state=ReviewState.ACCEPTED)
        .order_by("order_id", "kind", "id")
    )
    if lock:
        items = items.select_for_update(of=("self",))
    rows: list[dict[str, Any]] = [
        dict(row) for row in items.values("id", "order_id", "kind", "sha256", "size", "original_name")
    ]
    accepted: dict[int, set[str]] = {}
    for row in rows:
        if row["order_id"] is not None:
            accepted.setdefault(row["order_id"], set()).add(row["kind"])
    orders = list(
        FlaggedOrder.objects.filter(case_id=case.pk).values_list("id", "goods_type", "excluded_at", "outcome")
    )
    appealed = {
        order_id for order_id, _goods, excluded_at, outcome in orders if excluded_at is None and outcome in NOT_CLEARED
    }
    summary = _summarise(required_evidence(case), accepted, (order[:3] for order in orders))
    return EvidenceSnapshot(summary=summary, items=rows, appealed_orders=appealed, locked=lock)


def evidence_gaps(case: Case) -> list[dict[str, Any]]:
    """What the case still lacks before submission, as [{kind, orders}] (empty when ready).

    An appeal needs at least one order in it: a case whose orders are all excluded has a
    gap of kind ``orders`` with zero orders.
    """
    return gaps_of(evidence_summary(case))


# --- Order-list filters ---------------------------------------------------------------------


def _has_item(kind: str, *, accepted_only: bool) -> Exists:
    items = EvidenceItem.objects.active().filter(order_id=OuterRef("pk"), kind=kind)
    if accepted_only:
        items = items.filter(review_state=ReviewState.ACCEPTED)
    else:
        items = items.exclude(review_state=ReviewState.REJECTED)
    return Exists(items)


def complete_q(case: Case) -> Q:
    """Q for orders in the appeal with every required kind accepted (EXISTS subqueries, no Python loop)."""
    complete = Q(pk__in=[])
    for goods_type, kinds in required_evidence(case).items():
        clause = Q(*(_has_item(kind, accepted_only=True) for kind in kinds), goods_type=goods_type)
        complete |= clause
    return complete & Q(excluded_at__isnull=True)


def filter_missing_kind(orders: QuerySet[FlaggedOrder], kind: str) -> QuerySet[FlaggedOrder]:
    return orders.filter(excluded_at__isnull=True).exclude(_has_item(kind, accepted_only=True))


def _needs_chat(case: Case) -> list[str]:
    """The goods types for which the case's profile requires a chat log."""
    return [goods for goods, kinds in required_evidence(case).items() if EvidenceKind.CHAT_LOG in kinds]


def chat_evidence_due(case: Case, orders: QuerySet[FlaggedOrder], *, within_days: int) -> QuerySet[FlaggedOrder]:
    """Orders whose chat evidence is still to be secured and can be pulled for at most N more days.

    Chat evidence counts as secured once an item that is not rejected exists (pending review
    is enough: the log has been pulled before the platform deletes it). The deadline is
    order time + the profile's look-back, so ordering by order time puts the most urgent first.
    """
    now = timezone.now()
    lookback = chat_lookback(case)
    return (
        orders.filter(excluded_at__isnull=True, goods_type__in=_needs_chat(case), order_time__gte=now - lookback)
        .filter(order_time__lte=now + dt.timedelta(days=within_days) - lookback)
        .exclude(_has_item(EvidenceKind.CHAT_LOG, accepted_only=False))
        .order_by("order_time", "id")
    )


def chat_evidence_status(case: Case) -> dict[str, Any]:
    """The earliest chat-evidence deadline still ahead, and how many orders are at risk or past it."""
    now = timezone.now()
    lookback = chat_lookback(case)
    missing = FlaggedOrder.objects.filter(
        case_id=case.pk, excluded_at__isnull=True, goods_type__in=_needs_chat(case)
    ).exclude(_has_item(EvidenceKind.CHAT_LOG, accepted_only=False))
    ahead = Q(order_time__gte=now - lookback)
    counts = missing.aggregate(
        earliest=Min("order_time", filter=ahead),
        orders_missing=Count("id", filter=ahead),
        orders_past_deadline=Count("id", filter=~ahead),
    )
    earliest_time = counts["earliest"]
    return {
        "lookback_days": lookback.days,
        "next_deadline": earliest_time + lookback if earliest_time else None,
        "orders_missing": counts["orders_missing"],
        "orders_past_deadline": counts["orders_past_deadline"],
    }


def order_statuses(case: Case, orders: list[FlaggedOrder]) -> dict[int, dict[str, Any]]:
    """For a page of orders: complete or not, kinds accepted, waiting for review and missing (one query)."""
    required = required_evidence(case)
    lookback = chat_lookback(case)
    accepted: dict[int, set[str]] = {}
    pending: dict[int, set[str]] = {}
    rows = (
        EvidenceItem.objects.active()
        .filter(case_id=case.pk, order_id__in=[order.pk for order in orders])
        .exclude(review_state=ReviewState.REJECTED)
        .values_list("order_id", "kind", "review_state")
        .distinct()
    )
    for order_id, kind, state in rows:
        (accepted if state == ReviewState.ACCEPTED else pending).setdefault(order_id, set()).add(kind)
    statuses = {}
    for order in orders:
        have = accepted.get(order.pk, set())
        missing = [] if order.excluded_at else missing_kinds(order.goods_type, required, have)
        statuses[order.pk] = {
            "complete": order.excluded_at is None and not missing,
            "required_kinds": required.get(order.goods_type, []),
            "accepted_kinds": sorted(have),
            "pending_kinds": sorted(pending.get(order.pk, set()) - have),
            "missing_kinds": missing,
            "chat_evidence_deadline": order.order_time + lookback,
        }
    return statuses
