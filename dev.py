#!/usr/bin/env python3
"""One entry point for a fresh machine: `python3 dev.py up | test | bench`.

It needs nothing but Python 3.11+. It creates .venv, installs the pinned requirements
(again only when a requirements file changed), and then:

  up     migrate, load demo data, and run the web pages and the API (open
         http://127.0.0.1:8000/: the sign-in page), a Celery worker and Celery beat
         together until Ctrl-C;
  test   ruff (lint and format), mypy, the layers (import-linter's contracts in
         pyproject.toml), the migrations check, the pytest suite in parallel,
         then the API contract suite (tests/contract: schemathesis over the whole schema);
         the browser tests (tests/browser) drive Debian's Chromium, and the evidence
         checks' labelled set is drawn in a Chinese font (fonts-wqy-microhei), so when
         either is missing, test installs it first with apt-get (through sudo when not root);
  bench  the performance figures, as `BENCH <name> <value> <unit>` lines (the font too).

Extra arguments after `test` go to pytest, for example `python3 dev.py test -k portal`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".requirements.sha256"


def ensure_venv() -> None:
    """Create the virtual environment and install the exact pins when they changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs on whatever python3 the machine has
        sys.exit("Python 3.11 or newer is required.")
    if not PYTHON.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256()
    for name in ("requirements.txt", "requirements-dev.txt", "requirements-nodeps.txt"):
        digest.update((ROOT / name).read_bytes())
    if STAMP.exists() and STAMP.read_text() == digest.hexdigest():
        return
    print("installing requirements ...", flush=True)
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-r", str(ROOT / "requirements-dev.txt")], check=True, cwd=ROOT)
    # The OCR engine, without the GUI OpenCV it declares (requirements-nodeps.txt says why).
    subprocess.run([*pip, "install", "--no-deps", "-r", str(ROOT / "requirements-nodeps.txt")], check=True, cwd=ROOT)
    STAMP.write_text(digest.hexdigest())


