"""What the staff and the portal representations of a recovery plan share: when a task is overdue, a check-in's day."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recovery import selectors
from recovery.models import RecoveryTask, TaskStatus
from workflows.models import Deadline


def task_overdue(task: RecoveryTask, context: Mapping[str, Any]) -> bool:
    """Not done and past its due date; "today" (the agency's calendar) from the serializer's context if given."""
    today = context.get("today") or selectors.business_today()
    return task.status != TaskStatus.DONE and task.due_date < today


def check_in_day(deadline: Deadline) -> int | None:
    """Days after the plan's start of a check-in the plan made; None for one entered by hand."""
    day = (deadline.basis or {}).get("day")
    return day if isinstance(day, int) else None
