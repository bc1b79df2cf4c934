"""Reports benchmark: each report endpoint over 100,000 cases with 2,000,000 flagged orders, timed in-process.

``measure_reports`` is called by bench.run for each database, after the other steps. It
runs this module as a child process (``python -m bench.reports child <out.json>``) with the
bench environment, which:

1. adds STAFF staff users (case managers with platform skills, some away; supervisors;
   reviewers) and one shop per platform;
2. adds CASES cases with set-based SQL (one INSERT ... SELECT over a recursive sequence per
   table, the same statement on PostgreSQL and SQLite, only date arithmetic differs):
   ORDERS_PER_CASE flagged orders each; their state spans along the path to their state
   (about 4 per case, the current one open); an outcome with orders cleared and upheld on
   half of them; two deadlines each (some overdue, some missed); one fee quote per case past
   intake (proposed, accepted with the amount due after an outcome, rejected, withdrawn);
3. ANALYZEs, then for each report GETs /api/v1/reports/<name>/ through the Django test
   client as a supervisor with a token (the real views, middleware and authentication;
   DEBUG off): once to warm up, once under CaptureQueriesContext for the query count, then
   RUNS timed requests; the figure is their median;
4. on PostgreSQL, EXPLAIN (ANALYZE, BUFFERS) of the slowest query of the slowest report,
   written as notes.

Figures: ``report_<name>_ms`` and ``report_<name>_queries`` per report (the name with
underscores; the query count includes the token lookup), and ``reports_max_ms``.

Alone, without the rest of the bench (fresh databases, migrated here, dropped after)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/agency_dev .venv/bin/python -m bench.reports
    .venv/bin/python -m bench.reports --only sqlite --cases 20000
"""

# The set-based inserts are SQL text built from this module's constants and the ids it just
# created, never from input: S608 does not apply.
# ruff: noqa: S608
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASES = int(os.environ.get("REPORTS_BENCH_CASES", "100000"))
ORDERS_PER_CASE = 20
STAFF = 50
MANAGERS = 45
SUPERVISORS = 3
RUNS = 5
CHILD_TIMEOUT = 1200
REPORT_NAMES = ("cases-by-state", "success-rates", "time-in-state", "overdue", "workload", "fees")
GOAL_MS = 1000.0

DAY = 86_400
STEP = 4 * DAY  # a state lasts from 1 to 7 days: STEP plus the next jitter minus this one
JITTER = 3 * DAY
HISTORY_DAYS = 600  # the origin of every generated time is this long ago
CREATED_SPREAD = 480 * DAY

# The path a case took to its state; the last step is the state it is in (its open span).
MAIN_PATH = ["intake", "assessment", "evidence", "submitted", "resolved", "reputation_recovery"]
PATHS = {
    **{state: MAIN_PATH[: index + 1] for index, state in enumerate(MAIN_PATH)},
    "closed": [*MAIN_PATH[:5], "closed"],
    "declined": ["intake", "assessment", "declined"],
    "withdrawn": ["intake", "assessment", "evidence", "withdrawn"],
}
# (bucket upper bound of (n * 37) % 100, state): half the cases end with an outcome.
STATE_BUCKETS = [
    (8, "intake"),
    (16, "assessment"),
    (28, "evidence"),
    (40, "submitted"),
    (60, "resolved"),
    (70, "reputation_recovery"),
    (90, "closed"),
    (95, "declined"),
    (100, "withdrawn"),
]
WITH_OUTCOME = ("resolved", "reputation_recovery", "closed")
TERMINAL = ("closed", "declined", "withdrawn")


@dataclass
class ReportsBenchResult:
    notes: list[str] = field(default_factory=list)
    figures: list[tuple[str, str, str]] = field(default_factory=list)


# --- SQL pieces (the same statements on both databases) ------------------------------------------


