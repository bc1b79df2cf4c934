"""The browser chain works end to end, on pages that exist without the portal: Chromium
opens the live server's admin sign-in, signs in as a user the test wrote, and the helpers
(axe, sideways scroll, screenshots, the CJK font) report what they are there to report.

Part of the browser suite (tests/browser, Playwright driving Chromium), which is cross-cutting rather than
one module's tests and so keeps its own directory; its tests run after every other test (see conftest.py)."""

from __future__ import annotations

import os
import re

import pytest
from django.db import connection
from playwright.sync_api import Page, expect

from cases.models import PlatformRuleProfile
from tests.browser.conftest import axe_check, no_sideways_scroll, screenshot, sign_in

UNLABELLED_INPUT = '<!doctype html><html lang="en"><title>Form</title><main><input id="nameless"></main></html>'


def test_admin_sign_in_page_opens_and_passes_axe(site, page):
    page.goto(f"{site.url}/admin/login/")

    expect(page).to_have_title(re.compile(r"^Log in \| "))
    axe_check(page)


def test_a_user_the_test_wrote_signs_in_through_the_form(administrator, site, page):
    # administrator asks for `db` before site asks for transactional_db: the row is committed all the same.
    administrator.is_staff = True
    administrator.save(update_fields=["is_staff"])

    sign_in(page, site.url, "administrator", "pw-for-tests", path="/admin/login/")

    expect(page).to_have_url(f"{site.url}/admin/")
    expect(page.locator("#user-tools")).to_contain_text("administrator")


def test_a_wrong_password_stays_on_the_form(administrator, site, page):
    administrator.is_staff = True
    administrator.save(update_fields=["is_staff"])

    sign_in(page, site.url, "administrator", "not-the-password", path="/admin/login/")

    expect(page.locator(".errornote")).to_be_visible()


@pytest.mark.parametrize("run", ["first", "second"])
def test_every_browser_test_starts_with_the_rows_the_migrations_seed(site, page, run):
    # Each browser test empties the database when it ends; serialized rollback puts the
    # seeded rows back when the next starts. With Playwright's loop running, this thread
    # gets other connection objects than the ones the database was made with (Django's
    # connections live in an asgiref Local, per event loop), so what to put back must
    # reach them too; then this holds in whichever order and worker the two runs go.
    assert getattr(connection, "_test_serialized_contents", "")
    assert PlatformRuleProfile.objects.exists()


def test_a_browser_test_that_asks_for_no_database_gets_none(page, request):
    # The fixtures under `page` must not pull in the database: tests/conftest.py would then
    # open one for every page test, on a connection nothing closes.
    assert "django_db_setup" not in request.fixturenames


def test_browser_tests_run_with_the_async_safety_check_off(page):
    # Playwright's loop is marked running in this thread; the ORM works only with this set.
    assert os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE") == "true"


def test_axe_check_reports_each_serious_violation_with_where_it_is(page):
    page.set_content(UNLABELLED_INPUT)

    with pytest.raises(pytest.fail.Exception) as failure:
        axe_check(page)

    report = str(failure.value)
    assert "- label (critical): Form elements must have labels" in report
    assert 'at #nameless: <input id="nameless">' in report


def test_axe_check_runs_under_the_portals_content_security_policy(page):
    # The portal's pages forbid inline and foreign scripts; axe is injected through the
    # DevTools protocol, which that policy does not restrict.
    policy = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'"
    page.route(
        "http://portal.test/",
        lambda route: route.fulfill(
            body=UNLABELLED_INPUT, content_type="text/html", headers={"Content-Security-Policy": policy}
        ),
    )
    page.goto("http://portal.test/")

    with pytest.raises(pytest.fail.Exception, match="label"):
        axe_check(page)


WIDE = '<!doctype html><html><head>{meta}</head><body><div style="width:600px">Wide</div></body></html>'
VIEWPORT_META = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def test_no_sideways_scroll_at_phone_width(phone):
    phone.set_content(f"<!doctype html><html><head>{VIEWPORT_META}</head><body><p>Fits.</p></body></html>")
    no_sideways_scroll(phone)

    # A phone does not scroll content that is too wide: it zooms out, the window widens.
    # (A new page each time: set_content keeps the document, and with it the viewport meta.)
    wide = phone.context.new_page()
    wide.set_content(WIDE.format(meta=VIEWPORT_META))
    with pytest.raises(AssertionError, match="laid out 608px wide on a 360px screen"):
        no_sideways_scroll(wide)

    # Without the viewport meta a phone lays the page out 980px wide.
    no_meta = phone.context.new_page()
    no_meta.set_content("<!doctype html><html><body><p>Fits, but tiny.</p></body></html>")
    with pytest.raises(AssertionError, match="laid out 980px wide on a 360px screen"):
        no_sideways_scroll(no_meta)


def test_desktop_width_and_sideways_scroll(desktop):
    assert desktop.viewport_size == {"width": 1280, "height": 800}
    assert desktop.evaluate("() => [window.innerWidth, 'ontouchstart' in window]") == [1280, False]
    desktop.set_content(WIDE.format(meta=VIEWPORT_META).replace("600px", "1400px"))

    with pytest.raises(AssertionError, match="scrolls sideways: content 1408px wide in a 1280px window"):
        no_sideways_scroll(desktop)


def test_chinese_text_is_drawn_with_a_cjk_font(page: Page):
    page.set_content('<!doctype html><html lang="zh-hans"><body><p id="text">申诉案件</p></body></html>')
    cdp = page.context.new_cdp_session(page)
    document = cdp.send("DOM.getDocument")
    node = cdp.send("DOM.querySelector", {"nodeId": document["root"]["nodeId"], "selector": "#text"})
    cdp.send("CSS.enable")

    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]

    # fonts-wqy-microhei (dev.py installs it); without a CJK font the four glyphs are boxes.
    assert [(font["familyName"], font["glyphCount"]) for font in fonts] == [("WenQuanYi Micro Hei", 4)]


def test_screenshot_only_with_screenshots_dir(page, monkeypatch, tmp_path):
    page.set_viewport_size({"width": 360, "height": 740})
    page.set_content("<!doctype html><html><body><h1>申诉 Appeals</h1></body></html>")
    monkeypatch.delenv("SCREENSHOTS_DIR", raising=False)
    assert screenshot(page, "nothing") is None

    monkeypatch.setenv("SCREENSHOTS_DIR", str(tmp_path / "shots"))
    path = screenshot(page, "portal/heading")

    assert path == tmp_path / "shots" / "portal" / "heading.png"
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) < 50_000
