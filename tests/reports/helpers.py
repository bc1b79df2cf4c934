"""Helpers the reports tests share: the business time zone's month boundary, and reading a report."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

UTC = dt.UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2026-01-31 23:00 and 2026-02-01 01:00 in Shanghai: one month apart in the business time zone.
LATE_JANUARY = dt.datetime(2026, 1, 31, 15, tzinfo=UTC)
EARLY_FEBRUARY = dt.datetime(2026, 1, 31, 17, tzinfo=UTC)


def get(client: Any, name: str, **params: Any) -> Any:
    return client.get(f"/api/v1/reports/{name}/", params)


def body(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    data: dict[str, Any] = response.json()
    return data


ALL_REPORTS = ["cases-by-state", "success-rates", "time-in-state", "overdue", "workload", "fees"]
