"""Run gunicorn on a free 127.0.0.1 port for the load test, and stop it afterwards."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _gunicorn_command() -> list[str]:
    script = Path(sys.executable).with_name("gunicorn")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gunicorn"]


def _answers(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def log_tail(log_path: Path) -> str:
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])


@contextmanager
def gunicorn(env: dict[str, str], log_path: Path, *, workers: int, ready_path: str) -> Iterator[int]:
    """Serve agency.wsgi with ``workers`` sync workers; yields the port once ``ready_path`` answers 200."""
    port = free_port()
    command = [
        *_gunicorn_command(),
        "agency.wsgi:application",
        f"--workers={workers}",
        f"--bind={HOST}:{port}",
        "--no-control-socket",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while not _answers(port, ready_path):
                if process.poll() is not None:
                    raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log_tail(log_path)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not answer within {READY_TIMEOUT:.0f} s:\n{log_tail(log_path)}")
                time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
