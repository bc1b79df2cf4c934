"""Celery tasks for workflows; each is thin and calls a service."""

from __future__ import annotations

import socket

from celery import shared_task

from workflows import services


@shared_task(name="workflows.record_heartbeat")
def record_heartbeat() -> None:
    """Run by beat every minute so /api/v1/health/ can tell that workers are alive."""
    services.heartbeat_record(hostname=socket.gethostname())
