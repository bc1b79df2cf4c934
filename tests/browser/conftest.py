"""Browser tests: Playwright (pytest-playwright's fixtures) driving Debian's Chromium.

A test takes ``site`` (the live server, seeing the test's rows) and a page: ``page``
(pytest-playwright's, 1280x720), ``phone`` (360x740, mobile, touch) or ``desktop``
(1280x800); ``new_context(**PHONE, locale="zh-CN")`` opens more. The helpers below check
what every page owes: ``axe_check`` (no serious or critical accessibility violation),
``no_sideways_scroll``; ``sign_in`` signs in through the form, ``screenshot`` keeps a picture
for the README (only with SCREENSHOTS_DIR set, see below).

The browser is /usr/bin/chromium (``BROWSER_EXECUTABLE`` picks another); ``python3 dev.py
test`` installs it with apt-get when it is missing. Playwright never downloads a browser.

Three things are special about running Django under Playwright's synchronous API:

* Playwright keeps an asyncio loop marked as running in the main thread from the moment
  it starts until the session ends, and Django then refuses every database call from
  that thread (SynchronousOnlyOperation). DJANGO_ALLOW_ASYNC_UNSAFE turns that check off;
  it is set by the ``playwright`` fixture below, only in a worker that starts Playwright,
  only from that moment, and removed when Playwright stops. Setting it when this file is
  imported would switch the check off in every xdist worker, since each one imports all
  conftest files.
* So that no other test ever runs under that setting (or after Playwright started), the
  browser tests run last in each worker: pytest-django already puts tests with a
  transactional database after the others, and the hook below moves this directory's
  tests behind everything else. Workers take tests in collection order, so this holds
  under xdist too.
* Django keeps connections in an asgiref Local, which holds a separate set while an
  event loop runs in the thread: once Playwright has started, the test's connections are
  new objects, without the contents the test database was serialized with when it was
  made. A browser test's serialized rollback would then put nothing back, and the rows
  the migrations seed (rule profiles, the calendar) would be gone after the first one.
  The ``playwright`` fixture reads those contents first and hands them on.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]  # no py.typed
from django.db import connections
from playwright.sync_api import BrowserContext, Page, Playwright
from pytest_django.live_server_helper import LiveServer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# Context options (for ``new_context``) of the two widths every portal page must work at.
PHONE: dict[str, Any] = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}

# The axe impacts that fail a test; "minor" and "moderate" are left to review.
FAILING_IMPACTS = ("serious", "critical")

_axe = Axe()


def browser_executable() -> str:
    """BROWSER_EXECUTABLE, else Debian's /usr/bin/chromium, else a `chromium` on PATH."""
    configured = os.environ.get("BROWSER_EXECUTABLE")
    if configured:
        return configured
    default = "/usr/bin/chromium"
    return default if Path(default).exists() else (shutil.which("chromium") or default)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run this directory's tests after every other test (see the module docstring)."""
    items.sort(key=lambda item: item.path.is_relative_to(HERE))


@pytest.fixture(scope="session")
def _serialized_database() -> dict[str, str]:
    """The test databases' serialized contents, read before Playwright starts (none yet if
    they are made later: then they are made, and serialized, on the connections of its loop).

    Deliberately not asking for ``django_db_setup``: every test with a page would then
    count as a database test, and tests/conftest.py's autouse fixture would open it one.
    """
    return {
        alias: connections[alias]._test_serialized_contents  # type: ignore[attr-defined]
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }


