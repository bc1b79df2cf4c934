"""Workflow services: recording and reading the heartbeats of the Celery worker and of beat."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from workflows.models import WorkerHeartbeat

# Written by a worker when it runs the heartbeat task (workflows.tasks.record_heartbeat).
HEARTBEAT = "celery"
# Written by beat when it has handed that task to the broker (workflows.tasks.beat_heartbeat_on_publish).
BEAT_HEARTBEAT = "beat"


def heartbeat_record(*, hostname: str, now: dt.datetime | None = None, name: str = HEARTBEAT) -> WorkerHeartbeat:
    heartbeat, _created = WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"last_seen_at": now or timezone.now(), "hostname": hostname}
    )
    return heartbeat


def heartbeat_age_seconds(*, now: dt.datetime | None = None, name: str = HEARTBEAT) -> float | None:
    heartbeat = WorkerHeartbeat.objects.filter(name=name).first()
    if heartbeat is None:
        return None
    return ((now or timezone.now()) - heartbeat.last_seen_at).total_seconds()
