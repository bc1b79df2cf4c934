"""Workflow services: recording and reading the worker heartbeat."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from workflows.models import WorkerHeartbeat

HEARTBEAT = "celery"


def heartbeat_record(*, hostname: str, now: dt.datetime | None = None) -> WorkerHeartbeat:
    heartbeat, _created = WorkerHeartbeat.objects.update_or_create(
        name=HEARTBEAT, defaults={"last_seen_at": now or timezone.now(), "hostname": hostname}
    )
    return heartbeat


def heartbeat_age_seconds(*, now: dt.datetime | None = None) -> float | None:
    heartbeat = WorkerHeartbeat.objects.filter(name=HEARTBEAT).first()
    if heartbeat is None:
        return None
    return ((now or timezone.now()) - heartbeat.last_seen_at).total_seconds()
