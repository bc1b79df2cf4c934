"""Report queries: each report is a fixed, small number of aggregate queries, never rows loaded into Python.

Every report answers a ``Report``: the filters it applied, its column names and one dict
per row, plus totals. Rows are groups that the database computed (GROUP BY, or a window
query for medians), so their number follows the groups asked for, not the data. Python
only orders, labels and formats those groups (and derives rates from their counts).

Only supervisors and administrators may read reports: they see the whole agency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Aggregate, Avg, Count, F, FloatField, Min, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import User
from agency.errors import NotAllowed
from agency.organisations.models import Platform
from billing.models import CURRENT_STATUSES, FeeModel, FeeQuote, QuoteStatus
from cases.models import OPEN_STATES, TERMINAL_STATES, Case, CaseState, CaseStateSpan, Outcome, ViolationType
from casework.assignment import workload_rows
from workflows.models import Deadline, DeadlineKind
from workflows.selectors import overdue_q

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ReportFilters:
    """What the caller asked for; ``group_by`` None means the report's default grouping."""

    created_from: dt.date | None = None
    created_to: dt.date | None = None
    platform: str = ""
    violation_type: str = ""
    group_by: tuple[str, ...] | None = None


@dataclass
class Report:
    name: str
    generated_at: dt.datetime
    filters: dict[str, Any]
    columns: list[str]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "report": self.name,
            "generated_at": self.generated_at,
            "filters": self.filters,
            "columns": self.columns,
            "rows": self.rows,
            "totals": self.totals,
        }


@dataclass(frozen=True)
class ReportSpec:
    """One report: how it is built, which groupings it allows and which it uses by default."""

    build: Callable[[ReportFilters, dt.datetime], tuple[list[str], list[dict[str, Any]], dict[str, Any]]]
    groupings: tuple[str, ...] = ()
    default_grouping: tuple[str, ...] = ()
    # Whether the case filters (created dates, platform, violation type) mean anything here.
    case_filters: bool = True


# --- Shared pieces ------------------------------------------------------------------------------


def business_zone() -> ZoneInfo:
    return ZoneInfo(settings.BUSINESS_TIME_ZONE)


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the agency's business time zone."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=business_zone())


def case_q(filters: ReportFilters, *, prefix: str = "") -> Q:
    """The common case filters, reaching the case through ``prefix`` ("case__") where needed.

    Dates are whole days in the business time zone: created_to includes its own day.
    """
    q = Q()
    if filters.created_from is not None:
        q &= Q(**{f"{prefix}created_at__gte": _day_start(filters.created_from)})
    if filters.created_to is not None:
        q &= Q(**{f"{prefix}created_at__lt": _day_start(filters.created_to + dt.timedelta(days=1))})
    if filters.platform:
        q &= Q(**{f"{prefix}shop__platform": filters.platform})
    if filters.violation_type:
        q &= Q(**{f"{prefix}violation_type": filters.violation_type})
    return q


def _label(choices: Any, value: Any) -> str | None:
    """The display name of a choice in the active language (the code itself if unknown)."""
    if value is None or value == "":
        return None
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _month(value: dt.datetime | dt.date | None) -> str | None:
    return value.strftime("%Y-%m") if value is not None else None


def _moment(value: dt.datetime | None) -> str | None:
    """A time in the current time zone, as the API's serializers write it (the same in JSON and CSV)."""
    return timezone.localtime(value).isoformat() if value is not None else None


def _money(value: Decimal | float | int | None) -> str:
    """Money as a string with two decimals: exact in JSON and CSV alike."""
    return str(Decimal(str(value or 0)).quantize(CENT))


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _hours(seconds: Any) -> float | None:
    return round(float(seconds) / 3600, 2) if seconds is not None else None


def _choice_order(choices: Any) -> dict[str, int]:
    return {value: position for position, value in enumerate(choices.values)}


def _grouped(rows: Iterable[dict[str, Any]], keys: Sequence[tuple[str, dict[str, int]]]) -> list[dict[str, Any]]:
    """Rows in the order of their keys' choices (unknown and empty values last)."""

    def sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
        parts: list[Any] = []
        for name, order in keys:
            value = row.get(name)
            if order:
                position = order.get(value, len(order)) if isinstance(value, str) else len(order)
                parts.append((value is None, position, str(value or "")))
            else:
                parts.append((value is None, str(value or "")))
        return tuple(parts)

    return sorted(rows, key=sort_key)


