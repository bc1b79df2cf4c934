"""Benchmark orchestrator: `python -m bench.run` prints `BENCH <name> <value> <unit>` lines.

For each database (SQLite always, then PostgreSQL as well when DATABASE_URL is set):

1. bench.inprocess, in a child process, migrates a dedicated empty bench database, seeds
   about 1,000 cases and measures the staff case list in-process (queries and time);
2. gunicorn with 2 sync workers serves that database on 127.0.0.1, and bench.load measures
   requests per second of the portal case detail and of the trivial ping endpoint.
3. bench.dossier adds a 200-order case with 800 files of 1 MB and times its dossier from a
   single-worker gunicorn, with that worker's peak memory growth.
4. bench.bulk_evidence adds a 200-order case and times the preview and the commit of an
   archive of 800 files of 100 KB, with the peak memory growth of the process doing it.
5. bench.sweep adds 1,000 and then 100,000 open deadlines and times one deadline sweep
   with 100 of them due.
6. bench.webhooks adds 1,000 outbox events over 100 cases and times one process running
   the webhook dispatcher (what one worker does) until all are delivered to a local receiver.
7. bench.evidence_checks uploads the labelled evidence set (tests/evidence/labelled.py)
   and checks each file as one worker process does: the accuracy of the findings against
   the labels and the OCR throughput. It runs after the sweep and the webhooks, whose
   counts its case's deadlines and events would otherwise change.
8. bench.reports adds 100,000 cases with 2,000,000 flagged orders (and their state spans,
   outcomes, deadlines and fee quotes) and times each report endpoint in-process, with its
   query count. It runs last: the other steps measure smaller databases.

The developer's own database is never touched: SQLite uses a file in a temporary folder;
PostgreSQL uses a separate database named ``<name>_bench`` on the same server, created
here before the pass and dropped after it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bench.bulk_evidence import measure_bulk_evidence
from bench.dossier import measure_dossier
from bench.evidence_checks import measure_evidence_checks
from bench.load import run_load
from bench.reports import measure_reports
from bench.server import gunicorn, log_tail
from bench.sweep import measure_sweep
from bench.webhooks import measure_webhooks

ROOT = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT = 240
GUNICORN_WORKERS = 2
LOAD_CLIENTS = 4
WARMUP_SECONDS = 1.0
LOAD_SECONDS = 5.0
PING_PATH = "/api/v1/ping/"
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "postgis"}
# Settings the developer's shell may carry that must not reach the bench processes: the
# database, the var folder and any external cache or broker belong to the bench alone.
NOT_INHERITED = ("DATABASE_URL", "SQLITE_PATH", "AGENCY_VAR_DIR", "STATIC_ROOT", "REDIS_URL", "CELERY_BROKER_URL")


class BenchFailure(Exception):
    """The bench cannot produce trustworthy figures."""


def emit(name: str, value: str, unit: str) -> None:
    print(f"BENCH {name} {value} {unit}", flush=True)


def note(text: str) -> None:
    print(f"# {text}", flush=True)


def bench_env(work: Path, **database: str) -> dict[str, str]:
    """The environment of every bench process: production-like settings, plain HTTP, own data."""
    env = {name: value for name, value in os.environ.items() if name not in NOT_INHERITED}
    env.update(
        DJANGO_SETTINGS_MODULE="agency.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        AGENCY_VAR_DIR=str(work / "var"),
        LOG_LEVEL="WARNING",
        # The load test sends thousands of requests a second for one user: the limiter runs
        # (its cost is measured) with limits no load test reaches.
        USER_RATE_LIMIT="100000000/min",
        API_KEY_RATE_LIMIT="100000000/min",
        **database,
    )
    return env


@contextmanager
def postgres_bench_database(url: str) -> Iterator[str]:
    """Create ``<name>_bench`` next to the database in ``url``, yield its URL, drop it afterwards."""
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise BenchFailure("DATABASE_URL names no database")
    bench_name = f"{name}_bench"
    # libpq knows only the postgresql:// spelling; the maintenance database is `postgres`.
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(bench_name))

    def admin(statement: sql.Composed) -> None:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(statement)

    admin(drop)  # left over from an interrupted run
    admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(bench_name)))
    try:
        yield urlunsplit(parts._replace(path="/" + quote(bench_name)))
    finally:
        admin(drop)


def load_endpoint(name: str, port: int, path: str, headers: dict[str, str], log_path: Path) -> float:
    """Warm up, then measure; the rate counts 200 answers only, and most must be 200."""
    run_load(port, path, headers, clients=LOAD_CLIENTS, seconds=WARMUP_SECONDS)
    result = run_load(port, path, headers, clients=LOAD_CLIENTS, seconds=LOAD_SECONDS)
    note(f"{name}: {result.summary()}")
    if result.ok == 0 or result.ok * 2 < result.attempts:
        raise BenchFailure(
            f"{name}: most requests to {path} did not answer 200 ({result.summary()})\n"
            f"gunicorn log:\n{log_tail(log_path)}"
        )
    return result.rps


def measure(label: str, env: dict[str, str], work: Path) -> None:
    """One block of figures for one database."""
    note(f"database: {label}")
    results_path = work / "inprocess.json"
    command = [sys.executable, "-m", "bench.inprocess", str(results_path)]
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=CHILD_TIMEOUT)
    results = json.loads(results_path.read_text())
    if results["vendor"] != label:
        raise BenchFailure(f"the {label} pass ran on {results['vendor']}")
    for text in results["notes"]:
        note(text)
    for name, value, unit in results["figures"]:
        emit(name, value, unit)

    log_path = work / "gunicorn.log"
    portal_headers = {"Authorization": f"Token {results['client_token']}", "Accept": "application/json"}
    with gunicorn(env, log_path, workers=GUNICORN_WORKERS, ready_path=PING_PATH) as port:
        note(
            f"load: {LOAD_CLIENTS} client processes, {LOAD_SECONDS:g} s per endpoint after a "
            f"{WARMUP_SECONDS:g} s warm-up; gunicorn -w {GUNICORN_WORKERS} (sync) on 127.0.0.1:{port}; "
            f"{os.cpu_count()} CPUs shared by server and clients"
        )
        portal = load_endpoint("portal_detail", port, results["portal_path"], portal_headers, log_path)
        emit("portal_detail_rps", f"{portal:.1f}", "req/s")
        trivial = load_endpoint("trivial", port, PING_PATH, {"Accept": "application/json"}, log_path)
        emit("trivial_rps", f"{trivial:.1f}", "req/s")
    emit("portal_detail_vs_trivial", f"{portal / trivial:.2f}", "ratio")

    dossier = measure_dossier(env, work)
    for text in dossier.notes:
        note(text)
    for name, value, unit in dossier.figures:
        emit(name, value, unit)

    bulk = measure_bulk_evidence(env, work)
    for text in bulk.notes:
        note(text)
    for name, value, unit in bulk.figures:
        emit(name, value, unit)

    sweep = measure_sweep(env, work)
    for text in sweep.notes:
        note(text)
    for name, value, unit in sweep.figures:
        emit(name, value, unit)

    webhooks = measure_webhooks(env, work)
    for text in webhooks.notes:
        note(text)
    for name, value, unit in webhooks.figures:
        emit(name, value, unit)

    # After the sweep and the webhooks, whose counts its case's deadlines and events would change.
    evidence_checks = measure_evidence_checks(env, work)
    for text in evidence_checks.notes:
        note(text)
    for name, value, unit in evidence_checks.figures:
        emit(name, value, unit)

    reports = measure_reports(env, work)
    for text in reports.notes:
        note(text)
    for name, value, unit in reports.figures:
        emit(name, value, unit)


def main() -> int:
    database_url = os.environ.get("DATABASE_URL", "")
    try:
        with tempfile.TemporaryDirectory(prefix="agency-bench-") as tmp:
            work = Path(tmp)
            measure("sqlite", bench_env(work, SQLITE_PATH=str(work / "bench.sqlite3")), work)
        if not database_url:
            return 0
        if urlsplit(database_url).scheme not in POSTGRES_SCHEMES:
            note("DATABASE_URL is not PostgreSQL; only SQLite and PostgreSQL are benchmarked")
            return 0
        with tempfile.TemporaryDirectory(prefix="agency-bench-") as tmp, postgres_bench_database(database_url) as url:
            measure("postgresql", bench_env(Path(tmp), DATABASE_URL=url), Path(tmp))
    except (BenchFailure, RuntimeError, subprocess.SubprocessError, psycopg.Error) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
