"""Fixtures the workflows tests share."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from workflows.models import StageSla


@pytest.fixture
def recomputed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record the deadline engine's recompute calls instead of running them, and check
    that each call happens inside the service's own transaction (a savepoint in tests)."""
    calls: list[dict[str, Any]] = []

    def record(*, dates: Any, actor: Any, reason: str) -> int:
        calls.append(
            {"dates": list(dates), "actor": actor, "reason": reason, "in_savepoint": bool(connection.savepoint_ids)}
        )
        return 0

    monkeypatch.setattr("workflows.deadlines.deadlines_recompute_for_dates", record, raising=False)
    return calls


@pytest.fixture
def intake_sla(db: None) -> StageSla:
    return StageSla.objects.get(state="intake")
