"""Celery tasks for bulk evidence (evidence.batches) and evidence checks (evidence.checks); each is thin."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from evidence import batches, checks


@shared_task(
    name="evidence.batch_work",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
)
def batch_work(batch_id: int) -> None:
    """Read a batch's archive into its preview, and store its files if a commit was asked for.

    Safe to run twice: a worker takes the batch only when no live worker holds its lease,
    and a commit skips the files an earlier, interrupted run already wrote.
    """
    batches.batch_work(batch_id)


@shared_task(name="evidence.batches_resume", acks_late=True)
def batches_resume() -> list[int]:
    """Run by beat every minute: queue again each batch whose worker stopped reporting (it died)."""
    return batches.batches_resume()


@shared_task(name="evidence.batches_expire", acks_late=True)
def batches_expire() -> int:
    """Run by beat every hour: batches read but never committed expire, and their archives are deleted."""
    return batches.batches_expire()


@shared_task(
    name="evidence.check_item",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
)
def check_item(check_id: int) -> bool:
    """Read one evidence file and compare it with its order (evidence.checks); on its own queue.

    Safe to run twice: the check is taken under a lease, and only the holder of the lease
    writes the findings.
    """
    return checks.check_run(check_id)


@shared_task(name="evidence.checks_resume", acks_late=True)
def checks_resume() -> list[int]:
    """Run by beat every minute: queue again each check whose worker died or whose task was lost."""
    return checks.checks_resume()