def _groups(queryset: QuerySet[Any], keys: dict[str, Any], aggregates: dict[str, Any]) -> list[dict[str, Any]]:
    """One aggregate query: GROUP BY ``keys`` (name: expression), or one row over everything without keys."""
    if not keys:
        return [queryset.aggregate(**aggregates)]
    return list(queryset.order_by().annotate(**keys).values(*keys).annotate(**aggregates))


# --- Cases by state ------------------------------------------------------------------------------


def _cases_by_state(filters: ReportFilters, now: dt.datetime) -> tuple[list[str], list[dict[str, Any]], dict[str, Any]]:
    """How many cases are in each state, every state listed (zero included), optionally per platform."""
    by_platform = "platform" in (filters.group_by or ())
    keys = ["state", "shop__platform"] if by_platform else ["state"]
    counts = {
        tuple(row[key] for key in keys): row["cases"]
        for row in Case.objects.filter(case_q(filters)).order_by().values(*keys).annotate(cases=Count("id"))
    }
    rows: list[dict[str, Any]] = []
    if by_platform:
        present = {platform for _state, platform in counts}
        if filters.platform:
            present.add(filters.platform)
        platforms = [p for p in Platform.values if p in present] + sorted(present - set(Platform.values))
        for platform in platforms:
            for state in CaseState.values:
                rows.append(
                    {
                        "platform": platform,
                        "platform_label": _label(Platform, platform),
                        "state": state,
                        "state_label": _label(CaseState, state),
                        "cases": counts.get((state, platform), 0),
                    }
                )
        columns = ["platform", "platform_label", "state", "state_label", "cases"]
    else:
        for state in CaseState.values:
            rows.append({"state": state, "state_label": _label(CaseState, state), "cases": counts.get((state,), 0)})
        columns = ["state", "state_label", "cases"]
    total = sum(counts.values())
    open_cases = sum(count for key, count in counts.items() if key[0] in OPEN_STATES)
    return columns, rows, {"cases": total, "open": open_cases, "terminal": total - open_cases}


# --- Success rates -------------------------------------------------------------------------------


def _success_rates(filters: ReportFilters, now: dt.datetime) -> tuple[list[str], list[dict[str, Any]], dict[str, Any]]:
    """Outcomes by platform, violation type and month of the outcome, from the numbers stored on each case.

    Cases with an outcome (the partial index case_outcome_at); orders appealed are the
    orders cleared plus those upheld, as recorded on the case, so the millions of flagged
    orders are never read.
    """
    grouping = filters.group_by if filters.group_by is not None else ("platform", "violation_type", "month")
    expressions: dict[str, Any] = {}
    if "platform" in grouping:
        expressions["platform"] = F("shop__platform")
    if "violation_type" in grouping:
        expressions["group_violation_type"] = F("violation_type")
    if "month" in grouping:
        expressions["month"] = TruncMonth("outcome_at", tzinfo=business_zone())
    found = _groups(
        Case.objects.filter(case_q(filters)).exclude(outcome=""),
        expressions,
        {
            "cases_decided": Count("id"),
            "accepted": Count("id", filter=Q(outcome=Outcome.ACCEPTED)),
            "partially_accepted": Count("id", filter=Q(outcome=Outcome.PARTIALLY_ACCEPTED)),
            "rejected": Count("id", filter=Q(outcome=Outcome.REJECTED)),
            "orders_appealed": Sum(F("orders_cleared") + F("orders_upheld")),
            "orders_cleared": Sum("orders_cleared"),
        },
    )
    columns: list[str] = []
    if "platform" in grouping:
        columns += ["platform", "platform_label"]
    if "violation_type" in grouping:
        columns += ["violation_type", "violation_type_label"]
    if "month" in grouping:
        columns.append("month")
    counts = ["cases_decided", "accepted", "partially_accepted", "rejected", "orders_appealed", "orders_cleared"]
    columns += [*counts, "order_success_rate", "case_success_rate"]

    rows = []
    for group in found:
        row: dict[str, Any] = {}
        if "platform" in grouping:
            row["platform"] = group["platform"]
            row["platform_label"] = _label(Platform, group["platform"])
        if "violation_type" in grouping:
            row["violation_type"] = group["group_violation_type"]
            row["violation_type_label"] = _label(ViolationType, group["group_violation_type"])
        if "month" in grouping:
            row["month"] = _month(group["month"])
        row.update({name: int(group[name] or 0) for name in counts})
        _add_rates(row)
        rows.append(row)
    rows = _grouped(
        rows, [("platform", _choice_order(Platform)), ("violation_type", _choice_order(ViolationType)), ("month", {})]
    )
    totals: dict[str, Any] = {name: sum(row[name] for row in rows) for name in counts}
    _add_rates(totals)
    return columns, rows, totals


