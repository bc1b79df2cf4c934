"""Fee quotes: proposed by staff in assessment, accepted or rejected by the client in the portal.

A case may have many quotes over time (a revised quote withdraws the one before it), but
at most one is current: proposed (waiting for the client) or accepted. ``accept_case``
needs an accepted one. After the outcome, ``amount_due`` is computed from the accepted
quote and the per-order outcome (billing.fees).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.kinds import FeeModel


class QuoteStatus(models.TextChoices):
    PROPOSED = "proposed", _("Waiting for the client")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


CURRENT_STATUSES = (QuoteStatus.PROPOSED, QuoteStatus.ACCEPTED)


class FeeQuote(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="fee_quotes")
    version = models.PositiveSmallIntegerField()
    fee_model = models.CharField(max_length=32, choices=FeeModel.choices)
    # Flat: the fee. Per order cleared: the fee per order. Per case won: the fee for the case.
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="CNY")
    # A flat fee returned in full if the appeal fails (no order cleared).
    refund_if_failed = models.BooleanField(default=False)
    # The most the client can owe under this quote, for the client to see and for reports.
    quoted_total = models.DecimalField(max_digits=14, decimal_places=2)
    client_note = models.TextField(blank=True, help_text=_("What the client reads beside the quote."))
    status = models.CharField(max_length=16, choices=QuoteStatus.choices, default=QuoteStatus.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    # Computed from the outcome (billing.fees); empty until there is one.
    amount_due = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    amount_due_computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "version"]
        indexes = [models.Index(fields=["status", "proposed_at"])]
        constraints = [
            models.UniqueConstraint(fields=["case", "version"], name="one_quote_version_per_case"),
            models.UniqueConstraint(
                fields=["case"], condition=Q(status__in=["proposed", "accepted"]), name="one_current_quote_per_case"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="quote_amount_positive"),
            models.CheckConstraint(
                condition=Q(refund_if_failed=False) | Q(fee_model="flat"), name="refund_only_on_flat_fee"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} quote v{self.version} ({self.status})"
