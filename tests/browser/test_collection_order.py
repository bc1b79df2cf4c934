"""The browser tests run last in each worker (tests/browser/conftest.py explains why): nothing
else runs once Playwright has started (with Django's async-safety check off) or after a
browser test has emptied the database.

Part of the browser suite (tests/browser, Playwright driving Chromium), which is cross-cutting rather than
one module's tests and so keeps its own directory; its tests run after every other test (see conftest.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from tests.browser import conftest


def test_the_hook_puts_browser_tests_after_the_others_in_their_order():
    names = ["tests/browser/test_a.py", "tests/agency/test_b.py", "tests/browser/test_c.py", "tests/cases/test_d.py"]
    items: list = [SimpleNamespace(path=conftest.ROOT / name) for name in names]

    conftest.pytest_collection_modifyitems(items)

    assert [str(item.path.relative_to(conftest.ROOT)) for item in items] == [names[1], names[3], names[0], names[2]]


def test_in_this_run_no_other_test_comes_after_a_browser_test(request):
    # Meaningful when the run holds other tests too, as `dev.py test` and CI do: the order
    # after pytest-django's own sorting (by kind of database use) and every other hook.
    in_browser = [Path(item.path).is_relative_to(conftest.HERE) for item in request.session.items]
    first = in_browser.index(True)

    assert all(in_browser[first:])
