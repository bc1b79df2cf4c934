"""dev.py, the entry point for a fresh machine: what `up` prints answers, and it stops on a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import Client

import dev

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_every_address_up_prints_answers():
    client = Client()
    for label, address in dev.addresses("8000").items():
        response = client.get(urlsplit(address).path, follow=True)
        # Health answers 503 while the worker's heartbeat is missing, as it is in a test.
        answers = (200, 503) if label == "health" else (200,)
        assert response.status_code in answers, (label, address, response.status_code)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_up_stops_on_sigint_and_sigterm_even_started_in_the_background(signum):
    """A shell's background job starts with SIGINT ignored; the handlers `up` installs still stop it."""
    program = "import dev, time\ndev.install_stop_handlers()\nprint('ready', flush=True)\ntime.sleep(60)\n"

    def like_a_background_job() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    child = subprocess.Popen(  # noqa: S603 - our own interpreter and a fixed program
        [sys.executable, "-c", program],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=like_a_background_job,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        started = time.monotonic()
        child.send_signal(signum)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert time.monotonic() - started < 10
    assert child.returncode != 0
    assert "KeyboardInterrupt" in (child.stderr.read() if child.stderr else "")
