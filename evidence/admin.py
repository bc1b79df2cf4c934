"""Admin for evidence: read-only, because uploads, reviews and requests write the case history."""

from __future__ import annotations

from django.contrib import admin

from cases.admin import ReadOnlyAdmin
from evidence.models import EvidenceItem, EvidenceRequest, EvidenceRequestItem


@admin.register(EvidenceItem)
class EvidenceItemAdmin(ReadOnlyAdmin):
    list_display = ("id", "case", "order", "kind", "original_name", "size", "review_state", "uploaded_at")
    list_filter = ("kind", "review_state", "source")
    search_fields = ("case__reference", "order__platform_order_id", "sha256", "original_name")
    list_select_related = ("case", "order")
    exclude = ("file",)


class EvidenceRequestItemInline(admin.TabularInline):
    model = EvidenceRequestItem
    extra = 0
    can_delete = False
    fields = ("order", "kind", "fulfilled_by")
    readonly_fields = fields
    max_num = 0


@admin.register(EvidenceRequest)
class EvidenceRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "case", "status", "due_at", "created_by", "created_at")
    list_filter = ("status",)
    search_fields = ("case__reference",)
    list_select_related = ("case", "created_by")
    inlines = (EvidenceRequestItemInline,)


@admin.register(EvidenceRequestItem)
class EvidenceRequestItemAdmin(ReadOnlyAdmin):
    list_display = ("id", "request", "order", "kind", "fulfilled_by")
    list_select_related = ("request", "order")
