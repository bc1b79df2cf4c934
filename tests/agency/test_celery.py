"""The Celery application (``agency.celery``) in a real worker process: it takes real messages off the
broker, the heartbeat and the deadline sweep with the notification e-mails it queues, uses the configured
broker and stays inside its var directory."""

from __future__ import annotations

import ast
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 60
# Variables that would point the processes at the developer's own database, broker or settings.
CLEARED = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "DEBUG",
    "SECRET_KEY",
    "SQLITE_PATH",
    "AGENCY_VAR_DIR",
    "STATIC_ROOT",
    "DJANGO_SETTINGS_MODULE",
    "CELERY_TASK_ALWAYS_EAGER",
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "DEADLINE_REMINDER_OFFSETS_HOURS",
)
# The demo data, seeded as if 30 seconds ago: the evidence request's 4-hour reminder is then
# due, as it is at the first beat tick of `dev.py up`, and the Star Crafts appeal window is
# missed. (seed_demo makes the reminder due 20 seconds after seeding.)
SEED_SCRIPT = """
import datetime as dt
import time_machine
from django.utils import timezone
from agency.celery import app
from casework.demo import seed_demo

# Seeding notifies people too (assignments, a fee quote, a message). Those e-mails are sent
# right here, so that the broker carries only what this test is about: the sweep's.
app.conf.task_always_eager = True

with time_machine.travel(timezone.now() - dt.timedelta(seconds=30), tick=False):
    print("\\n".join(seed_demo()))
"""
# The worker, as `celery -A agency worker`, but with the throwaway queue as the default
# queue too, so that the e-mail tasks the sweep queues come back to this worker and never
# land on a shared broker's default queue.
WORKER_SCRIPT = """
import sys
from agency.celery import app

queue = sys.argv[1]
app.conf.task_default_queue = queue
app.worker_main(["worker", "--pool", "solo", "--loglevel", "info", "-Q", queue, "-n", f"{queue}@%h"])
"""
SEND_SCRIPT = """
import sys
from agency.celery import app

for name in sys.argv[2:]:
    app.send_task(name, queue=sys.argv[1])
"""
SWEEP_DONE = re.compile(r"Task workflows\.sweep_deadlines\[[^\]]+\] succeeded in [^:]+: (\{[^}]*\})")
# (recipient, deadline kind, notification kind) the demo's first sweep must notify.
DEMO_NOTIFICATIONS = {
    ("manager1", "client_evidence_request", "deadline_reminder"),
    ("client_blossom", "client_evidence_request", "deadline_reminder"),
    ("manager1", "platform_appeal_window", "deadline_missed"),
    ("supervisor", "platform_appeal_window", "deadline_escalation"),
}
NOTIFICATIONS_SQL = """
    SELECT u.username, d.kind, n.kind, n.email_status, u.email
    FROM workflows_notification n
    JOIN accounts_user u ON u.id = n.recipient_id
    JOIN workflows_deadline d ON d.id = n.deadline_id
"""
ALERTS_SQL = """
    SELECT d.kind, a.kind FROM workflows_deadlinealert a JOIN workflows_deadline d ON d.id = a.deadline_id
"""


@dataclass
class WorkerRun:
    broker: str
    queue: str
    heartbeats: list[tuple[str, str]]
    seconds_waited: float
    # (deadline kind, alert kind) after the first sweep and after the second one.
    alerts: list[tuple[str, str]]
    alerts_after_retry: list[tuple[str, str]]
    # (recipient, deadline kind, notification kind, e-mail status, address)
    notifications: list[tuple[str, str, str, str, str]]
    notifications_after_retry: list[tuple[str, str, str, str, str]]
    # What each sweep task returned, as its log line shows it.
    sweep_results: list[dict[str, Any]]
    worker_log: str
    worker_exit_code: int | None
    cwd: Path
    var_dir: Path


