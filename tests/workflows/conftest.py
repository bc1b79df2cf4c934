"""Fixtures the workflows tests share."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from django.db import connection

from cases.models import Case
from tests.workflows.helpers import DUE_AT, NOON
from workflows.models import Deadline, DeadlineKind, Notification, StageSla
from workflows.tasks import send_notification_email


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


@pytest.fixture
def case(case_in: Any) -> Case:
    result: Case = case_in("evidence", with_evidence=False)
    # Walking the case there notifies people (the assignment, the fee quote); these tests
    # count only the notifications they make themselves.
    Notification.objects.all().delete()
    return result


@pytest.fixture
def deadline(case: Case) -> Deadline:
    return Deadline.objects.create(
        case=case,
        kind=DeadlineKind.CLIENT_EVIDENCE_REQUEST,
        title="Signed delivery slips",
        client_facing=True,
        starts_at=NOON - dt.timedelta(days=1),
        due_at=dt.datetime.fromisoformat(DUE_AT),
    )


@pytest.fixture
def queued() -> Any:
    """The task's delay, replaced: records which notifications were queued for e-mail."""
    with mock.patch.object(send_notification_email, "delay") as delay:
        yield delay
