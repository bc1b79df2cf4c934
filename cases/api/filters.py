"""Filters for the staff case list: state, assignee, platform, organisation, free text."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from agency.organisations.models import Platform
from cases.models import Case, CaseState, FlaggedOrder, ViolationType


class CaseFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=CaseState.choices)
    assignee = django_filters.NumberFilter(field_name="assignee_id")
    unassigned = django_filters.BooleanFilter(field_name="assignee", lookup_expr="isnull")
    platform = django_filters.MultipleChoiceFilter(field_name="shop__platform", choices=Platform.choices)
    organisation = django_filters.NumberFilter(field_name="organisation_id")
    shop = django_filters.NumberFilter(field_name="shop_id")
    violation_type = django_filters.MultipleChoiceFilter(choices=ViolationType.choices)
    q = django_filters.CharFilter(
        method="search",
        label="Text search: case reference or shop name/id (contains), or a flagged order id (exact).",
    )

    class Meta:
        model = Case
        fields = ["state", "assignee", "platform", "organisation", "shop", "violation_type"]

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
