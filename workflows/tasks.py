"""Celery tasks for workflows; each is thin and calls a service."""

from __future__ import annotations

import logging
import socket
from typing import Any

from celery import Task, shared_task
from celery.signals import after_task_publish, beat_embedded_init, beat_init
from django.db import DatabaseError, close_old_connections, connection

from workflows import calendar_services, notifications, services

logger = logging.getLogger(__name__)


@shared_task(name="workflows.record_heartbeat")
def record_heartbeat() -> None:
    """Scheduled by beat every minute; a worker running it proves to /api/v1/health/ready/ that workers are alive."""
    services.heartbeat_record(hostname=socket.gethostname())


# Beat's own heartbeat: beat marks the time each time it has handed the heartbeat task to
# the broker. The worker's mark then says the worker ran it, so the two tell a stopped
# beat (both go stale) from a stopped worker (only the worker's does).
_in_beat = False


@beat_init.connect
@beat_embedded_init.connect
def _mark_beat_process(**kwargs: Any) -> None:
    global _in_beat
    _in_beat = True


@after_task_publish.connect
def beat_heartbeat_on_publish(sender: str | None = None, **kwargs: Any) -> None:
    """In beat only (a shell sending the task proves nothing about beat): record beat's heartbeat."""
    if not _in_beat or sender != record_heartbeat.name:
        return
    _drop_stale_connection()  # beat holds its connection for ever: drop one that is broken or too old
    try:
        services.heartbeat_record(name=services.BEAT_HEARTBEAT, hostname=socket.gethostname())
    except DatabaseError:
        # Never stop beat scheduling for this: the mark goes stale and readiness says so.
        logger.warning("Could not record beat's heartbeat", exc_info=True)
        _drop_stale_connection()


def _drop_stale_connection() -> None:
    # Inside a transaction (a test's) the connection is not beat's to close.
    if not connection.in_atomic_block:
        close_old_connections()


@shared_task(
    name="workflows.sweep_deadlines",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
)
def sweep_deadlines() -> dict[str, Any]:
    """Run by beat every minute: fire due reminders and misses; queue another run if more are due.

    Safe to run on several workers at once and to retry: each alert is claimed before it fires.
    """
    from workflows.sweep import deadlines_sweep

    result = deadlines_sweep()
    if result.more:
        sweep_deadlines.delay()
    requeued = notifications.notification_emails_requeue()
    return {
        "reminders": result.reminders,
        "missed": result.missed,
        "skipped": result.skipped,
        "more": result.more,
        "emails_requeued": requeued,
    }


@shared_task(
    name="workflows.calendar_missing_notice",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def calendar_missing_notice() -> list[int]:
    """Run by beat every hour: tell the administrators (once a year) that a year's holiday arrangement is missing.

    The same run puts right any running clock that reaches such a year without being
    marked provisional (counted before the calendar knew which years are official).
    """
    calendar_services.calendar_provisional_catch_up()
    return calendar_services.calendar_missing_notice_send()


@shared_task(
    bind=True,
    name="workflows.send_notification_email",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def send_notification_email(self: Task[[int], None], notification_id: int) -> None:
    """E-mail one notification; retried with backoff, and marked failed after the last retry."""
    try:
        notifications.notification_email_send(notification_id=notification_id)
    except Exception as exc:
        if self.request.retries >= (self.max_retries or 0):
            notifications.notification_email_fail(notification_id=notification_id, error=str(exc))
            return
        raise
