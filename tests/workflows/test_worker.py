"""A real Celery worker process takes a real message off the broker and runs the heartbeat task."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

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
)


@dataclass
class WorkerRun:
    broker: str
    queue: str
    heartbeats: list[tuple[str, str]]
    seconds_waited: float
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
    )
    if redis_url:
        env.update(REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url)
    return env


def read_heartbeats(database: Path) -> list[tuple[str, str]]:
    connection = sqlite3.connect(database, timeout=5)
    try:
        rows = connection.execute("SELECT name, hostname FROM workflows_workerheartbeat").fetchall()
    except sqlite3.OperationalError:  # locked for a moment by the worker's write
        return []
    finally:
        connection.close()
    return [(str(name), str(hostname)) for name, hostname in rows]


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
    """Migrate a throwaway database, start a worker, send one task, wait for its row, stop the worker."""
    tmp = tmp_path_factory.mktemp("worker")
    cwd = tmp / "cwd"
    cwd.mkdir()
    env = worker_env(tmp)
    broker = env.get("CELERY_BROKER_URL", "filesystem://")
    queue = f"test-worker-{uuid.uuid4().hex}"
    database = tmp / "w.sqlite3"

    migrate = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert read_heartbeats(database) == []

    log_path = tmp / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "agency",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "info",
                "-Q",
                queue,
                "-n",
                f"{queue}@%h",
            ],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        send = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [
                sys.executable,
                "-c",
                "import sys; from agency.celery import app; "
                "app.send_task('workflows.record_heartbeat', queue=sys.argv[1])",
                queue,
            ],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert send.returncode == 0, send.stdout + send.stderr

        started = time.monotonic()
        heartbeats: list[tuple[str, str]] = []
        while time.monotonic() - started < DEADLINE_SECONDS:
            heartbeats = read_heartbeats(database)
            if heartbeats or worker.poll() is not None:
                break
            time.sleep(0.25)  # polling a real subprocess, with the deadline above
        waited = time.monotonic() - started
    finally:
        exit_code = stop(worker)
        if broker.startswith("redis://"):
            forget_redis_queue(broker, queue)

    return WorkerRun(
        broker=broker,
        queue=queue,
        heartbeats=heartbeats,
        seconds_waited=waited,
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
