"""What other programs rely on: API keys, the transactional outbox of domain events, webhook
subscriptions and their deliveries, and the record that makes a repeated write harmless."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey


class KeyPermission(models.TextChoices):
    READ = "read", _("Read")
    READ_WRITE = "read_write", _("Read and write")


class ApiKey(AbstractAPIKey):
    """A key another program signs in with: ``Authorization: Api-Key <prefix>.<secret>``.

    Only a hash is stored; the key is shown once, when it is made. A key acts through its
    own ``principal``, a user made for it: a client user of the organisation for an
    organisation-scoped key (so it sees exactly what that organisation's users see), a
    supervisor for an agency-wide key. Revoking the key deactivates the principal too.
    """

    organisation = models.ForeignKey(
        "organisations.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="api_keys"
    )
    permission = models.CharField(max_length=16, choices=KeyPermission.choices, default=KeyPermission.READ)
    principal = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_key")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"


class EventType(models.TextChoices):
    CASE_CREATED = "case.created", _("Case created")
    CASE_STATE_CHANGED = "case.state_changed", _("Case state changed")
    CASE_ASSIGNED = "case.assigned", _("Case assigned")
    ORDERS_IMPORTED = "case.flagged_orders_imported", _("Flagged orders imported")
    EVIDENCE_UPLOADED = "evidence.uploaded", _("Evidence uploaded")
    EVIDENCE_BATCH_UPLOADED = "evidence.batch_uploaded", _("Evidence uploaded in a batch")
    EVIDENCE_REVIEWED = "evidence.reviewed", _("Evidence reviewed")
    EVIDENCE_REQUESTED = "evidence.requested", _("Evidence requested")
    APPEAL_SUBMITTED = "appeal.submitted", _("Appeal submitted")
    OUTCOME_RECORDED = "appeal.outcome_recorded", _("Outcome recorded")
    DEADLINE_DUE_SOON = "deadline.due_soon", _("Deadline due soon")
    DEADLINE_MISSED = "deadline.missed", _("Deadline missed")
    QUOTE_PROPOSED = "fee.quote_proposed", _("Fee quote proposed")
    QUOTE_ACCEPTED = "fee.quote_accepted", _("Fee quote accepted")
    QUOTE_REJECTED = "fee.quote_rejected", _("Fee quote rejected")
    FEE_DUE_COMPUTED = "fee.amount_due_computed", _("Fee due computed")
    MESSAGE_POSTED = "message.posted", _("Message posted")
    SUPPLEMENT_REQUESTED = "appeal.supplement_requested", _("Platform asked for more material")
    SUPPLEMENT_ANSWERED = "appeal.supplement_answered", _("Supplement sent to the platform")
    RECOVERY_PLAN_CREATED = "recovery.plan_created", _("Recovery plan created")
    RECOVERY_TASK_CHANGED = "recovery.task_changed", _("Recovery task changed")


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change that caused it.

    If that transaction rolls back there is no event; if it commits, the dispatcher will
    deliver it to every matching subscription. ``sequence`` counts the case's events from
    1, so receivers can order them and see gaps.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=48, choices=EventType.choices)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        "organisations.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sequence = models.PositiveBigIntegerField(default=0)
    occurred_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    # Set once deliveries for every matching subscription exist.
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["occurred_at", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "sequence"], condition=Q(case__isnull=False), name="one_event_per_case_sequence"
            ),
        ]
        indexes = [
            models.Index(fields=["occurred_at"], condition=Q(fanned_out_at__isnull=True), name="outbox_not_fanned_out"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.case_id}#{self.sequence}"


class WebhookSubscription(models.Model):
    """Where to send which events. Scoped to an organisation, it receives only that organisation's."""

    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text=_("Event types wanted; empty for all."))
    secret = models.CharField(max_length=128, help_text=_("Signs each delivery (HMAC-SHA256)."))
    organisation = models.ForeignKey(
        "organisations.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="webhooks"
    )
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event to one subscription: tried until the receiver answers 2xx or the retries run out."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="deliveries")
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.PROTECT, related_name="deliveries")
    # Copied from the event so that per-case ordering needs no join.
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker that took the delivery holds it until then; past it, another may take it.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "subscription"], name="one_delivery_per_event_subscription"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_pending_due"),
            models.Index(
                fields=["subscription", "case", "sequence"],
                condition=Q(status="pending"),
                name="delivery_pending_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscription_id} {self.status}"


class IdempotencyRecord(models.Model):
    """The first answer to a POST with an ``Idempotency-Key``, kept 24 hours for its caller.

    The same key with the same request gets this answer again and no second effect; with
    another request it gets 422. ``response_status`` is null while the first request runs.
    """

    caller = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="one_record_per_caller_key")]
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.caller} {self.key}"
