"""Report queries (``reports.queries``): the numbers on small hand-built data, filters, grouping and query
counts. The CSV is tests/reports/test_renderers.py's, the endpoints' validation and permissions
tests/reports/api/test_staff.py's; the data all three use is in tests/reports/conftest.py."""

from __future__ import annotations

from typing import Any

import pytest

from agency.accounts.models import User
from cases.models import CaseState
from tests.reports.helpers import ALL_REPORTS, body, get

pytestmark = pytest.mark.django_db


# --- Cases by state ------------------------------------------------------------------------------


def test_cases_by_state_lists_every_state_with_zeros(api: Any, supervisor: User, state_cases: None) -> None:
    data = body(get(api(supervisor), "cases-by-state"))
    assert data["report"] == "cases-by-state"
    assert data["columns"] == ["state", "state_label", "cases"]
    counts = {row["state"]: row["cases"] for row in data["rows"]}
    assert list(counts) == list(CaseState.values)
    assert counts == {state: 0 for state in CaseState.values} | {"intake": 1, "assessment": 2, "closed": 1}
    assert data["totals"] == {"cases": 4, "open": 3, "terminal": 1}
    assert data["filters"]["group_by"] == []


def test_cases_by_state_per_platform(api: Any, supervisor: User, state_cases: None) -> None:
    data = body(get(api(supervisor), "cases-by-state", group_by="platform"))
    assert data["columns"] == ["platform", "platform_label", "state", "state_label", "cases"]
    assert len(data["rows"]) == 2 * len(CaseState.values)  # taobao and tmall have cases; zero states included
    cells = {(row["platform"], row["state"]): row["cases"] for row in data["rows"]}
    assert cells[("tmall", "intake")] == 1
    assert cells[("tmall", "assessment")] == 2
    assert cells[("tmall", "closed")] == 0
    assert cells[("taobao", "closed")] == 1
    assert cells[("taobao", "intake")] == 0
    assert [row["platform"] for row in data["rows"]][:1] == ["taobao"]  # the platforms' own order


def test_cases_by_state_filters(api: Any, supervisor: User, state_cases: None) -> None:
    client = api(supervisor)
    # Dates are whole days in Shanghai: 2026-01-31 17:00 UTC is already 1 February there.
    january = body(get(client, "cases-by-state", created_from="2026-01-31", created_to="2026-01-31"))
    assert january["totals"]["cases"] == 2
    february = body(get(client, "cases-by-state", created_from="2026-02-01"))
    assert february["totals"]["cases"] == 2
    assert february["filters"]["created_from"] == "2026-02-01"
    assert body(get(client, "cases-by-state", platform="taobao"))["totals"]["cases"] == 1
    by_type = body(get(client, "cases-by-state", violation_type="counterfeit"))
    assert {row["state"]: row["cases"] for row in by_type["rows"]}["assessment"] == 1
    # A filtered platform without cases still lists its states, all zero.
    empty = body(get(client, "cases-by-state", platform="jd", group_by="platform"))
    assert {row["platform"] for row in empty["rows"]} == {"jd"}
    assert sum(row["cases"] for row in empty["rows"]) == 0


# --- Success rates -------------------------------------------------------------------------------


def test_success_rates_by_platform_type_and_month(api: Any, supervisor: User, outcomes: None) -> None:
    data = body(get(api(supervisor), "success-rates"))
    assert data["columns"] == [
        "platform",
        "platform_label",
        "violation_type",
        "violation_type_label",
        "month",
        "cases_decided",
        "accepted",
        "partially_accepted",
        "rejected",
        "orders_appealed",
        "orders_cleared",
        "order_success_rate",
        "case_success_rate",
    ]
    wanted = [column for column in data["columns"] if not column.endswith("_label")]
    picked = [tuple(row[column] for column in wanted) for row in data["rows"]]
    assert picked == [
        ("taobao", "counterfeit", "2026-03", 1, 1, 0, 0, 1, 1, 1.0, 1.0),
        # 2026-01-31 15:00 UTC is 23:00 in Shanghai: January; 17:00 UTC is 1 February.
        ("tmall", "fake_transaction", "2026-01", 1, 1, 0, 0, 3, 3, 1.0, 1.0),
        ("tmall", "fake_transaction", "2026-02", 2, 0, 1, 1, 9, 2, 0.2222, 0.5),
    ]
    assert data["totals"] == {
        "cases_decided": 4,
        "accepted": 2,
        "partially_accepted": 1,
        "rejected": 1,
        "orders_appealed": 13,
        "orders_cleared": 6,
        "order_success_rate": 0.4615,
        "case_success_rate": 0.75,
    }


