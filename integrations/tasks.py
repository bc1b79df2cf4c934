"""Celery tasks for integrations; each is thin and calls the webhook dispatcher."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import DatabaseError


@shared_task(
    name="integrations.dispatch_webhooks",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
)
def dispatch_webhooks() -> dict[str, Any]:
    """Queued when an event commits, and run by beat every 10 seconds so that nothing waits on a lost task.

    Safe to run on several workers at once: each delivery is claimed before it is sent.
    """
    from integrations.webhooks import dispatch

    result = dispatch()
    return {
        "fanned_out": result.fanned_out,
        "delivered": result.delivered,
        "retried": result.retried,
        "failed": result.failed,
    }


def queue_dispatch() -> None:
    """Ask a worker to dispatch now (used from ``transaction.on_commit``).

    Not when nobody subscribes: then there is nothing to send, and beat's run marks the
    events fanned out all the same.
    """
    from integrations.models import WebhookSubscription

    if WebhookSubscription.objects.filter(active=True).exists():
        dispatch_webhooks.delay()


@shared_task(name="integrations.purge_idempotency_records", acks_late=True)
def purge_idempotency_records() -> int:
    """Run by beat every hour: forget Idempotency-Key answers older than IDEMPOTENCY_TTL_HOURS."""
    from integrations.services import idempotency_records_purge

    return idempotency_records_purge()