def worker_env(tmp: Path) -> dict[str, str]:
    redis_url = os.environ.get("REDIS_URL", "")
    env = dict(os.environ)
    for name in CLEARED:
        env.pop(name, None)
    env.update(
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="agency.settings",
        AGENCY_VAR_DIR=str(tmp / "var"),
        SQLITE_PATH=str(tmp / "w.sqlite3"),
        # The processes run in an empty folder of their own; the project comes from the path.
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        PYTHONUNBUFFERED="1",
        # The sweep's result is read from its "succeeded" line, which routine work logs at DEBUG.
        LOG_LEVEL="DEBUG",
    )
    if redis_url:
        env.update(REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url)
    return env


def read_rows(database: Path, query: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(database, timeout=5)
    try:
        rows = connection.execute(query).fetchall()
    except sqlite3.OperationalError:  # locked for a moment by the worker's write
        return []
    finally:
        connection.close()
    return [tuple(str(value) for value in row) for row in rows]


def read_heartbeats(database: Path) -> list[tuple[str, str]]:
    return [
        (name, hostname)
        for name, hostname in read_rows(database, "SELECT name, hostname FROM workflows_workerheartbeat")
    ]


def run_python(args: list[str], *, cwd: Path, env: dict[str, str], timeout: int = 180) -> str:
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def wait_for(done: Callable[[], bool], worker: subprocess.Popen[bytes]) -> bool:
    """Poll a real subprocess's effects until ``done`` or the deadline; False if it never was."""
    started = time.monotonic()
    while time.monotonic() - started < DEADLINE_SECONDS:
        if done():
            return True
        if worker.poll() is not None:
            return False
        time.sleep(0.25)  # polling a real subprocess, with the deadline above
    return done()


def stop(process: subprocess.Popen[bytes]) -> int | None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # warm shutdown
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


def forget_redis_queue(broker: str, queue: str) -> None:
    """Remove what the throwaway queue left in Redis: its binding tables (the list is empty by now)."""
    import redis

    client = redis.Redis.from_url(broker)
    try:
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    finally:
        client.close()


@pytest.fixture(scope="module")
def worker_run(tmp_path_factory: pytest.TempPathFactory) -> WorkerRun:
    """Migrate and seed a throwaway database, start a worker, send it the heartbeat and the sweep
    (then the sweep again), wait for their rows and e-mails, stop the worker."""
    tmp = tmp_path_factory.mktemp("worker")
    cwd = tmp / "cwd"
    cwd.mkdir()
    env = worker_env(tmp)
    broker = env.get("CELERY_BROKER_URL", "filesystem://")
    queue = f"test-worker-{uuid.uuid4().hex}"
    database = tmp / "w.sqlite3"

    run_python([str(ROOT / "manage.py"), "migrate", "--noinput"], cwd=cwd, env=env)
    assert read_heartbeats(database) == []
    seeded = run_python([str(ROOT / "manage.py"), "shell", "-c", SEED_SCRIPT], cwd=cwd, env=env)
    assert "reminder due now" in seeded, seeded
    assert read_rows(database, NOTIFICATIONS_SQL) == []

    log_path = tmp / "worker.log"

    def sweeps_done() -> list[str]:
        return SWEEP_DONE.findall(log_path.read_text(errors="replace"))

    def all_sent() -> bool:
        rows = read_rows(database, NOTIFICATIONS_SQL)
        return len(rows) >= len(DEMO_NOTIFICATIONS) and all(row[3] == "sent" for row in rows)

    with log_path.open("wb") as log:
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "-c", WORKER_SCRIPT, queue], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        run_python(
            ["-c", SEND_SCRIPT, queue, "workflows.record_heartbeat", "workflows.sweep_deadlines"],
            cwd=cwd,
            env=env,
            timeout=60,
        )
        started = time.monotonic()
        wait_for(lambda: bool(read_heartbeats(database)), worker)
        heartbeats = read_heartbeats(database)
        waited = time.monotonic() - started
        # The sweep, then the e-mails it queued on commit, each a message of its own.
        wait_for(lambda: len(sweeps_done()) >= 1 and all_sent(), worker)
        alerts = read_rows(database, ALERTS_SQL)
        notifications = read_rows(database, NOTIFICATIONS_SQL)

        # A second run (a retry, or beat's next tick) through the broker again.
        run_python(["-c", SEND_SCRIPT, queue, "workflows.sweep_deadlines"], cwd=cwd, env=env, timeout=60)
        wait_for(lambda: len(sweeps_done()) >= 2, worker)
        alerts_after_retry = read_rows(database, ALERTS_SQL)
        notifications_after_retry = read_rows(database, NOTIFICATIONS_SQL)
    finally:
        exit_code = stop(worker)
        if broker.startswith("redis://"):
            forget_redis_queue(broker, queue)

    return WorkerRun(
        broker=broker,
        queue=queue,
        heartbeats=heartbeats,
        seconds_waited=waited,
        alerts=alerts,
        alerts_after_retry=alerts_after_retry,
        notifications=notifications,
        notifications_after_retry=notifications_after_retry,
        sweep_results=[ast.literal_eval(result) for result in sweeps_done()],
        worker_log=log_path.read_text(errors="replace"),
        worker_exit_code=exit_code,
        cwd=cwd,
        var_dir=tmp / "var",
    )