class Sql:
    """The few expressions that differ between PostgreSQL and SQLite."""

    def __init__(self, vendor: str, origin: dt.datetime) -> None:
        self.vendor = vendor
        self.origin = origin.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")

    def plus(self, base: str, seconds: str) -> str:
        """``base`` (a timestamp expression) plus ``seconds`` (an integer expression)."""
        if self.vendor == "postgresql":
            return f"({base} + ({seconds}) * INTERVAL '1 second')"
        return f"datetime({base}, ({seconds}) || ' seconds')"

    def at(self, seconds: str) -> str:
        """The origin plus ``seconds``."""
        if self.vendor == "postgresql":
            return self.plus(f"TIMESTAMPTZ '{self.origin}+00'", seconds)
        return self.plus(f"'{self.origin}'", seconds)


def _sequence(name: str, count: int) -> str:
    return f"{name}(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM {name} WHERE n < {count})"


def _case_when(expression: str, mapping: list[tuple[int, Any]], default: str = "NULL") -> str:
    branches = " ".join(f"WHEN {key} THEN {_literal(value)}" for key, value in mapping)
    return f"CASE {expression} {branches} ELSE {default} END"


def _literal(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def _jitter(n: str, step: str) -> str:
    return f"(CASE WHEN {step} = 0 THEN 0 ELSE (({n}) * (7 + ({step}) * 13)) % {JITTER} END)"


def _state_of(n: str) -> str:
    bucket = f"(({n}) * 37) % 100"
    branches = " ".join(f"WHEN {bucket} < {upper} THEN '{state}'" for upper, state in STATE_BUCKETS)
    return f"CASE {branches} END"


def _last_step(state: str) -> str:
    branches = " ".join(f"WHEN '{name}' THEN {len(path) - 1}" for name, path in PATHS.items())
    return f"CASE {state} {branches} END"


# --- The child: data and timings in the bench database -------------------------------------------


def _add_staff() -> tuple[list[int], str]:
    """STAFF staff users; (the case managers' ids, a supervisor's token)."""
    from rest_framework.authtoken.models import Token

    from agency.accounts.models import Role, Team, User
    from agency.organisations.models import Platform

    team = Team.objects.create(name="Reports bench team")
    platforms = list(Platform.values)
    users = []
    for number in range(STAFF):
        if number < MANAGERS:
            role, skills = Role.CASE_MANAGER, [platforms[number % len(platforms)], platforms[(number + 3) % 8]]
        elif number < MANAGERS + SUPERVISORS:
            role, skills = Role.SUPERVISOR, []
        else:
            role, skills = Role.EVIDENCE_REVIEWER, []
        users.append(
            User(
                username=f"reports_bench_{role}_{number}",
                display_name=f"Bench {role} {number}",
                role=role,
                team=team,
                platform_skills=skills,
                is_away=number % 9 == 0,
                password="!",  # noqa: S106 - an unusable password: the bench signs in with a token
            )
        )
    User.objects.bulk_create(users)
    managers = list(
        User.objects.filter(username__startswith="reports_bench_", role=Role.CASE_MANAGER)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    supervisor = User.objects.filter(username__startswith="reports_bench_", role=Role.SUPERVISOR).first()
    assert supervisor is not None
    return managers, Token.objects.create(user=supervisor).key


def _add_shops() -> list[tuple[int, int]]:
    """One shop per platform, over two organisations: [(organisation id, shop id)]."""
    from agency.organisations.models import Organisation, Platform, Shop

    organisations = [
        Organisation.objects.create(name=f"Reports bench merchant {number}", contact_email=f"rb{number}@example.com")
        for number in (1, 2)
    ]
    shops = []
    for index, platform in enumerate(Platform.values):
        organisation = organisations[index % 2]
        shop = Shop.objects.create(
            organisation=organisation, platform=platform, platform_shop_id=f"reports-bench-{platform}", name=platform
        )
        shops.append((organisation.pk, shop.pk))
    return shops


def _populate(count: int, sql: Sql, managers: list[int], shops: list[tuple[int, int]]) -> dict[str, float]:
    """Insert the cases and their rows set-based; seconds per table."""
    from django.db import connection, transaction

    from cases.models import ViolationType

    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM cases_case")
        base = int(cursor.fetchone()[0]) + 1000
    n = "g.n"
    state = _state_of(n)
    created_offset = f"(({n}) * 7919) % {CREATED_SPREAD}"
    last = _last_step(state)
    outcome_kind = f"(({n}) * 13) % 10"
    has_outcome = f"({state}) IN ({', '.join(repr(s) for s in WITH_OUTCOME)})"
    cleared = (
        f"(CASE WHEN {outcome_kind} < 5 THEN {ORDERS_PER_CASE} WHEN {outcome_kind} < 8 THEN 1 + ({n}) % 19 ELSE 0 END)"
    )
    outcome = (
        f"CASE WHEN {has_outcome} THEN (CASE WHEN {outcome_kind} < 5 THEN 'accepted' "
        f"WHEN {outcome_kind} < 8 THEN 'partially_accepted' ELSE 'rejected' END) ELSE '' END"
    )
    shop_pick = f"({n}) % {len(shops)}"
    manager_pick = _case_when(f"({n}) % {len(managers)}", list(enumerate(managers)))
    violation_types = list(enumerate(ViolationType.values))
    timings: dict[str, float] = {}

    def run(label: str, statement: str) -> None:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(statement)
        timings[label] = time.perf_counter() - started

    cases_sql = f"""
        WITH RECURSIVE {_sequence("g", count)}
        INSERT INTO cases_case (
            id, reference, external_reference, organisation_id, shop_id, violation_type, severity,
            notice_received_at, notice_period_start, notice_period_end, penalty_points, restrictions,
            restrictions_note, appeal_deadline, assignee_id, rule_profile_id, appeal_attempts_used,
            flagged_order_count, open_order_count, event_sequence, appeal_attempt_limit, outcome, outcome_at,
            orders_cleared,
            orders_upheld, points_restored, state, state_changed_at, closing_reason, created_by_id, created_at,
            updated_at
        )
        SELECT {base} + {n}, 'RB-' || {n}, '',
            {_case_when(shop_pick, [(i, org) for i, (org, _shop) in enumerate(shops)])},
            {_case_when(shop_pick, [(i, shop) for i, (_org, shop) in enumerate(shops)])},
            {_case_when(f"(({n}) / 8) % {len(violation_types)}", violation_types)},
            'general', {sql.at(f"{created_offset} - {DAY}")}, NULL, NULL, 6, '[]', '', NULL,
            CASE WHEN ({state}) = 'intake' AND ({n}) % 2 = 0 THEN NULL ELSE {manager_pick} END,
            NULL, CASE WHEN ({last}) >= 3 AND ({state}) <> 'withdrawn' THEN 1 ELSE 0 END,
            {ORDERS_PER_CASE}, {ORDERS_PER_CASE} - (CASE WHEN {has_outcome} THEN {cleared} ELSE 0 END), 0, 2,
            {outcome},
            CASE WHEN {has_outcome} THEN {sql.at(f"{created_offset} + 4 * {STEP} + {_jitter(n, '4')}")} END,
            CASE WHEN {has_outcome} THEN {cleared} ELSE 0 END,
            CASE WHEN {has_outcome} THEN {ORDERS_PER_CASE} - {cleared} ELSE 0 END,
            0, {state},
            {sql.at(f"{created_offset} + ({last}) * {STEP} + {_jitter(n, f'({last})')}")},
            '', NULL, {sql.at(created_offset)}, {sql.at(created_offset)}
        FROM g
    """
    own_cases = f"c.id > {base} AND c.id <= {base + count}"
    orders_sql = f"""
        WITH RECURSIVE {_sequence("k", ORDERS_PER_CASE)}
        INSERT INTO cases_flaggedorder (
            case_id, platform_order_id, order_time, amount, currency, buyer_handle, goods_type, courier,
            tracking_number, created_at, excluded_at, excluded_by_id, exclusion_reason, outcome, points_restored
        )
        SELECT c.id, 'RB' || c.id || '-' || k.n, c.created_at, 9.9 + (k.n * 37) % 500, 'CNY', '', 'physical',
            '', '', c.created_at, NULL, NULL, '',
            CASE WHEN c.outcome = '' THEN '' WHEN k.n <= c.orders_cleared THEN 'cleared' ELSE 'upheld' END, 0
        FROM cases_case c CROSS JOIN k
        WHERE {own_cases}
    """
    steps = ", ".join(
        f"('{final}', {step}, '{span_state}', {1 if step == len(path) - 1 else 0})"
        for final, path in PATHS.items()
        for step, span_state in enumerate(path)
    )
    cn = f"(c.id - {base})"
    spans_sql = f"""
        WITH steps(final_state, step, span_state, is_last) AS (VALUES {steps})
        INSERT INTO cases_casestatespan (case_id, state, entered_at, left_at, seconds)
        SELECT c.id, s.span_state,
            {sql.plus("c.created_at", f"s.step * {STEP} + {_jitter(cn, 's.step')}")},
            CASE WHEN s.is_last = 1 THEN NULL
                 ELSE {sql.plus("c.created_at", f"(s.step + 1) * {STEP} + {_jitter(cn, 's.step + 1')}")} END,
            CASE WHEN s.is_last = 1 THEN NULL ELSE {STEP} + {_jitter(cn, "s.step + 1")} - {_jitter(cn, "s.step")} END
        FROM cases_case c JOIN steps s ON s.final_state = c.state
        WHERE {own_cases}
    """
    now_offset = HISTORY_DAYS * DAY
    open_case = f"c.state NOT IN ({', '.join(repr(s) for s in TERMINAL)})"
    due_offset = (
        f"CASE WHEN k.n = 1 THEN {now_offset} + ({cn} * 31) % (30 * {DAY}) - 2 * {DAY} "
        f"ELSE {now_offset} + ({cn} * 17) % (20 * {DAY}) - {DAY} END"
    )
    missed = f"({open_case} AND k.n = 1 AND {cn} % 10 = 0)"
    deadlines_sql = f"""
        WITH RECURSIVE {_sequence("k", 2)}
        INSERT INTO workflows_deadline (
            case_id, kind, title, note, status, client_facing, pausable, starts_at, budget_amount, budget_unit,
            basis, due_at, paused_at, used_seconds, stage, evidence_request_id, reminder_offsets_minutes,
            next_alert_at, met_at, missed_at, cancelled_at, closing_reason, closing_reason_code, provisional,
            provisional_years, created_by_id, created_at, updated_at
        )
        SELECT c.id,
            CASE WHEN k.n = 1 THEN 'platform_appeal_window' ELSE 'client_evidence_request' END,
            '', '',
            CASE WHEN NOT ({open_case}) THEN 'met' WHEN {missed} THEN 'missed' ELSE 'open' END,
            k.n = 2, FALSE, c.created_at, NULL, '', '{{}}',
            CASE WHEN {open_case} THEN {sql.at(due_offset)} ELSE {sql.plus("c.created_at", str(2 * DAY))} END,
            NULL, 0, '', NULL, '[]', NULL,
            CASE WHEN NOT ({open_case}) THEN {sql.plus("c.created_at", str(DAY))} END,
            CASE WHEN {missed} THEN {sql.at(due_offset)} END,
            NULL, '', '', FALSE, '[]', NULL, c.created_at, c.created_at
        FROM cases_case c CROSS JOIN k
        WHERE {own_cases}
    """
    fee_model = f"{cn} % 3"
    amount = f"(CASE {fee_model} WHEN 0 THEN 5000 + ({cn} % 50) * 100 WHEN 1 THEN 200 + ({cn} % 10) * 10 ELSE 8000 END)"
    quote_status = (
        "CASE c.state WHEN 'assessment' THEN (CASE WHEN c.id % 4 = 0 THEN 'rejected' ELSE 'proposed' END) "
        "WHEN 'declined' THEN 'rejected' WHEN 'withdrawn' THEN 'withdrawn' ELSE 'accepted' END"
    )
    amount_due = (
        f"CASE {fee_model} WHEN 0 THEN {amount} WHEN 1 THEN {amount} * c.orders_cleared "
        f"ELSE (CASE WHEN c.outcome = 'rejected' THEN 0 ELSE {amount} END) END"
    )
    quotes_sql = f"""
        INSERT INTO billing_feequote (
            case_id, version, fee_model, amount, currency, refund_if_failed, quoted_total, client_note, status,
            proposed_by_id, proposed_at, decided_by_id, decided_at, decision_note, amount_due, amount_due_computed_at
        )
        SELECT c.id, 1,
            CASE {fee_model} WHEN 0 THEN 'flat' WHEN 1 THEN 'per_order_cleared' ELSE 'per_case_won' END,
            {amount}, CASE WHEN {cn} % 20 = 0 THEN 'USD' ELSE 'CNY' END, FALSE,
            CASE WHEN {fee_model} = 1 THEN {amount} * {ORDERS_PER_CASE} ELSE {amount} END,
            '', {quote_status}, {managers[0]}, {sql.plus("c.created_at", str(DAY))}, NULL,
            CASE WHEN ({quote_status}) IN ('accepted', 'rejected') THEN {sql.plus("c.created_at", str(2 * DAY))} END,
            '',
            CASE WHEN ({quote_status}) = 'accepted' AND c.outcome <> '' THEN {amount_due} END,
            CASE WHEN ({quote_status}) = 'accepted' AND c.outcome <> '' THEN c.outcome_at END
        FROM cases_case c
        WHERE {own_cases} AND c.state <> 'intake'
    """
    with transaction.atomic():
        run("cases", cases_sql)
        run("flagged orders", orders_sql)
        run("state spans", spans_sql)
        run("deadlines", deadlines_sql)
        run("fee quotes", quotes_sql)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('cases_case', 'id'), (SELECT MAX(id) FROM cases_case))"
            )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    timings["analyze"] = time.perf_counter() - started
    return timings


