"""Reports: the numbers on small hand-built data, filters, CSV, permissions and query counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from agency.accounts.models import User
from agency.organisations.models import Shop
from billing.models import FeeQuote
from cases.models import Case, CaseState, CaseStateSpan
from reports.renderers import csv_value
from workflows.models import Deadline

pytestmark = pytest.mark.django_db

UTC = dt.UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2026-01-31 23:00 and 2026-02-01 01:00 in Shanghai: one month apart in the business time zone.
LATE_JANUARY = dt.datetime(2026, 1, 31, 15, tzinfo=UTC)
EARLY_FEBRUARY = dt.datetime(2026, 1, 31, 17, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _business_zone(settings: Any) -> None:
    settings.BUSINESS_TIME_ZONE = "Asia/Shanghai"


@pytest.fixture
def case_at(make_case: Callable[..., Case]) -> Callable[..., Case]:
    """A case put straight into a state with stored numbers (reports read them; they do not walk)."""

    def make(shop: Shop, *, state: str = CaseState.INTAKE, **fields: Any) -> Case:
        violation_type = fields.pop("violation_type", "fake_transaction")
        case = make_case(shop, orders=1, violation_type=violation_type)
        Case.objects.filter(pk=case.pk).update(state=state, **fields)
        case.refresh_from_db()
        return case

    return make


def get(client: Any, name: str, **params: Any) -> Any:
    return client.get(f"/api/v1/reports/{name}/", params)


def body(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    data: dict[str, Any] = response.json()
    return data


# --- Cases by state ------------------------------------------------------------------------------


@pytest.fixture
def state_cases(case_at: Callable[..., Case], blossom_shop: Shop, star_shop: Shop) -> None:
    case_at(blossom_shop, state=CaseState.INTAKE, created_at=LATE_JANUARY)
    case_at(blossom_shop, state=CaseState.ASSESSMENT, created_at=LATE_JANUARY)
    case_at(blossom_shop, state=CaseState.ASSESSMENT, created_at=EARLY_FEBRUARY, violation_type="counterfeit")
    case_at(star_shop, state=CaseState.CLOSED, created_at=EARLY_FEBRUARY)


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


@pytest.fixture
def outcomes(case_at: Callable[..., Case], blossom_shop: Shop, star_shop: Shop) -> None:
    resolved = CaseState.RESOLVED
    case_at(
        blossom_shop, state=resolved, outcome="accepted", outcome_at=LATE_JANUARY, orders_cleared=3, orders_upheld=0
    )
    case_at(
        blossom_shop,
        state=resolved,
        outcome="partially_accepted",
        outcome_at=EARLY_FEBRUARY,
        orders_cleared=2,
        orders_upheld=2,
    )
    case_at(
        blossom_shop,
        state=CaseState.CLOSED,
        outcome="rejected",
        outcome_at=dt.datetime(2026, 2, 10, tzinfo=UTC),
        orders_cleared=0,
        orders_upheld=5,
    )
    case_at(
        star_shop,
        state=resolved,
        violation_type="counterfeit",
        outcome="accepted",
        outcome_at=dt.datetime(2026, 3, 1, 4, tzinfo=UTC),
        orders_cleared=1,
        orders_upheld=0,
    )
    case_at(blossom_shop, state=CaseState.SUBMITTED)  # no outcome yet: not counted


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


def _spans(case: Case, state: str, seconds: list[int]) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    for length in seconds:
        CaseStateSpan.objects.create(
            case=case,
            state=state,
            entered_at=start,
            left_at=start + dt.timedelta(seconds=length),
            seconds=length,
        )


@pytest.fixture
def spans(case_at: Callable[..., Case], blossom_shop: Shop, star_shop: Shop) -> None:
    blossom = case_at(blossom_shop, state=CaseState.RESOLVED)
    star = case_at(star_shop, state=CaseState.SUBMITTED)
    _spans(blossom, "intake", [10800, 3600])
    _spans(star, "intake", [7200])  # intake: 1, 2, 3 hours (odd count)
    _spans(blossom, "assessment", [36000, 3600, 14400, 7200])  # 1, 2, 4, 10 hours (even count)
    _spans(star, "evidence", [1800])
    _spans(blossom, "declined", [99999])  # terminal states are left out
    # Each case also has its open intake span from make_case (it never left): not measured.
    assert CaseStateSpan.objects.filter(case__in=[blossom, star], left_at__isnull=True).count() == 2


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


def _deadline(case: Case, kind: str, *, due: dt.timedelta | None, **fields: Any) -> Deadline:
    now = timezone.now()
    return Deadline.objects.create(
        case=case, kind=kind, starts_at=now - dt.timedelta(days=3), due_at=now + due if due else None, **fields
    )


@pytest.fixture
def deadlines(case_at: Callable[..., Case], blossom_shop: Shop, star_shop: Shop, manager: User) -> None:
    hour = dt.timedelta(hours=1)
    mine = case_at(blossom_shop, state=CaseState.EVIDENCE, assignee=manager)
    nobody = case_at(star_shop, state=CaseState.SUBMITTED)
    closed = case_at(blossom_shop, state=CaseState.CLOSED, assignee=manager)
    _deadline(mine, "client_evidence_request", due=-hour)  # open, past due
    _deadline(mine, "client_evidence_request", due=-2 * hour)
    _deadline(mine, "platform_supplement", due=-hour, status="missed")  # missed, not made good
    _deadline(mine, "platform_supplement", due=-hour, status="missed", met_at=timezone.now())  # made good late
    _deadline(mine, "client_evidence_request", due=hour)  # not due yet
    _deadline(mine, "platform_supplement", due=None)  # paused clock
    _deadline(mine, "recovery_check_in", due=-hour, status="cancelled")
    _deadline(nobody, "platform_supplement", due=-hour)
    _deadline(closed, "client_evidence_request", due=-hour)  # closed case: not overdue work


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


@pytest.fixture
def quotes(case_at: Callable[..., Case], blossom_shop: Shop, star_shop: Shop, supervisor: User) -> None:
    def quote(case: Case, version: int, fee_model: str, total: str, status: str, **fields: Any) -> None:
        FeeQuote.objects.create(
            case=case,
            version=version,
            fee_model=fee_model,
            amount=Decimal(total),
            quoted_total=Decimal(total),
            status=status,
            proposed_by=supervisor,
            **fields,
        )

    won = case_at(blossom_shop, state=CaseState.RESOLVED, outcome="accepted", outcome_at=EARLY_FEBRUARY)
    waiting = case_at(blossom_shop, state=CaseState.ASSESSMENT)
    pending = case_at(blossom_shop, state=CaseState.SUBMITTED)
    abroad = case_at(star_shop, state=CaseState.RESOLVED, outcome="rejected", outcome_at=EARLY_FEBRUARY)
    quote(won, 1, "flat", "8000", "accepted", decided_at=EARLY_FEBRUARY, amount_due=Decimal("8000"))
    quote(waiting, 1, "flat", "3000", "rejected", decided_at=dt.datetime(2026, 1, 15, tzinfo=UTC))
    quote(waiting, 2, "flat", "5000", "proposed")
    quote(pending, 1, "per_order_cleared", "2000.50", "accepted", decided_at=LATE_JANUARY)
    quote(abroad, 1, "flat", "100", "accepted", currency="USD", decided_at=dt.datetime(2026, 3, 2, tzinfo=UTC))
    FeeQuote.objects.filter(case=abroad).update(amount_due=Decimal("0"))


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


# --- CSV -----------------------------------------------------------------------------------------

ALL_REPORTS = ["cases-by-state", "success-rates", "time-in-state", "overdue", "workload", "fees"]


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


# --- Validation, permissions, query counts -------------------------------------------------------


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


# Each report is one aggregate query; workload is three single-pass ones (people, their open
# cases, those cases' deadlines), see casework.assignment.workload_rows.
QUERIES = {"workload": 3}


def test_unknown_report_is_404(api: Any, supervisor: User) -> None:
    assert api(supervisor).get("/api/v1/reports/profits/").status_code == 404


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