def _add_rates(row: dict[str, Any]) -> None:
    row["order_success_rate"] = _ratio(row["orders_cleared"], row["orders_appealed"])
    row["case_success_rate"] = _ratio(row["accepted"] + row["partially_accepted"], row["cases_decided"])


# --- Time in state -------------------------------------------------------------------------------


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate: the continuous percentile of the expression."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, *, fraction: float) -> None:
        super().__init__(expression)
        self.extra["fraction"] = repr(float(fraction))


MEASURED_STATES = [state for state in CaseState.values if state not in TERMINAL_STATES]


def _closed_spans(filters: ReportFilters) -> QuerySet[CaseStateSpan]:
    """Closed spans of the states a case passes through; the left_at test matches the span_closed index."""
    return CaseStateSpan.objects.filter(
        case_q(filters, prefix="case__"),
        left_at__isnull=False,
        seconds__isnull=False,
        state__in=MEASURED_STATES,
    ).order_by()


def _span_statistics_postgresql(filters: ReportFilters) -> dict[str, dict[str, Any]]:
    found = (
        _closed_spans(filters)
        .values("state")
        .annotate(
            spans=Count("id"),
            mean_seconds=Avg("seconds"),
            median_seconds=PercentileCont("seconds", fraction=0.5),
            p90_seconds=PercentileCont("seconds", fraction=0.9),
        )
    )
    return {row["state"]: row for row in found}


# Medians without percentile_cont (SQLite): number the spans of each state in order of their
# length and count them (window functions), then pick the middle one or two. The 90th
# percentile interpolates like percentile_cont: position 1 + 0.9 (n - 1), written in
# integer arithmetic (9 (n - 1) / 10 and its remainder) so that it is the same on every database.
_RANKED_STATISTICS = """
SELECT state,
       COUNT(*) AS spans,
       AVG(seconds) AS mean_seconds,
       AVG(CASE WHEN rank_in_state IN ((count_in_state + 1) / 2, (count_in_state + 2) / 2)
                THEN seconds END) AS median_seconds,
       MAX(CASE WHEN rank_in_state = 1 + (9 * (count_in_state - 1)) / 10 THEN seconds END)
         + MAX((9 * (count_in_state - 1)) %% 10) / 10.0
         * (COALESCE(MAX(CASE WHEN rank_in_state = 2 + (9 * (count_in_state - 1)) / 10 THEN seconds END),
                     MAX(CASE WHEN rank_in_state = 1 + (9 * (count_in_state - 1)) / 10 THEN seconds END))
            - MAX(CASE WHEN rank_in_state = 1 + (9 * (count_in_state - 1)) / 10 THEN seconds END))
         AS p90_seconds
FROM ({ranked}) ranked
GROUP BY state
"""


