"""Read-side queries for organisations and shops (staff only: clients use the portal)."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from agency.organisations.models import Organisation, Shop


def organisation_list() -> QuerySet[Organisation]:
    return Organisation.objects.annotate(shop_count=Count("shops", distinct=True)).order_by("name", "id")


def shop_list() -> QuerySet[Shop]:
    return Shop.objects.select_related("organisation").order_by("name", "id")