def test_worker_runs_the_heartbeat_task(worker_run: WorkerRun) -> None:
    assert len(worker_run.heartbeats) == 1, worker_run.worker_log
    assert worker_run.seconds_waited < DEADLINE_SECONDS
    name, hostname = worker_run.heartbeats[0]
    assert name == "celery"
    assert hostname
    assert "workflows.record_heartbeat" in worker_run.worker_log
    assert "succeeded" in worker_run.worker_log


def test_worker_sweeps_deadlines_and_sends_the_emails(worker_run: WorkerRun) -> None:
    """The demo's due reminder and missed appeal window fire once, and every e-mail goes out."""
    log = worker_run.worker_log
    assert sorted(worker_run.alerts) == [
        ("client_evidence_request", "reminder"),
        ("platform_appeal_window", "missed"),
    ], log
    assert {row[:3] for row in worker_run.notifications} == DEMO_NOTIFICATIONS, log
    assert len(worker_run.notifications) == len(DEMO_NOTIFICATIONS)
    assert {row[3] for row in worker_run.notifications} == {"sent"}, log
    fired = worker_run.sweep_results[0]
    assert (fired["reminders"], fired["missed"], fired["skipped"], fired["more"]) == (1, 1, 0, False), log
    # Without an SMTP host, each e-mail is a readable line of the worker's log (agency.mail).
    for address in {row[4] for row in worker_run.notifications}:
        assert f"E-mail not sent (no EMAIL_HOST) to {address}" in log
    assert log.count("Task workflows.send_notification_email[") >= 2 * len(DEMO_NOTIFICATIONS)  # received, succeeded


def test_a_second_sweep_through_the_broker_fires_nothing(worker_run: WorkerRun) -> None:
    assert len(worker_run.sweep_results) == 2, worker_run.worker_log
    again = worker_run.sweep_results[1]
    assert (again["reminders"], again["missed"], again["skipped"]) == (0, 0, 0)
    assert worker_run.alerts_after_retry == worker_run.alerts
    assert worker_run.notifications_after_retry == worker_run.notifications


def test_worker_used_the_configured_broker(worker_run: WorkerRun) -> None:
    expected = os.environ.get("REDIS_URL") or "filesystem://"
    assert worker_run.broker == expected
    scheme = expected.split("://", 1)[0]
    assert f"Connected to {scheme}://" in worker_run.worker_log, worker_run.worker_log
    assert f".> {worker_run.queue} exchange=" in worker_run.worker_log


def test_worker_shuts_down_cleanly(worker_run: WorkerRun) -> None:
    assert worker_run.worker_exit_code == 0, worker_run.worker_log
    assert "Traceback" not in worker_run.worker_log, worker_run.worker_log


def test_filesystem_broker_leaves_no_message_behind(worker_run: WorkerRun) -> None:
    if not worker_run.broker.startswith("filesystem://"):
        pytest.skip("only the filesystem broker keeps messages as files")
    assert list((worker_run.var_dir / "broker" / "queue").iterdir()) == []


def test_processes_write_nothing_outside_their_var_dir(worker_run: WorkerRun) -> None:
    """Broker, database and state belong under AGENCY_VAR_DIR, never in whatever the cwd is."""
    assert sorted(p.name for p in worker_run.cwd.iterdir()) == []
