"""The browser tests run last in each worker (tests/browser/conftest.py explains why)."""

from __future__ import annotations

import subprocess
import sys

import dev


def test_browser_tests_are_collected_after_every_other_test():
    # conftest.py relies on it: nothing else runs in a worker once Playwright has started
    # (with Django's async-safety check off) or a browser test has emptied the database.
    paths = ["tests/browser", "tests/agency/test_settings.py"]
    collected = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", *paths],
        cwd=dev.ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ids = [line for line in collected.splitlines() if "::" in line]
    first_browser = next(i for i, test in enumerate(ids) if test.startswith("tests/browser/"))

    assert first_browser > 0
    assert all(test.startswith("tests/browser/") for test in ids[first_browser:])
