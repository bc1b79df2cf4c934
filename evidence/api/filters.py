"""Filters for evidence lists (staff and portal): order, kind, review state, case-level, inactive items;
for staff also where each item's check stands, and the order a reviewer works in."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from agency.api.filters import AgencyFilterSet, IdFilter, StrictBooleanFilter
from cases.kinds import EvidenceKind
from evidence import selectors
from evidence.models import CheckOutcome, CheckState, EvidenceItem, ReviewState


class EvidenceFilter(AgencyFilterSet):
    order = IdFilter(field_name="order_id", label="Items of this flagged order (its id).")
    kind = django_filters.ChoiceFilter(choices=EvidenceKind.choices)
    review_state = django_filters.ChoiceFilter(choices=ReviewState.choices)
    case_level = StrictBooleanFilter(
        field_name="order",
        lookup_expr="isnull",
        label="true: only items for the case as a whole; false: only items for an order.",
    )
    include_inactive = StrictBooleanFilter(
        method="keep_inactive",
        label="true: also items that were removed or superseded (the list shows only items that count by default).",
    )

    class Meta:
        model = EvidenceItem
        fields = ["order", "kind", "review_state"]

    def keep_inactive(self, queryset: QuerySet[EvidenceItem], name: str, value: bool) -> QuerySet[EvidenceItem]:
        # Applied in filter_queryset below, which also runs when the parameter is absent.
        return queryset

    def filter_queryset(self, queryset: QuerySet[EvidenceItem]) -> QuerySet[EvidenceItem]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("include_inactive"):
            queryset = queryset.filter(removed_at__isnull=True, superseded_by__isnull=True)
        return queryset


# The outcomes (declared in the order a reviewer works through them), and pending.
CHECK_CHOICES = [*CheckOutcome.choices, (selectors.PENDING, CheckState.QUEUED.label)]
CHECK_ORDERING = "check"


class StaffEvidenceFilter(EvidenceFilter):
    """The staff list also filters and sorts by the items' checks; the client never sees a check."""

    check = django_filters.ChoiceFilter(
        choices=CHECK_CHOICES,
        method="filter_check",
        label="Items whose check found this: mismatch, unreadable, not_found, match or unchecked (checks that are "
        "done), or pending (waiting to be checked, also when checked again after the order or the rule changed).",
    )
    ordering = django_filters.ChoiceFilter(
        choices=[(CHECK_ORDERING, "check"), (f"-{CHECK_ORDERING}", "-check")],
        method="order_items",
        label="check: mismatches first, then unreadable, not_found, match, unchecked, pending (items without a "
        "check last); -check: the reverse. Ties oldest first. Without it: oldest first.",
    )

    def filter_check(self, queryset: QuerySet[EvidenceItem], name: str, value: str) -> QuerySet[EvidenceItem]:
        return queryset.filter(selectors.check_status_q(value))

    def order_items(self, queryset: QuerySet[EvidenceItem], name: str, value: str) -> QuerySet[EvidenceItem]:
        return selectors.order_by_check(queryset, descending=value.startswith("-"))