@pytest.fixture(scope="session")
def playwright(_serialized_database: dict[str, str], playwright: Playwright) -> Iterator[Playwright]:
    """pytest-playwright's Playwright, with Django's async-safety check off while it runs,
    and the serialized test databases handed to the connections this thread uses then
    (see the module docstring).

    When it stops, it closes those connections: one left open (a test on ``db``, which
    rolls back but does not close) would stop PostgreSQL dropping the test database.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        for alias, contents in _serialized_database.items():
            connections[alias]._test_serialized_contents = contents  # type: ignore[attr-defined]
        yield playwright
        connections.close_all()


@pytest.fixture(scope="session")
def base_url(pytestconfig: pytest.Config) -> str | None:
    """pytest-playwright's own fallback (--base-url, the base_url ini value), as a plain fixture.

    The plugin defines it as a method of a plugin object, which pytest 9 warns about on
    every run (PytestRemovedIn10Warning). Tests here use ``site.url`` rather than it.
    """
    return pytestconfig.getoption("--base-url", default=None) or pytestconfig.getini("base_url") or None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any], browser_name: str) -> dict[str, Any]:
    """Launch Debian's Chromium, headless unless --headed.

    Playwright passes --no-sandbox unless told the sandbox is wanted: wanted except as root,
    where Chromium cannot start with it.
    """
    if browser_name != "chromium":
        return browser_type_launch_args
    executable = browser_executable()
    if not Path(executable).exists():
        raise pytest.UsageError(
            f"No Chromium at {executable}: `python3 dev.py test` installs Debian's (apt-get install chromium), "
            "or set BROWSER_EXECUTABLE."
        )
    return {
        "headless": True,
        **browser_type_launch_args,
        "executable_path": executable,
        "chromium_sandbox": os.geteuid() != 0,
    }


@pytest.fixture
def site(live_server: LiveServer, transactional_db: None, django_db_serialized_rollback: None) -> LiveServer:
    """The live server (``site.url``), which sees the rows the test writes.

    The server answers from another thread, so the test cannot keep its rows in a
    transaction that is rolled back: the database is transactional, emptied after the
    test. serialized_rollback puts back what the migrations seeded (rule profiles, the
    calendar) before the test, as the suite's other transactional tests do. The cast in
    tests/conftest.py (``alice``, ``manager``, ...) works as it is: ``db`` turns
    transactional when ``transactional_db`` is requested too.
    """
    return live_server


@pytest.fixture
def phone(new_context: Any) -> Page:
    """A page in a phone-sized context: 360x740, mobile viewport rules, touch."""
    context: BrowserContext = new_context(**PHONE)
    return context.new_page()


@pytest.fixture
def desktop(new_context: Any) -> Page:
    """A page in a desktop-sized context: 1280x800."""
    context: BrowserContext = new_context(**DESKTOP)
    return context.new_page()


def axe_check(page: Page, *, impacts: tuple[str, ...] = FAILING_IMPACTS) -> None:
    """Run axe-core on the page as it is now; fail listing each serious or critical violation."""
    violations = [v for v in _axe.run(page).response["violations"] if v["impact"] in impacts]
    if not violations:
        return
    lines = [f"{len(violations)} accessibility violation(s) on {page.url}:"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} [{violation['helpUrl']}]")
        lines.extend(f"    at {' '.join(map(str, node['target']))}: {node['html']}" for node in violation["nodes"])
    pytest.fail("\n".join(lines), pytrace=False)


def no_sideways_scroll(page: Page) -> None:
    """Assert that the page fits its window's width: no horizontal scrolling.

    document.documentElement.scrollWidth <= window.innerWidth is the test on a desktop.
    A mobile context (``phone``) does not scroll a page that is too wide: it zooms out,
    widening the window itself, as it does for a page without ``<meta name="viewport"
    content="width=device-width">``. So the window must also be no wider than the
    viewport the context asked for.
    """
    widths = page.evaluate("() => ({content: document.documentElement.scrollWidth, window: window.innerWidth})")
    viewport = page.viewport_size
    if viewport is not None:
        assert widths["window"] <= viewport["width"], (
            f"{page.url} is laid out {widths['window']}px wide on a {viewport['width']}px screen "
            "(content too wide, or no width=device-width viewport meta)"
        )
    assert widths["content"] <= widths["window"], (
        f"{page.url} scrolls sideways: content {widths['content']}px wide in a {widths['window']}px window"
    )


def sign_in(
    page: Page, live_server_url: str, username: str, password: str, *, path: str = "/accounts/sign-in/"
) -> None:
    """Sign in through the form at ``path``: fields ``username`` and ``password``, its submit button.

    Returns once the page the form leads to has loaded; the caller checks where that is.
    """
    page.goto(f"{live_server_url}{path}")
    form = page.locator("form", has=page.locator('[name="password"]'))
    form.locator('[name="username"]').fill(username)
    form.locator('[name="password"]').fill(password)
    form.locator('[type="submit"], button:not([type])').click()
    page.wait_for_load_state()


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path | None:
    """Save ``<SCREENSHOTS_DIR>/<name>.png`` when SCREENSHOTS_DIR is set; otherwise nothing.

    The README's pictures are made with ``SCREENSHOTS_DIR=docs/screenshots python3 dev.py
    test tests/browser`` (a relative directory is taken from the project root). Only the
    window is taken, not the whole page, unless ``full_page``: a window-sized PNG of
    these pages is tens of kilobytes; the whole of a long page can be many times that.
    """
    directory = os.environ.get("SCREENSHOTS_DIR")
    if not directory:
        return None
    path = ROOT / directory / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, type="png", full_page=full_page, animations="disabled", caret="hide")
    return path