def test_success_rates_group_by_subset(api: Any, supervisor: User, outcomes: None) -> None:
    client = api(supervisor)
    months = body(get(client, "success-rates", group_by="month"))
    assert months["columns"][:2] == ["month", "cases_decided"]
    assert [(row["month"], row["cases_decided"]) for row in months["rows"]] == [
        ("2026-01", 1),
        ("2026-02", 2),
        ("2026-03", 1),
    ]
    assert months["filters"]["group_by"] == ["month"]
    # Given in any order, the columns keep the report's order.
    both = body(get(client, "success-rates", group_by="violation_type,platform"))
    assert both["filters"]["group_by"] == ["platform", "violation_type"]
    assert [(row["platform"], row["violation_type"], row["cases_decided"]) for row in both["rows"]] == [
        ("taobao", "counterfeit", 1),
        ("tmall", "fake_transaction", 3),
    ]
    overall = body(get(client, "success-rates", group_by=""))
    assert len(overall["rows"]) == 1
    assert overall["rows"][0]["cases_decided"] == 4
    assert overall["rows"][0]["order_success_rate"] == 0.4615
    filtered = body(get(client, "success-rates", platform="tmall", group_by=""))
    assert filtered["rows"][0]["cases_decided"] == 3


def test_success_rates_with_no_outcomes(api: Any, supervisor: User) -> None:
    data = body(get(api(supervisor), "success-rates"))
    assert data["rows"] == []
    assert data["totals"]["order_success_rate"] is None
    assert data["totals"]["case_success_rate"] is None


# --- Time in state -------------------------------------------------------------------------------


def test_time_in_state_medians(api: Any, supervisor: User, spans: None) -> None:
    data = body(get(api(supervisor), "time-in-state"))
    assert data["columns"] == ["state", "state_label", "spans", "median_hours", "p90_hours", "mean_hours"]
    rows = {row["state"]: row for row in data["rows"]}
    assert list(rows) == ["intake", "assessment", "evidence", "submitted", "resolved", "reputation_recovery"]
    # Odd count: the middle one. 90th percentile interpolated as percentile_cont: 2 + 0.8 x (3 - 2).
    assert (rows["intake"]["spans"], rows["intake"]["median_hours"]) == (3, 2.0)
    assert (rows["intake"]["p90_hours"], rows["intake"]["mean_hours"]) == (2.8, 2.0)
    # Even count: the mean of the middle two, (2 + 4) / 2; p90 at 3.7: 4 + 0.7 x (10 - 4).
    assert (rows["assessment"]["spans"], rows["assessment"]["median_hours"]) == (4, 3.0)
    assert (rows["assessment"]["p90_hours"], rows["assessment"]["mean_hours"]) == (8.2, 4.25)
    assert (rows["evidence"]["median_hours"], rows["evidence"]["p90_hours"]) == (0.5, 0.5)
    # A state nobody has left yet: listed, with nothing to measure.
    assert rows["submitted"] == {
        "state": "submitted",
        "state_label": str(CaseState.SUBMITTED.label),
        "spans": 0,
        "median_hours": None,
        "p90_hours": None,
        "mean_hours": None,
    }
    assert data["totals"] == {"spans": 8}


def test_time_in_state_filters_by_case(api: Any, supervisor: User, spans: None) -> None:
    data = body(get(api(supervisor), "time-in-state", platform="taobao"))
    rows = {row["state"]: row for row in data["rows"]}
    assert (rows["intake"]["spans"], rows["intake"]["median_hours"]) == (1, 2.0)
    assert rows["assessment"]["spans"] == 0
    assert rows["evidence"]["spans"] == 1


# --- Overdue -------------------------------------------------------------------------------------


def test_overdue_by_kind_assignee_and_platform(api: Any, supervisor: User, manager: User, deadlines: None) -> None:
    data = body(get(api(supervisor), "overdue"))
    assert data["columns"] == [
        "kind",
        "kind_label",
        "assignee_id",
        "assignee",
        "assignee_name",
        "platform",
        "platform_label",
        "overdue",
        "oldest_due_at",
    ]
    picked = [(row["kind"], row["assignee"], row["platform"], row["overdue"]) for row in data["rows"]]
    assert picked == [
        ("platform_supplement", "manager", "tmall", 1),
        ("platform_supplement", None, "taobao", 1),
        ("client_evidence_request", "manager", "tmall", 2),
    ]
    assert data["rows"][0]["assignee_id"] == manager.pk
    assert data["totals"] == {"overdue": 4}


def test_overdue_grouped_and_filtered(api: Any, supervisor: User, deadlines: None) -> None:
    client = api(supervisor)
    by_assignee = body(get(client, "overdue", group_by="assignee"))
    assert [(row["assignee"], row["overdue"]) for row in by_assignee["rows"]] == [("manager", 3), (None, 1)]
    by_kind = body(get(client, "overdue", group_by="kind"))
    assert [(row["kind"], row["overdue"]) for row in by_kind["rows"]] == [
        ("platform_supplement", 2),
        ("client_evidence_request", 2),
    ]
    taobao = body(get(client, "overdue", platform="taobao", group_by=""))
    assert taobao["rows"] == [{"overdue": 1, "oldest_due_at": taobao["rows"][0]["oldest_due_at"]}]
    assert taobao["totals"] == {"overdue": 1}


# --- Workload ------------------------------------------------------------------------------------


