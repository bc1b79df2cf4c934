"""Write-side housekeeping for integrations that is not tied to one request."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from integrations.models import IdempotencyRecord


def idempotency_records_purge(*, now: dt.datetime | None = None) -> int:
    """Delete expired Idempotency-Key records; returns how many. Run hourly by beat (integrations.tasks)."""
    deleted, _by_model = IdempotencyRecord.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
