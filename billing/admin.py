"""Admin for fee quotes: read-only, since quotes change only through the services that write history."""

from __future__ import annotations

from django.contrib import admin

from billing.models import FeeQuote
from cases.admin import ReadOnlyAdmin


@admin.register(FeeQuote)
class FeeQuoteAdmin(ReadOnlyAdmin):
    list_display = ("case", "version", "fee_model", "amount", "currency", "status", "amount_due", "proposed_at")
    list_filter = ("status", "fee_model")
    search_fields = ("case__reference",)
    list_select_related = ("case",)
