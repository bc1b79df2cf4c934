"""Reports as CSV (``reports.renderers``): the same rows as the JSON, by format or Accept header, labels in the
request's language, and errors still as JSON."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.utils import timezone, translation

from agency.accounts.models import User
from cases.models import CaseState
from reports.renderers import csv_value
from tests.reports.helpers import ALL_REPORTS, SHANGHAI, body, get

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ALL_REPORTS)
def test_csv_parses_back_to_the_json_rows(
    api: Any, supervisor: User, name: str, state_cases: None, outcomes: None, spans: None, deadlines: None, quotes: None
) -> None:
    client = api(supervisor)
    data = body(get(client, name))
    assert data["rows"], "every report has rows on this data"
    response = get(client, name, format="csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localtime(timezone.now(), SHANGHAI).date().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="report-{name}-{today}.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0] == data["columns"]
    # JSON values as the CSV writes them: empty for null, true/false, lists joined by semicolons.
    assert lines[1:] == [[csv_value(row[column]) for column in data["columns"]] for row in data["rows"]]


def test_csv_by_accept_header_with_chinese_labels(api: Any, supervisor: User, state_cases: None) -> None:
    response = api(supervisor).get(
        "/api/v1/reports/cases-by-state/", HTTP_ACCEPT="text/csv", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    with translation.override("zh-hans"):
        intake = str(CaseState.INTAKE.label)
    assert intake != "Intake"
    assert f"intake,{intake},1" in text.splitlines()


def test_csv_request_with_bad_filter_answers_json_error(api: Any, supervisor: User) -> None:
    response = get(api(supervisor), "cases-by-state", format="csv", platform="nowhere")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "platform" in response.json()["error"]["details"]["fields"]
