"""A merchant sends evidence for many orders at once on the client portal, in a real browser at phone width:
a ZIP archive is read, the preview shows where each file goes, and one button stores them. A large archive,
read by a worker, shows its progress and the page updates itself until the preview is there.

Part of the browser suite (tests/browser, Playwright driving Chromium); see conftest.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page, expect
from pytest_django.live_server_helper import LiveServer

from agency.accounts.models import User
from cases.models import Case, CaseState
from evidence.batches import batch_work
from evidence.models import BatchStatus, EvidenceBatch, EvidenceItem
from tests.browser.conftest import PHONE, axe_check, no_sideways_scroll, screenshot, sign_in
from tests.evidence.zips import make_zip, proof

PASSWORD = "pw-for-tests"


@pytest.fixture
def phone_en(new_context: Any) -> Page:
    return new_context(**PHONE, locale="en-US").new_page()


def check(page: Page, name: str = "") -> None:
    """What every page owes: no serious accessibility violation, no sideways scrolling."""
    axe_check(page)
    no_sideways_scroll(page)
    if name:
        screenshot(page, name)


def evidence_zip(case: Case) -> FilePayload:
    """Two files in a folder named by the first order's id, one named by the second's tracking number, and
    one that names no order."""
    first, second = list(case.flagged_orders.order_by("platform_order_id"))[:2]
    data = make_zip(
        [
            (f"{first.platform_order_id}/chat.png", proof("chat")),
            (f"{first.platform_order_id}/面单.png", proof("slip")),
            (f"{second.tracking_number}_tracking.png", proof("track")),
            ("holiday.png", proof("holiday")),
        ]
    )
    return {"name": "evidence.zip", "mimeType": "application/zip", "buffer": data}


def upload(page: Page, site: LiveServer, case: Case, *, first_a_wrong_file: bool = False) -> None:
    sign_in(page, site.url, "alice", PASSWORD)
    page.goto(f"{site.url}/portal/cases/{case.pk}/#needed")
    form = page.get_by_role("form", name="Send many files at once")
    form.scroll_into_view_if_needed()
    check(page, "phone-bulk-form")
    if first_a_wrong_file:
        # Refused: the reason appears beside the form, and the page stays.
        wrong: FilePayload = {"name": "evidence.zip", "mimeType": "application/zip", "buffer": b"not a zip"}
        form.get_by_label("A ZIP archive, or several files").set_input_files(wrong)
        form.get_by_role("button", name="Preview the files").click()
        expect(form.get_by_role("alert")).to_contain_text("is not a ZIP archive")
        expect(form.get_by_role("alert")).to_be_focused()
        check(page)
    form.get_by_label("A ZIP archive, or several files").set_input_files(evidence_zip(case))
    form.get_by_role("button", name="Preview the files").click()
    expect(page).to_have_url(re.compile(rf"/portal/cases/{case.pk}/bulk/\d+/$"))


def test_a_zip_is_previewed_then_stored(
    site: LiveServer, phone_en: Page, alice: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE, with_evidence=False)
    page = phone_en
    upload(page, site, case, first_a_wrong_file=True)
    expect(page.get_by_role("heading", name="Check where each file goes")).to_be_visible()
    files = page.get_by_role("region", name="Each file")
    expect(files.get_by_role("row")).to_have_count(5)
    expect(files.get_by_role("row", name=re.compile("holiday.png"))).to_contain_text("No order found")
    expect(page.get_by_role("region", name="Each order").get_by_role("row")).to_have_count(3)
    assert not EvidenceItem.objects.filter(case=case).exists()
    check(page, "phone-bulk-preview")

    page.get_by_role("button", name="Store 3 files").click()
    expect(page.get_by_role("heading", name="3 files stored")).to_be_visible()
    page.get_by_role("region", name="Each order").scroll_into_view_if_needed()
    check(page, "phone-bulk-stored")
    assert EvidenceBatch.objects.get(case=case).status == BatchStatus.COMMITTED
    assert EvidenceItem.objects.filter(case=case).count() == 3

    page.get_by_role("link", name="Back to the case").last.click()
    expect(page.get_by_role("link", name="chat.png")).to_be_visible()


def test_a_large_archive_shows_progress_until_it_is_read(
    site: LiveServer,
    phone_en: Page,
    alice: User,
    case_in: Callable[..., Case],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.EVIDENCE_BULK_INLINE_MAX_BYTES = 10  # every archive is read by a worker
    queued: list[int] = []
    monkeypatch.setattr("evidence.batches._queue", queued.append)
    case = case_in(CaseState.EVIDENCE, with_evidence=False)
    page = phone_en
    upload(page, site, case)
    progress = page.locator("#bulk[role=status]")
    expect(progress).to_contain_text("Waiting to be read")
    expect(page.get_by_role("link", name="Refresh")).to_be_visible()
    check(page, "phone-bulk-progress")

    batch = EvidenceBatch.objects.get(case=case)
    assert queued == [batch.pk]
    batch_work(batch.pk)  # the worker reads it; the page, polling, shows the preview by itself
    expect(page.get_by_role("heading", name="Check where each file goes")).to_be_visible(timeout=10_000)
    expect(page.get_by_role("button", name="Store 3 files")).to_be_visible()
    expect(page.get_by_role("link", name="Refresh")).to_have_count(0)
    check(page)


@pytest.fixture
def phone_zh(new_context: Any) -> Page:
    return new_context(**PHONE, locale="zh-CN").new_page()


def test_in_chinese_the_preview_and_the_store_button_speak_chinese(
    site: LiveServer, phone_zh: Page, alice: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE, with_evidence=False)
    page = phone_zh
    sign_in(page, site.url, "alice", PASSWORD)
    page.goto(f"{site.url}/portal/cases/{case.pk}/#needed")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    form = page.get_by_role("form", name="一次发送多个文件")
    form.scroll_into_view_if_needed()
    form.get_by_label("一个 ZIP 压缩包，或多个文件").set_input_files(evidence_zip(case))  # noqa: RUF001
    form.get_by_role("button", name="预览文件").click()

    expect(page.get_by_role("heading", name="请核对每个文件的归属")).to_be_visible()
    files = page.get_by_role("region", name="各文件情况")
    expect(files.get_by_role("row", name=re.compile("holiday.png"))).to_contain_text("未找到对应订单")
    check(page, "phone-bulk-preview-zh")

    page.get_by_role("button", name="保存 3 个文件").click()
    expect(page.get_by_role("heading", name="已保存 3 个文件")).to_be_visible()
    check(page)
    assert EvidenceItem.objects.filter(case=case).count() == 3
