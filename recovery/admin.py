"""Admin for reputation recovery: templates are reference data administrators edit; plans are read-only."""

from __future__ import annotations

from django.contrib import admin

from cases.admin import ReadOnlyAdmin
from recovery.models import RecoveryPlan, RecoveryTask, RecoveryTemplate, RecoveryTemplateTask


class RecoveryTemplateTaskInline(admin.TabularInline):
    model = RecoveryTemplateTask
    extra = 0
    fields = ("position", "title", "description", "owner", "due_days")


@admin.register(RecoveryTemplate)
class RecoveryTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "platform", "check_in_days", "is_active", "updated_at")
    list_filter = ("platform", "is_active")
    inlines = (RecoveryTemplateTaskInline,)


@admin.register(RecoveryTemplateTask)
class RecoveryTemplateTaskAdmin(admin.ModelAdmin):
    list_display = ("template", "position", "title", "owner", "due_days")
    list_filter = ("template", "owner")


@admin.register(RecoveryPlan)
class RecoveryPlanAdmin(ReadOnlyAdmin):
    list_display = ("case", "template", "started_at", "waived_at")
    search_fields = ("case__reference",)
    list_select_related = ("case", "template")


@admin.register(RecoveryTask)
class RecoveryTaskAdmin(ReadOnlyAdmin):
    list_display = ("plan", "title", "owner", "due_date", "status")
    list_filter = ("status", "owner")
    list_select_related = ("plan",)
