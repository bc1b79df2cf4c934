"""Admin for workflow records."""

from django.contrib import admin

from workflows.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "last_seen_at", "hostname")
    readonly_fields = ("name", "last_seen_at", "hostname")
