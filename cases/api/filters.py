"""Filters for the staff case list: state, assignee, platform, organisation, overdue deadlines, free text."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from agency.api.filters import AgencyFilterSet, StrictBooleanFilter
from agency.organisations.models import Platform
from cases.models import OPEN_STATES, Case, CaseState, FlaggedOrder, ViolationType
from workflows.models import Deadline
from workflows.selectors import overdue_q


class CaseFilter(AgencyFilterSet):
    state = django_filters.MultipleChoiceFilter(choices=CaseState.choices)
    assignee = django_filters.NumberFilter(field_name="assignee_id")
    unassigned = StrictBooleanFilter(field_name="assignee", lookup_expr="isnull")
    platform = django_filters.MultipleChoiceFilter(field_name="shop__platform", choices=Platform.choices)
    organisation = django_filters.NumberFilter(field_name="organisation_id")
    shop = django_filters.NumberFilter(field_name="shop_id")
    external_reference = django_filters.CharFilter(label="The caller's own reference for the case (exact).")
    violation_type = django_filters.MultipleChoiceFilter(choices=ViolationType.choices)
    overdue = StrictBooleanFilter(
        method="filter_overdue",
        label="true: open cases with an overdue deadline (past due, or missed and not made good); false: the rest.",
    )
    q = django_filters.CharFilter(
        method="search",
        label="Text search: case reference or shop name/id (contains), or a flagged order id (exact).",
    )

    class Meta:
        model = Case
        fields = ["state", "assignee", "platform", "organisation", "shop", "violation_type"]

    def filter_overdue(self, queryset: QuerySet[Case], name: str, value: bool | None) -> QuerySet[Case]:
        if value is None:
            return queryset
        late = Deadline.objects.filter(overdue_q(timezone.now()), case_id=OuterRef("pk"))
        overdue = Q(Exists(late), state__in=OPEN_STATES)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def search(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        value = value.strip()
        if not value:
            return queryset
        has_order = FlaggedOrder.objects.filter(case_id=OuterRef("pk"), platform_order_id=value)
        return queryset.filter(
            Q(reference__icontains=value)
            | Q(shop__name__icontains=value)
            | Q(shop__platform_shop_id=value)
            | Exists(has_order)
        )
