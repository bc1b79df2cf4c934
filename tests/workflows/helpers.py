"""Helpers the workflows tests share."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from agency.accounts.models import User
from cases.models import Case
from workflows.models import Deadline, DeadlineKind, NotificationKind
from workflows.notifications import notify

# The calendar's.
NEW_YEAR_2027 = dt.date(2027, 1, 1)
NATIONAL_DAY_2026 = dt.date(2026, 10, 1)

# The notifications'.
NOON = dt.datetime(2026, 2, 23, 4, 0, tzinfo=dt.UTC)
DUE_AT = "2026-02-24T07:00:00+00:00"
DUE_LOCAL = "2026-02-24 15:00 (Asia/Shanghai)"
CJK = re.compile(r"[\u4e00-\u9fff]")
# Chinese punctuation (a full-width colon) is expected in the Chinese texts.
ZH_COLON = "\uff1a"


def deadline_params(case: Case, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "reference": case.reference,
        "deadline_kind": DeadlineKind.CLIENT_EVIDENCE_REQUEST.value,
        "title": "Signed delivery slips",
        "due_at": DUE_AT,
        "offset_hours": 24,
        "assignee": "Manager",
    }
    params.update(overrides)
    return params


def remind(users: list[User], case: Case, *, key: str = "reminder-1", deadline: Deadline | None = None, **params: Any):
    return notify(
        recipients=users,
        kind=NotificationKind.DEADLINE_REMINDER,
        case=case,
        deadline=deadline,
        params=deadline_params(case, **params),
        dedupe_key=key,
    )