def _time_report(client: Any, name: str) -> tuple[list[float], int, list[tuple[float, str, Any]]]:
    """(ms per timed run, queries of one request, [(ms, sql, params)] of one request's queries)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = f"/api/v1/reports/{name}/"

    def fetch() -> Any:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
        return response

    fetch()  # warm
    executed: list[tuple[float, str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            executed.append(((time.perf_counter() - started) * 1000, sql, params))

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(record):
        fetch()
    queries = len(captured.captured_queries)
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fetch()
        timings.append((time.perf_counter() - started) * 1000)
    return timings, queries, executed


def _explain(sql: str, params: Any) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return [row[0] for row in cursor.fetchall()]


def child(out: Path, count: int) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from cases.models import Case, CaseStateSpan, FlaggedOrder
    from workflows.models import Deadline

    notes: list[str] = []
    figures: list[tuple[str, str, str]] = []
    started = time.perf_counter()
    managers, token = _add_staff()
    shops = _add_shops()
    origin = timezone.now() - dt.timedelta(days=HISTORY_DAYS)
    timings = _populate(count, Sql(connection.vendor, origin), managers, shops)
    seeded = time.perf_counter() - started
    totals = {
        "cases": Case.objects.count(),
        "flagged orders": FlaggedOrder.objects.count(),
        "closed spans": CaseStateSpan.objects.filter(left_at__isnull=False).count(),
        "cases with an outcome": Case.objects.exclude(outcome="").count(),
        "deadlines": Deadline.objects.count(),
    }
    notes.append(
        f"reports ({connection.vendor}): added {count:,} cases with {count * ORDERS_PER_CASE:,} flagged orders "
        f"in {seeded:.1f} s ({', '.join(f'{label} {seconds:.1f} s' for label, seconds in timings.items())}); "
        f"the database now holds {', '.join(f'{value:,} {label}' for label, value in totals.items())}"
    )
    if count != CASES:
        notes.append(f"reports: scale {count:,} cases (not {CASES:,})")

    client = Client(headers={"Authorization": f"Token {token}", "Accept": "application/json"})
    medians: dict[str, float] = {}
    slowest_queries: dict[str, tuple[float, str, Any]] = {}
    for name in REPORT_NAMES:
        runs, queries, executed = _time_report(client, name)
        median = statistics.median(runs)
        medians[name] = median
        # The report's own queries, without the token lookup of the authentication.
        own = [item for item in executed if "authtoken_token" not in item[1]] or executed
        slowest_queries[name] = max(own, key=lambda item: item[0])
        label = name.replace("-", "_")
        figures.append((f"report_{label}_ms", f"{median:.1f}", "ms"))
        figures.append((f"report_{label}_queries", str(queries), "queries"))
        notes.append(
            f"report {name}: median of {RUNS} runs {median:.1f} ms ({min(runs):.1f}-{max(runs):.1f} ms), "
            f"{queries} queries (with the token lookup); its slowest query {slowest_queries[name][0]:.1f} ms"
        )
    worst = max(medians, key=lambda name: medians[name])
    figures.append(("reports_max_ms", f"{medians[worst]:.1f}", "ms"))
    notes.append(
        f"reports: slowest {worst} at {medians[worst]:.1f} ms; goal under {GOAL_MS:.0f} ms each on PostgreSQL: "
        f"{'met' if medians[worst] < GOAL_MS else 'NOT met'} on {connection.vendor}"
    )
    if connection.vendor == "postgresql":
        _ms, sql, params = slowest_queries[worst]
        notes.append(f"reports: EXPLAIN (ANALYZE, BUFFERS) of the slowest query of {worst}:")
        notes += [f"  {line}" for line in _explain(sql, params)]
    out.write_text(json.dumps({"vendor": connection.vendor, "notes": notes, "figures": figures}))


# --- The parent: run the child, collect its figures ----------------------------------------------


def measure_reports(env: dict[str, str], work: Path, *, cases: int = CASES) -> ReportsBenchResult:
    """Add the report data to the bench database in ``env`` and time every report endpoint."""
    out = work / "reports.json"
    command = [sys.executable, "-m", "bench.reports", "child", str(out), str(cases)]
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=CHILD_TIMEOUT)
    data = json.loads(out.read_text())
    return ReportsBenchResult(notes=data["notes"], figures=[tuple(figure) for figure in data["figures"]])


# --- Alone: fresh databases, migrated here ------------------------------------------------------


@contextmanager
def _postgres_database(url: str) -> Iterator[str]:
    """A database ``<name>_reports_bench`` beside the one in ``url`` (not bench.run's, which may be in use)."""
    from urllib.parse import quote, unquote, urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = f"{unquote(parts.path.lstrip('/'))}_reports_bench"
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(drop)
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(parts._replace(path="/" + quote(name)))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(drop)


def _alone(label: str, env: dict[str, str], work: Path, cases: int) -> None:
    from bench.run import emit, note

    note(f"database: {label} (reports only)")
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=600
    )
    note(f"migrated in {time.perf_counter() - started:.1f} s")
    result = measure_reports(env, work, cases=cases)
    for text in result.notes:
        note(text)
    for name, value, unit in result.figures:
        emit(name, value, unit)


def main() -> int:
    from bench.run import POSTGRES_SCHEMES, bench_env

    parser = argparse.ArgumentParser(description="The reports benchmark alone, on fresh databases.")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--cases", type=int, default=CASES)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    from urllib.parse import urlsplit

    if args.only != "postgresql":
        with tempfile.TemporaryDirectory(prefix="agency-bench-reports-") as tmp:
            work = Path(tmp)
            _alone("sqlite", bench_env(work, SQLITE_PATH=str(work / "bench.sqlite3")), work, args.cases)
    if args.only != "sqlite":
        if urlsplit(database_url).scheme not in POSTGRES_SCHEMES:
            print("# no PostgreSQL DATABASE_URL: PostgreSQL not measured", flush=True)
            return 0 if args.only is None else 1
        with (
            tempfile.TemporaryDirectory(prefix="agency-bench-reports-") as tmp,
            _postgres_database(database_url) as url,
        ):
            _alone("postgresql", bench_env(Path(tmp), DATABASE_URL=url), Path(tmp), args.cases)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else CASES)
    else:
        sys.exit(main())
