"""Workflow state kept in the database; for now the workers' heartbeat."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """When a Celery worker last ran the beat-scheduled heartbeat: proof the pipeline works."""

    name = models.CharField(max_length=100, primary_key=True)
    last_seen_at = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen_at:%Y-%m-%d %H:%M:%S}"