def run(*args: str, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(args), flush=True)
    result = subprocess.run(args, cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(result.returncode)


def manage(*args: str, env: dict[str, str] | None = None) -> None:
    run(str(PYTHON), "manage.py", *args, env=env)


def dev_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    return env


def addresses(port: str) -> dict[str, str]:
    """What `up` serves, each address one that answers (tests/test_dev.py asks each of them)."""
    base = f"http://127.0.0.1:{port}"
    return {
        "web pages (sign in)": f"{base}/",
        "API documentation (Swagger UI)": f"{base}/api/docs/",
        "OpenAPI schema": f"{base}/api/schema/",
        "health": f"{base}/api/v1/health/",
        "admin": f"{base}/admin/",
    }


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def install_stop_handlers() -> None:
    """Ctrl-C (SIGINT) and SIGTERM both stop `up`, even when a shell started it in the
    background, which makes SIGINT ignored unless a handler is installed."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop)


def cmd_up() -> None:
    env = dev_env()
    manage("migrate", "--noinput", env=env)
    manage("seed_demo", env=env)
    port = env.get("PORT", "8000")
    celery = str(BIN / "celery")
    processes = {
        "web": [str(PYTHON), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        # One worker for both queues here; production runs the evidence checks' OCR on a worker of its own.
        "worker": [
            celery,
            "-A",
            "agency",
            "worker",
            "-Q",
            "celery,evidence-checks",
            "--loglevel",
            "info",
            "--concurrency",
            "2",
        ],
        "beat": [celery, "-A", "agency", "beat", "--loglevel", "info"],
    }
    install_stop_handlers()
    children = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in processes.items()}
    print("", flush=True)
    for label, address in addresses(port).items():
        print(f"  {label:32} {address}", flush=True)
    print(
        "\nSign in as client_blossom (password appeals-demo) to see the client portal,"
        " or as supervisor for the staff tools.",
        flush=True,
    )
    print("Ctrl-C (or SIGTERM) stops the web server, the worker and beat.\n", flush=True)
    exit_code = 0
    try:
        while True:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"{name} exited with {child.returncode}; stopping the rest.", flush=True)
                    exit_code = child.returncode or 1
                    raise KeyboardInterrupt
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        # A second signal while the children stop must not cut the wait short.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    sys.exit(exit_code)


# pytest's exit status when its selection (-k, a path) matched no test.
PYTEST_NO_TESTS = 5


def pytest_run(args: list[str], env: dict[str, str], *, selected: bool) -> None:
    """Run pytest; with a selection from the command line, a part it leaves empty is not a failure."""
    print("+ pytest", " ".join(args), flush=True)
    result = subprocess.run([str(PYTHON), "-m", "pytest", *args], cwd=ROOT, env=env)
    if result.returncode == PYTEST_NO_TESTS and selected:
        return
    if result.returncode != 0:
        sys.exit(result.returncode)


# The browser tests' Chromium (tests/browser/conftest.py reads the same variable) and the
# Debian packages that provide it and a font with Chinese glyphs for the portal's pages.
BROWSER_EXECUTABLE = os.environ.get("BROWSER_EXECUTABLE", "/usr/bin/chromium")
BROWSER_PACKAGE = "chromium"
CJK_FONT_PACKAGE = "fonts-wqy-microhei"
BROWSER_TESTS = ROOT / "tests" / "browser"


def runs_browser_tests(paths: list[str]) -> bool:
    """Whether the pytest paths (none: the whole suite) take in tests/browser."""
    if not paths:
        return True
    for path in paths:
        selected = (ROOT / path.split("::")[0]).resolve()
        if BROWSER_TESTS.is_relative_to(selected) or selected.is_relative_to(BROWSER_TESTS):
            return True
    return False


def debian_package_installed(name: str) -> bool:
    result = subprocess.run(["dpkg", "-s", name], capture_output=True, check=False)
    return result.returncode == 0


def apt_get(*args: str) -> bool:
    """Run apt-get non-interactively, through sudo when not root; True when it succeeded."""
    sudo = ["sudo"] if os.geteuid() != 0 and shutil.which("sudo") else []
    command = [*sudo, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", *args]
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, cwd=ROOT, check=False).returncode == 0


def apt_install(packages: list[str], purpose: str) -> None:
    """Install Debian packages that are missing; apt-get update runs only when the install fails (stale lists)."""
    missing = [name for name in packages if not debian_package_installed(name)]
    if not missing:
        return
    if not shutil.which("apt-get"):
        print(f"{purpose}: install {' and '.join(missing)} (no apt-get here to do it).", flush=True)
        return
    print(f"{purpose}: installing {' and '.join(missing)} ...", flush=True)
    install = ["install", "-y", "--no-install-recommends", *missing]
    if not apt_get(*install) and not (apt_get("update") and apt_get(*install)):
        sys.exit(f"Could not install {' '.join(missing)} for {purpose}.")


def ensure_cjk_font() -> None:
    """The Chinese font the evidence checks' labelled set is drawn with (tests/evidence/labelled.py, bench)."""
    if shutil.which("dpkg"):
        apt_install([CJK_FONT_PACKAGE], "the labelled evidence set")


def ensure_browser() -> None:
    """Install Debian's Chromium and the CJK font for the browser tests when either is missing."""
    if not shutil.which("dpkg"):
        return
    packages = [CJK_FONT_PACKAGE]
    if not (Path(BROWSER_EXECUTABLE).exists() or shutil.which("chromium")):
        packages.insert(0, BROWSER_PACKAGE)
    apt_install(packages, "the browser tests (tests/browser)")


def cmd_test(pytest_args: list[str]) -> None:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    run(str(BIN / "ruff"), "check", ".")
    run(str(BIN / "ruff"), "format", "--check", ".")
    run(str(BIN / "mypy"), ".", env=env)
    run(str(BIN / "lint-imports"), env=env)
    manage("makemigrations", "--check", "--dry-run", env=env)
    # One worker per core. The contract suite runs on its own: it seeds one agency per
    # test database, and those rows must never meet the unit tests' exact counts.
    parallel = ["-n", os.environ.get("PYTEST_WORKERS", "auto")]
    paths = [arg for arg in pytest_args if not arg.startswith("-") and Path(ROOT, arg.split("::")[0]).exists()]
    ensure_cjk_font()
    if runs_browser_tests(paths):
        ensure_browser()
    contract = [path for path in paths if Path(path).parts[:2] == ("tests", "contract")]
    options = [arg for arg in pytest_args if arg not in paths]
    selected = bool(pytest_args)
    if not paths or len(contract) < len(paths):
        unit_paths = [path for path in paths if path not in contract]
        pytest_run([*parallel, "--ignore=tests/contract", *options, *unit_paths], env, selected=selected)
    if not paths or contract:
        pytest_run([*parallel, *options, *(contract or ["tests/contract"])], env, selected=selected)


def cmd_bench() -> None:
    ensure_cjk_font()
    run(str(PYTHON), "-m", "bench.run")


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"up", "test", "bench"}:
        sys.exit(__doc__)
    ensure_venv()
    command = sys.argv[1]
    if command == "up":
        cmd_up()
    elif command == "test":
        cmd_test(sys.argv[2:])
    else:
        cmd_bench()


if __name__ == "__main__":
    main()