def _span_statistics_window(filters: ReportFilters) -> dict[str, dict[str, Any]]:
    ranked = (
        _closed_spans(filters)
        .annotate(
            rank_in_state=Window(RowNumber(), partition_by=[F("state")], order_by=[F("seconds").asc(), F("id").asc()]),
            count_in_state=Window(Count("id"), partition_by=[F("state")]),
        )
        .values("state", "seconds", "rank_in_state", "count_in_state")
    )
    inner, params = ranked.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_RANKED_STATISTICS.format(ranked=inner), params)
        names = [column[0] for column in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def _time_in_state(filters: ReportFilters, now: dt.datetime) -> tuple[list[str], list[dict[str, Any]], dict[str, Any]]:
    """Per state a case passes through: how long cases stayed there (closed spans only), in hours."""
    if connection.vendor == "postgresql":
        statistics = _span_statistics_postgresql(filters)
    else:
        statistics = _span_statistics_window(filters)
    rows = []
    for state in MEASURED_STATES:
        found = statistics.get(state, {})
        rows.append(
            {
                "state": state,
                "state_label": _label(CaseState, state),
                "spans": int(found.get("spans") or 0),
                "median_hours": _hours(found.get("median_seconds")),
                "p90_hours": _hours(found.get("p90_seconds")),
                "mean_hours": _hours(found.get("mean_seconds")),
            }
        )
    columns = ["state", "state_label", "spans", "median_hours", "p90_hours", "mean_hours"]
    return columns, rows, {"spans": sum(row["spans"] for row in rows)}


# --- Overdue deadlines ---------------------------------------------------------------------------


def _overdue(filters: ReportFilters, now: dt.datetime) -> tuple[list[str], list[dict[str, Any]], dict[str, Any]]:
    """Overdue deadlines on open cases (workflows.selectors.overdue_q), by kind, assignee and platform."""
    grouping = filters.group_by if filters.group_by is not None else ("kind", "assignee", "platform")
    keys: dict[str, Any] = {}
    if "kind" in grouping:
        keys["group_kind"] = F("kind")
    if "assignee" in grouping:
        keys.update(
            group_assignee_id=F("case__assignee_id"),
            group_username=F("case__assignee__username"),
            group_display_name=F("case__assignee__display_name"),
        )
    if "platform" in grouping:
        keys["group_platform"] = F("case__shop__platform")
    found = _groups(
        Deadline.objects.filter(overdue_q(now), case_q(filters, prefix="case__"), case__state__in=OPEN_STATES),
        keys,
        {"overdue": Count("id"), "oldest_due_at": Min("due_at")},
    )
    columns: list[str] = []
    if "kind" in grouping:
        columns += ["kind", "kind_label"]
    if "assignee" in grouping:
        columns += ["assignee_id", "assignee", "assignee_name"]
    if "platform" in grouping:
        columns += ["platform", "platform_label"]
    columns += ["overdue", "oldest_due_at"]
    rows = []
    for group in found:
        row: dict[str, Any] = {}
        if "kind" in grouping:
            row["kind"] = group["group_kind"]
            row["kind_label"] = _label(DeadlineKind, group["group_kind"])
        if "assignee" in grouping:
            row["assignee_id"] = group["group_assignee_id"]
            row["assignee"] = group["group_username"]
            row["assignee_name"] = group["group_display_name"] or group["group_username"]
        if "platform" in grouping:
            row["platform"] = group["group_platform"]
            row["platform_label"] = _label(Platform, group["group_platform"])
        row["overdue"] = group["overdue"]
        row["oldest_due_at"] = _moment(group["oldest_due_at"])
        rows.append(row)
    rows = _grouped(
        rows,
        [("kind", _choice_order(DeadlineKind)), ("assignee", {}), ("platform", _choice_order(Platform))],
    )
    return columns, rows, {"overdue": sum(row["overdue"] for row in rows)}


# --- Workload ------------------------------------------------------------------------------------

WORKLOAD_COLUMNS = [
    "user_id",
    "username",
    "display_name",
    "role",
    "team",
    "is_away",
    "platform_skills",
    "open_cases",
    "open_orders",
    "deadlines_this_week",
    "overdue",
    "work",
]
WORKLOAD_SUMS = ("open_cases", "open_orders", "deadlines_this_week", "overdue", "work")


def _workload(filters: ReportFilters, now: dt.datetime) -> tuple[list[str], list[dict[str, Any]], dict[str, Any]]:
    """Per staff member, the open work the assignment rule weighs (casework.assignment.workload_rows)."""
    rows = [{column: row.get(column) for column in WORKLOAD_COLUMNS} for row in workload_rows(now=now)]
    totals = {name: sum(int(row[name] or 0) for row in rows) for name in WORKLOAD_SUMS}
    totals["staff"] = len(rows)
    return list(WORKLOAD_COLUMNS), rows, totals


# --- Fees ----------------------------------------------------------------------------------------

FEE_COUNTS = ("quotes", "current_quotes", "accepted_quotes", "due_computed", "due_pending")
FEE_MONEY = ("quoted_total", "accepted_total", "amount_due")


def _fees(filters: ReportFilters, now: dt.datetime) -> tuple[list[str], list[dict[str, Any]], dict[str, Any]]:
    """Fees quoted and due, by fee model, currency and quote status (and month of the client's decision).

    quoted_total sums the current quotes (waiting for the client or accepted); amount_due
    is what billing.fees computed after the outcome; due_pending counts accepted quotes
    whose case has no outcome yet (a fee still to be computed).
    """
    grouping = filters.group_by if filters.group_by is not None else ("fee_model", "currency", "status")
    expressions: dict[str, Any] = {}
    if "fee_model" in grouping:
        expressions["group_fee_model"] = F("fee_model")
    if "currency" in grouping:
        expressions["group_currency"] = F("currency")
    if "status" in grouping:
        expressions["group_status"] = F("status")
    if "month" in grouping:
        expressions["month"] = TruncMonth("decided_at", tzinfo=business_zone())
    accepted = Q(status=QuoteStatus.ACCEPTED)
    found = _groups(
        FeeQuote.objects.filter(case_q(filters, prefix="case__")),
        expressions,
        {
            "quotes": Count("id"),
            "current_quotes": Count("id", filter=Q(status__in=CURRENT_STATUSES)),
            "sum_quoted_total": Sum("quoted_total", filter=Q(status__in=CURRENT_STATUSES)),
            "accepted_quotes": Count("id", filter=accepted),
            "sum_accepted_total": Sum("quoted_total", filter=accepted),
            "sum_amount_due": Sum("amount_due", filter=accepted),
            "due_computed": Count("id", filter=accepted & Q(amount_due__isnull=False)),
            "due_pending": Count("id", filter=accepted & Q(case__outcome="")),
        },
    )
    columns: list[str] = []
    if "fee_model" in grouping:
        columns += ["fee_model", "fee_model_label"]
    if "currency" in grouping:
        columns.append("currency")
    if "status" in grouping:
        columns += ["status", "status_label"]
    if "month" in grouping:
        columns.append("month")
    columns += [
        "quotes",
        "current_quotes",
        "quoted_total",
        "accepted_quotes",
        "accepted_total",
        "amount_due",
        "due_computed",
        "due_pending",
    ]
    rows = []
    for group in found:
        row: dict[str, Any] = {}
        if "fee_model" in grouping:
            row["fee_model"] = group["group_fee_model"]
            row["fee_model_label"] = _label(FeeModel, group["group_fee_model"])
        if "currency" in grouping:
            row["currency"] = group["group_currency"]
        if "status" in grouping:
            row["status"] = group["group_status"]
            row["status_label"] = _label(QuoteStatus, group["group_status"])
        if "month" in grouping:
            row["month"] = _month(group["month"])
        row.update({name: int(group[name] or 0) for name in FEE_COUNTS})
        row.update({name: _money(group[f"sum_{name}"]) for name in FEE_MONEY})
        rows.append({column: row[column] for column in columns})
    rows = _grouped(
        rows,
        [
            ("fee_model", _choice_order(FeeModel)),
            ("currency", {}),
            ("status", _choice_order(QuoteStatus)),
            ("month", {}),
        ],
    )
    totals: dict[str, Any] = {name: sum(row[name] for row in rows) for name in FEE_COUNTS}
    # Money is summed per currency only: yuan and dollars do not add up.
    if "currency" in grouping:
        by_currency: dict[str, dict[str, Decimal]] = {}
        for row in rows:
            sums = by_currency.setdefault(row["currency"], {name: Decimal(0) for name in FEE_MONEY})
            for name in FEE_MONEY:
                sums[name] += Decimal(row[name])
        totals["by_currency"] = {
            currency: {name: _money(value) for name, value in sums.items()}
            for currency, sums in sorted(by_currency.items())
        }
    return columns, rows, totals


# --- The registry and the one entry point --------------------------------------------------------

REPORTS: dict[str, ReportSpec] = {
    "cases-by-state": ReportSpec(build=_cases_by_state, groupings=("platform",)),
    "success-rates": ReportSpec(
        build=_success_rates,
        groupings=("platform", "violation_type", "month"),
        default_grouping=("platform", "violation_type", "month"),
    ),
    "time-in-state": ReportSpec(build=_time_in_state),
    "overdue": ReportSpec(
        build=_overdue, groupings=("kind", "assignee", "platform"), default_grouping=("kind", "assignee", "platform")
    ),
    "workload": ReportSpec(build=_workload, case_filters=False),
    "fees": ReportSpec(
        build=_fees,
        groupings=("fee_model", "currency", "status", "month"),
        default_grouping=("fee_model", "currency", "status"),
    ),
}


def _echo(filters: ReportFilters, spec: ReportSpec) -> dict[str, Any]:
    echoed: dict[str, Any] = {}
    if spec.case_filters:
        echoed.update(
            created_from=filters.created_from.isoformat() if filters.created_from else None,
            created_to=filters.created_to.isoformat() if filters.created_to else None,
            platform=filters.platform or None,
            violation_type=filters.violation_type or None,
        )
    if spec.groupings:
        grouping = filters.group_by if filters.group_by is not None else spec.default_grouping
        echoed["group_by"] = [name for name in spec.groupings if name in grouping]
    return echoed


def report_run(*, user: User, name: str, filters: ReportFilters, now: dt.datetime | None = None) -> Report:
    """Build one report for a supervisor or administrator (403 for anyone else)."""
    if not user.sees_all_cases:
        raise NotAllowed(_("Only supervisors and administrators may read reports."))
    spec = REPORTS[name]
    now = now or timezone.now()
    columns, rows, totals = spec.build(filters, now)
    return Report(name=name, generated_at=now, filters=_echo(filters, spec), columns=columns, rows=rows, totals=totals)
