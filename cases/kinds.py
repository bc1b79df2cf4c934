"""Shared vocabularies: the kinds of evidence an appeal uses (with the defaults each goods
type requires) and the fee models a quote can take.

They live in the base because the rule profiles (cases.models) and the history's words
(cases.reasons, workflows.notifications) speak them, as do evidence and billing above.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EvidenceKind(models.TextChoices):
    CHAT_LOG = "chat_log", _("Chat log with the buyer")
    SHIPPING_SLIP = "shipping_slip", _("Courier's shipping slip")
    SIGNED_DELIVERY = "signed_delivery", _("Signed delivery slip")
    COURIER_TRACKING = "courier_tracking", _("Screenshot of the courier's internal tracking")
    DELIVERY_RECORD = "delivery_record", _("Delivery record")
    CUSTOMER_CONFIRMATION = "customer_confirmation", _("Customer's confirmation")
    PAYMENT_RECORD = "payment_record", _("Payment record")
    MALICIOUS_BRUSHING = "malicious_brushing", _("Proof of a competitor's malicious brushing")
    OTHER = "other", _("Other evidence")


# What a platform reviewer expects for one order (DOMAIN.md, step 3). Rule profiles start
# from these and administrators adjust them per platform and violation type.
DEFAULT_REQUIRED_EVIDENCE: dict[str, list[str]] = {
    "physical": [
        EvidenceKind.CHAT_LOG,
        EvidenceKind.SHIPPING_SLIP,
        EvidenceKind.SIGNED_DELIVERY,
        EvidenceKind.COURIER_TRACKING,
    ],
    "virtual": [EvidenceKind.DELIVERY_RECORD, EvidenceKind.CUSTOMER_CONFIRMATION],
}


class FeeModel(models.TextChoices):
    FLAT = "flat", _("Flat fee")
    PER_ORDER_CLEARED = "per_order_cleared", _("Success fee per order cleared")
    PER_CASE_WON = "per_case_won", _("Success fee per case won")
