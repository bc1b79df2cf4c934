"""The report endpoints (``reports.api.staff``): bad filters are a 400 naming the field, only supervisors and
administrators read reports, and an unknown report is a 404."""

from __future__ import annotations

from typing import Any

import pytest

from agency.accounts.models import User
from tests.reports.helpers import ALL_REPORTS, get

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("cases-by-state", {"platform": "myspace"}, "platform"),
        ("success-rates", {"violation_type": "jaywalking"}, "violation_type"),
        ("time-in-state", {"created_from": "31/01/2026"}, "created_from"),
        ("overdue", {"created_from": "2026-02-02", "created_to": "2026-02-01"}, "created_to"),
        ("success-rates", {"group_by": "platform,weather"}, "group_by"),
        ("cases-by-state", {"group_by": "month"}, "group_by"),
        ("fees", {"group_by": "assignee"}, "group_by"),
    ],
)
def test_bad_filters_answer_400_naming_the_field(
    api: Any, supervisor: User, name: str, params: dict[str, str], field: str
) -> None:
    response = get(api(supervisor), name, **params)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["details"]["fields"]) == [field]


@pytest.mark.parametrize("name", ALL_REPORTS)
def test_only_supervisors_and_administrators(
    api: Any,
    name: str,
    supervisor: User,
    administrator: User,
    manager: User,
    outsider_manager: User,
    reviewer: User,
    intake: User,
    alice: User,
    charlie: User,
) -> None:
    assert get(api(None), name).status_code == 401
    for user in (manager, outsider_manager, reviewer, intake, alice, charlie):
        response = get(api(user), name)
        assert response.status_code == 403, (user.username, response.content)
        # A CSV request is refused the same way, as JSON.
        assert get(api(user), name, format="csv").status_code == 403
    assert get(api(administrator), name).status_code == 200
    assert get(api(supervisor), name).status_code == 200


def test_unknown_report_is_404(api: Any, supervisor: User) -> None:
    assert api(supervisor).get("/api/v1/reports/profits/").status_code == 404