def test_workload_per_staff_member(api: Any, supervisor: User, manager: User, teammate: User, deadlines: None) -> None:
    data = body(get(api(supervisor), "workload"))
    assert data["columns"][:3] == ["user_id", "username", "display_name"]
    rows = {row["username"]: row for row in data["rows"]}
    assert rows["manager"]["open_cases"] == 1
    assert rows["manager"]["open_orders"] == 1
    assert rows["manager"]["overdue"] == 3
    assert rows["teammate"]["open_cases"] == 0
    assert data["totals"]["open_cases"] == sum(row["open_cases"] for row in data["rows"])
    assert data["totals"]["overdue"] == sum(row["overdue"] for row in data["rows"])
    assert data["filters"] == {}


# --- Fees ----------------------------------------------------------------------------------------


def test_fees_by_model_currency_and_status(api: Any, supervisor: User, quotes: None) -> None:
    data = body(get(api(supervisor), "fees"))
    assert data["columns"] == [
        "fee_model",
        "fee_model_label",
        "currency",
        "status",
        "status_label",
        "quotes",
        "current_quotes",
        "quoted_total",
        "accepted_quotes",
        "accepted_total",
        "amount_due",
        "due_computed",
        "due_pending",
    ]
    wanted = [column for column in data["columns"] if not column.endswith("_label")]
    picked = [tuple(row[column] for column in wanted) for row in data["rows"]]
    assert picked == [
        ("flat", "CNY", "proposed", 1, 1, "5000.00", 0, "0.00", "0.00", 0, 0),
        ("flat", "CNY", "accepted", 1, 1, "8000.00", 1, "8000.00", "8000.00", 1, 0),
        ("flat", "CNY", "rejected", 1, 0, "0.00", 0, "0.00", "0.00", 0, 0),
        ("flat", "USD", "accepted", 1, 1, "100.00", 1, "100.00", "0.00", 1, 0),
        ("per_order_cleared", "CNY", "accepted", 1, 1, "2000.50", 1, "2000.50", "0.00", 0, 1),
    ]
    assert data["totals"] == {
        "quotes": 5,
        "current_quotes": 4,
        "accepted_quotes": 3,
        "due_computed": 2,
        "due_pending": 1,
        "by_currency": {
            "CNY": {"quoted_total": "15000.50", "accepted_total": "10000.50", "amount_due": "8000.00"},
            "USD": {"quoted_total": "100.00", "accepted_total": "100.00", "amount_due": "0.00"},
        },
    }


def test_fees_by_month_of_decision(api: Any, supervisor: User, quotes: None) -> None:
    client = api(supervisor)
    data = body(get(client, "fees", group_by="fee_model,month"))
    assert data["columns"][:3] == ["fee_model", "fee_model_label", "month"]
    assert [(row["fee_model"], row["month"], row["quotes"]) for row in data["rows"]] == [
        ("flat", "2026-01", 1),  # the rejected quote, 15 January
        ("flat", "2026-02", 1),  # 2026-01-31 17:00 UTC: 1 February in Shanghai
        ("flat", "2026-03", 1),
        ("flat", None, 1),  # still waiting for the client
        ("per_order_cleared", "2026-01", 1),  # 2026-01-31 15:00 UTC: still January
    ]
    assert "by_currency" not in data["totals"]  # money across currencies is not added up
    star = body(get(client, "fees", platform="taobao"))
    assert [(row["currency"], row["quoted_total"]) for row in star["rows"]] == [("USD", "100.00")]


# --- Query counts --------------------------------------------------------------------------------


# Each report is one aggregate query; workload is three single-pass ones (people, their open
# cases, those cases' deadlines), see casework.assignment.workload_rows.
QUERIES = {"workload": 3}


@pytest.mark.parametrize("name", ALL_REPORTS)
def test_each_report_is_one_query_whatever_the_data(
    api: Any, supervisor: User, name: str, django_assert_num_queries: Any, state_cases: None
) -> None:
    client = api(supervisor)
    with django_assert_num_queries(QUERIES.get(name, 1)):
        body(get(client, name))


@pytest.mark.parametrize("name", ALL_REPORTS)
def test_query_count_does_not_grow_with_data(
    api: Any,
    supervisor: User,
    name: str,
    django_assert_num_queries: Any,
    state_cases: None,
    outcomes: None,
    spans: None,
    deadlines: None,
    quotes: None,
) -> None:
    client = api(supervisor)
    with django_assert_num_queries(QUERIES.get(name, 1)):
        body(get(client, name))
    with django_assert_num_queries(QUERIES.get(name, 1)):
        get(client, name, format="csv")


def test_window_medians_match_the_database_percentiles(spans: None) -> None:
    """The portable window query (SQLite's) gives what percentile_cont gives, on any database."""
    from reports.queries import ReportFilters, _span_statistics_window

    found = _span_statistics_window(ReportFilters())
    assert {state: float(row["median_seconds"]) for state, row in found.items()} == {
        "intake": 7200.0,
        "assessment": 10800.0,
        "evidence": 1800.0,
    }
    assert {state: float(row["p90_seconds"]) for state, row in found.items()} == {
        "intake": 10080.0,
        "assessment": 29520.0,
        "evidence": 1800.0,
    }
