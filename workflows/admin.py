"""Admin for workflow records: the working calendar and stage SLAs (edited through the services),
and read-only windows on deadlines, waits, alerts, notifications and platform contacts."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext_lazy as _

from agency.accounts.models import User
from agency.errors import InvalidInput
from cases.admin import ReadOnlyAdmin
from cases.models import CaseState
from workflows import calendar_services
from workflows.models import (
    CalendarDay,
    CalendarYear,
    CaseWait,
    Deadline,
    DeadlineAlert,
    Notification,
    PlatformContact,
    StageSla,
    WorkerHeartbeat,
)


def _is_administrator(request: HttpRequest) -> bool:
    return getattr(request.user, "role", None) in calendar_services.CALENDAR_EDITORS


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "last_seen_at", "hostname")
    readonly_fields = ("name", "last_seen_at", "hostname")


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Public holidays and make-up working days. Saves and deletes go through the calendar
    services, as the API's do, so running deadlines are recomputed and the day becomes staff's own."""

    list_display = ("date", "weekday", "kind", "name", "source", "updated_by", "updated_at")
    list_filter = ("kind", "source")
    list_select_related = ("updated_by",)
    date_hierarchy = "date"
    search_fields = ("name",)
    ordering = ("date",)
    fields = ("date", "kind", "name", "source", "updated_by", "updated_at")
    readonly_fields = ("source", "updated_by", "updated_at")

    @admin.display(description=_("Weekday"))
    def weekday(self, day: CalendarDay) -> str:
        return str(WEEKDAYS_ABBR[day.date.weekday()])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A day is its date: moving an entry to another date is a removal and an addition.
        always = ("source", "updated_by", "updated_at")
        return (*always, "date") if obj is not None else always

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_administrator(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_administrator(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_administrator(request) and super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        saved = calendar_services.calendar_day_set(
            actor=cast(User, request.user), date=obj.date, kind=obj.kind, name=obj.name
        )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: CalendarDay) -> None:
        calendar_services.calendar_day_remove(actor=cast(User, request.user), date=obj.date)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CalendarDay]) -> None:
        calendar_services.calendar_days_remove(
            actor=cast(User, request.user), dates=list(queryset.values_list("date", flat=True))
        )


class CalendarYearForm(forms.ModelForm):
    class Meta:
        model = CalendarYear
        fields = ("year", "official")

    def clean(self) -> dict[str, Any]:
        # The service's own checks, so that a refusal shows next to the field, not as an error page.
        cleaned = super().clean() or {}
        year = cleaned.get("year", self.instance.year if self.instance.pk else None)
        if isinstance(year, int):
            errors = calendar_services.calendar_year_errors(year=year, official=bool(cleaned.get("official")))
            for field, messages_ in errors.items():
                self.add_error(field if field in self.fields else None, messages_)
        return cleaned


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    """Whether each year's official holiday arrangement is loaded. Enter the year's days first, then
    tick "official": saving goes through the calendar service, which recomputes (in the same
    transaction) every provisional clock that reaches the year."""

    form = CalendarYearForm
    list_display = ("year", "official", "source", "updated_by", "updated_at", "missing_notice_sent_at")
    list_filter = ("official", "source")
    list_select_related = ("updated_by",)
    ordering = ("-year",)
    actions = ("declare_official",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        always = ("source", "updated_by", "updated_at", "missing_notice_sent_at")
        return (*always, "year") if obj is not None else always

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_administrator(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_administrator(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a year is withdrawn by clearing "official", which recomputes its clocks

    def save_model(self, request: HttpRequest, obj: CalendarYear, form: Any, change: bool) -> None:
        saved = calendar_services.calendar_year_set(
            actor=cast(User, request.user), year=obj.year, official=obj.official
        )
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.action(description=_("Mark the official arrangement as entered"), permissions=["change"])
    def declare_official(self, request: HttpRequest, queryset: QuerySet[CalendarYear]) -> None:
        for year in queryset.order_by("year").values_list("year", flat=True):
            try:
                calendar_services.calendar_year_set(actor=cast(User, request.user), year=year, official=True)
            except InvalidInput as exc:
                for messages_ in exc.details.get("fields", {}).values():
                    for message in messages_:
                        self.message_user(request, f"{year}: {message}", level=messages.ERROR)


class StageSlaForm(forms.ModelForm):
    state = forms.ChoiceField(choices=CaseState.choices)
    amount = forms.IntegerField(min_value=1, max_value=calendar_services.STAGE_SLA_MAX_AMOUNT)

    class Meta:
        model = StageSla
        fields = ("state", "amount", "unit", "active")


@admin.register(StageSla)
class StageSlaAdmin(admin.ModelAdmin):
    """How long a case may stay in a state. Switch a stage off with "active" rather than deleting it."""

    form = StageSlaForm
    list_display = ("state", "amount", "unit", "active", "updated_at")
    list_filter = ("active", "unit")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("state", "updated_at") if obj is not None else ("updated_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_administrator(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_administrator(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: StageSla, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        calendar_services.stage_sla_update(
            actor=cast(User, request.user),
            sla_id=obj.pk,
            changes={name: getattr(obj, name) for name in calendar_services.STAGE_SLA_FIELDS},
        )


# Deadlines and what hangs off them change only through the services (which recompute,
# notify and write the case history), so the admin shows them and nothing more.


@admin.register(Deadline)
class DeadlineAdmin(ReadOnlyAdmin):
    list_display = ("case", "kind", "title", "status", "due_at", "paused_at", "next_alert_at")
    list_filter = ("status", "kind", "client_facing")
    search_fields = ("case__reference", "title")
    list_select_related = ("case",)
    date_hierarchy = "due_at"


@admin.register(CaseWait)
class CaseWaitAdmin(ReadOnlyAdmin):
    list_display = ("case", "waiting_on", "source", "started_at", "ended_at")
    list_filter = ("waiting_on", "source")
    search_fields = ("case__reference",)
    list_select_related = ("case",)


@admin.register(DeadlineAlert)
class DeadlineAlertAdmin(ReadOnlyAdmin):
    list_display = ("deadline", "kind", "offset_minutes", "due_at", "fired_at")
    list_filter = ("kind",)
    list_select_related = ("deadline",)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("recipient", "kind", "case", "created_at", "read_at", "email_status")
    list_filter = ("kind", "email_status")
    search_fields = ("recipient__username", "case__reference")
    list_select_related = ("recipient", "case")


@admin.register(PlatformContact)
class PlatformContactAdmin(ReadOnlyAdmin):
    list_display = ("case", "channel", "direction", "contacted_at", "logged_by", "override_reason")
    list_filter = ("channel", "direction")
    search_fields = ("case__reference", "summary", "platform_reference")
    list_select_related = ("case", "logged_by")
