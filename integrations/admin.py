"""Admin for integrations: a read-only window on API keys (they are made and revoked through the API)."""

from __future__ import annotations

from django.contrib import admin
from rest_framework_api_key.models import APIKey

from cases.admin import ReadOnlyAdmin
from integrations.models import ApiKey, IdempotencyRecord, OutboxEvent, WebhookDelivery, WebhookSubscription

# The library's own key model is unused here (ApiKey replaces it); hide its admin page.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """Keys are created through POST /api/v1/api-keys/ (so the plaintext is shown once, to an
    administrator, and the principal user is made with it) and revoked through its revoke action."""

    list_display = ("prefix", "name", "organisation", "permission", "created", "last_used_at", "expiry_date", "revoked")
    list_filter = ("permission", "revoked")
    list_select_related = ("organisation",)
    search_fields = ("name", "prefix")
    fields = (
        "prefix",
        "name",
        "organisation",
        "permission",
        "principal",
        "created",
        "created_by",
        "last_used_at",
        "expiry_date",
        "revoked",
        "revoked_at",
    )
    readonly_fields = fields


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "type", "case", "sequence")
    list_filter = ("type",)
    search_fields = ("case__reference",)
    list_select_related = ("case",)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnlyAdmin):
    """Subscriptions are managed through /api/v1/webhooks/ (the secret is shown once there)."""

    list_display = ("url", "organisation", "active", "created_at")
    list_filter = ("active",)
    exclude = ("secret",)
    list_select_related = ("organisation",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "subscription", "event", "status", "attempts", "last_status_code", "delivered_at")
    list_filter = ("status",)
    list_select_related = ("subscription", "event")


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "caller", "method", "path", "response_status", "expires_at")
    search_fields = ("key", "path")
    exclude = ("response_body",)
