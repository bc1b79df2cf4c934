"""Filters for evidence lists (staff and portal): order, kind, review state, case-level, inactive items."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from agency.api.filters import AgencyFilterSet, IdFilter, StrictBooleanFilter
from cases.kinds import EvidenceKind
from evidence.models import EvidenceItem, ReviewState


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
