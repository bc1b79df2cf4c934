"""The evidence checks a new installation starts with (evidence.comparing.DEFAULT_RULES, frozen
here), and a check, waiting to be read, for every evidence item stored before checks existed
(beat's evidence.checks_resume queues them)."""

import datetime as dt

from django.db import migrations
from django.utils import timezone

PARCEL = [["tracking_number", "courier", "delivered_after_order"]]
VIRTUAL = [["order_id", "amount", "time_near_order"], ["buyer", "amount", "time_near_order"]]
RULES = {
    "shipping_slip": PARCEL,
    "signed_delivery": PARCEL,
    "courier_tracking": PARCEL,
    "chat_log": [["order_id"], ["buyer", "time_near_order"]],
    "delivery_record": VIRTUAL,
    "customer_confirmation": VIRTUAL,
}


def create(apps, schema_editor):
    EvidenceCheckRule = apps.get_model("evidence", "EvidenceCheckRule")
    for kind, groups in RULES.items():
        EvidenceCheckRule.objects.get_or_create(kind=kind, defaults={"groups": groups, "window_hours": 72})
    EvidenceItem = apps.get_model("evidence", "EvidenceItem")
    EvidenceCheck = apps.get_model("evidence", "EvidenceCheck")
    unchecked = EvidenceItem.objects.filter(evidence_check__isnull=True).values_list("pk", flat=True)
    ids = list(unchecked.iterator(chunk_size=5000))
    # Long enough ago that the first sweep sends them.
    queued_at = timezone.now() - dt.timedelta(days=1)
    for start in range(0, len(ids), 5000):
        EvidenceCheck.objects.bulk_create(
            [EvidenceCheck(item_id=pk, requested_at=queued_at) for pk in ids[start : start + 5000]]
        )


class Migration(migrations.Migration):
    dependencies = [("evidence", "0004_evidence_checks")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
