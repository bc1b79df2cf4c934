"""Admin for cases: a window for support staff, read-only so every change goes through
the services that write the case history (the API or the state machine)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cases.models import (
    AppealAttempt,
    Assessment,
    Case,
    CaseEvent,
    CaseMessage,
    CaseNote,
    CaseStateSpan,
    FlaggedOrder,
    OrderCause,
    OrderOutcome,
    PlatformRuleProfile,
    ReferenceSequence,
    SupplementRequest,
    SupplementResponse,
)
from cases.reasons import event_reason


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "actor", "kind", "old_value", "new_value", "reason_shown", "reason_code")
    readonly_fields = fields
    max_num = 0

    @admin.display(description=_("Reason"))
    def reason_shown(self, event: CaseEvent) -> str:
        # A system reason is stored as a code; it is worded in the reader's language here.
        return event_reason(event)


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("reference", "organisation", "shop", "violation_type", "state", "assignee", "appeal_deadline")
    list_filter = ("state", "violation_type", "severity", "shop__platform")
    search_fields = ("reference", "shop__name", "organisation__name")
    list_select_related = ("organisation", "shop", "assignee")
    readonly_fields = ("state",)
    inlines = (CaseEventInline,)


@admin.register(FlaggedOrder)
class FlaggedOrderAdmin(ReadOnlyAdmin):
    list_display = ("platform_order_id", "case", "order_time", "amount", "goods_type")
    search_fields = ("platform_order_id", "case__reference", "tracking_number")
    list_select_related = ("case",)


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "case", "kind", "actor")
    list_filter = ("kind",)
    search_fields = ("case__reference",)
    list_select_related = ("case", "actor")


@admin.register(ReferenceSequence)
class ReferenceSequenceAdmin(ReadOnlyAdmin):
    list_display = ("year", "last_number")


@admin.register(PlatformRuleProfile)
class PlatformRuleProfileAdmin(admin.ModelAdmin):
    """Rule profiles are reference data that administrators keep current; editable here."""

    list_display = (
        "platform",
        "violation_type",
        "appeal_window_value",
        "appeal_window_unit",
        "attempt_limit",
        "chat_lookback_days",
        "follow_up_min_gap_hours",
        "follow_up_max_silence_value",
        "follow_up_max_silence_unit",
        "updated_at",
    )
    list_filter = ("platform", "violation_type")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Cases point at their profile; edit it instead of deleting it.
        return False


@admin.register(AppealAttempt)
class AppealAttemptAdmin(ReadOnlyAdmin):
    list_display = ("case", "number", "platform_reference", "submitted_at", "submitted_by", "decided_at", "outcome")
    list_filter = ("outcome",)
    search_fields = ("case__reference", "platform_reference")
    list_select_related = ("case", "submitted_by")


@admin.register(OrderOutcome)
class OrderOutcomeAdmin(ReadOnlyAdmin):
    list_display = ("attempt", "order", "result", "points_restored")
    list_filter = ("result",)
    search_fields = ("order__platform_order_id", "attempt__case__reference")
    list_select_related = ("attempt", "order")


@admin.register(SupplementRequest)
class SupplementRequestAdmin(ReadOnlyAdmin):
    list_display = ("case", "attempt", "received_at", "due_at", "status")
    list_filter = ("status",)
    search_fields = ("case__reference", "platform_reference")
    list_select_related = ("case", "attempt")


@admin.register(SupplementResponse)
class SupplementResponseAdmin(ReadOnlyAdmin):
    list_display = ("request", "responded_at", "responded_by")
    list_select_related = ("request", "responded_by")


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    list_display = ("case", "recommendation", "merit_score", "assessed_by", "updated_at")
    list_filter = ("recommendation",)
    search_fields = ("case__reference",)
    list_select_related = ("case", "assessed_by")


@admin.register(OrderCause)
class OrderCauseAdmin(ReadOnlyAdmin):
    list_display = ("order", "case", "cause", "updated_by", "updated_at")
    list_filter = ("cause",)
    list_select_related = ("order", "case", "updated_by")


@admin.register(CaseNote)
class CaseNoteAdmin(ReadOnlyAdmin):
    list_display = ("case", "author", "created_at")
    search_fields = ("case__reference",)
    list_select_related = ("case", "author")


@admin.register(CaseMessage)
class CaseMessageAdmin(ReadOnlyAdmin):
    list_display = ("case", "author", "from_client", "created_at")
    list_filter = ("from_client",)
    search_fields = ("case__reference",)
    list_select_related = ("case", "author")


@admin.register(CaseStateSpan)
class CaseStateSpanAdmin(ReadOnlyAdmin):
    list_display = ("case", "state", "entered_at", "left_at", "seconds")
    list_filter = ("state",)
    search_fields = ("case__reference",)
    list_select_related = ("case",)
