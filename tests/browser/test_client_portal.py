"""A merchant on the client portal, in a real browser: each task they perform, at phone width.

Part of the browser suite (tests/browser, Playwright driving Chromium), which is cross-cutting rather than
one module's tests and so keeps its own directory; its tests run after every other test (see conftest.py).

The tests read like what a person does (roles and visible names, not CSS paths). Each
checks the page with axe-core and for sideways scrolling on the way; with SCREENSHOTS_DIR
set they also leave the README's pictures.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page, expect
from pytest_django.live_server_helper import LiveServer

from agency.accounts.models import User
from agency.organisations.models import Shop
from billing.models import FeeQuote, QuoteStatus
from billing.services import quote_propose
from cases.assessment import assessment_record
from cases.models import Case, CaseMessage, CaseState
from casework.conversation import message_post
from evidence.models import EvidenceItem, RequestStatus
from recovery.models import RecoveryTask, TaskOwner, TaskStatus
from tests.browser.conftest import DESKTOP, PHONE, axe_check, no_sideways_scroll, screenshot, sign_in
from tests.conftest import ask_for_chat_log
from tests.evidence.samples import EXE, png

PASSWORD = "pw-for-tests"
ENGLISH = {"locale": "en-US"}
CHINESE = {"locale": "zh-CN"}


@pytest.fixture
def phone_en(new_context: Any) -> Page:
    return new_context(**PHONE, **ENGLISH).new_page()


@pytest.fixture
def phone_zh(new_context: Any) -> Page:
    return new_context(**PHONE, **CHINESE).new_page()


@pytest.fixture
def desktop_en(new_context: Any) -> Page:
    return new_context(**DESKTOP, **ENGLISH).new_page()


def check(page: Page, name: str = "") -> None:
    """What every page owes: no serious accessibility violation, no sideways scrolling."""
    axe_check(page)
    no_sideways_scroll(page)
    if name:
        screenshot(page, name)


def test_sign_in_and_see_my_cases(
    site: LiveServer, phone_zh: Page, alice: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE, with_evidence=False)
    ask_for_chat_log(case, supervisor)
    page = phone_zh
    page.goto(f"{site.url}/")
    expect(page).to_have_url(f"{site.url}/accounts/sign-in/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    check(page, "phone-sign-in")
    sign_in(page, site.url, "alice", PASSWORD)
    expect(page).to_have_url(f"{site.url}/portal/")
    expect(page.get_by_role("link", name=re.compile(case.shop.name))).to_be_visible()
    expect(page.get_by_text(case.reference)).to_be_visible()
    check(page, "phone-cases")


def test_the_case_page_in_chinese_and_in_english(
    site: LiveServer,
    phone_zh: Page,
    desktop_en: Page,
    alice: User,
    supervisor: User,
    manager: User,
    case_in: Callable[..., Case],
) -> None:
    case = case_in(CaseState.EVIDENCE, with_evidence=False)
    ask_for_chat_log(case, supervisor)
    message_post(case_id=case.pk, actor=manager, body="We have your notice and are preparing the appeal.")
    sign_in(phone_zh, site.url, "alice", PASSWORD)
    phone_zh.goto(f"{site.url}/portal/cases/{case.pk}/")
    expect(phone_zh.get_by_role("heading", level=1)).to_contain_text(case.shop.name)
    expect(phone_zh.locator('[aria-current="step"]')).to_contain_text("证据")
    check(phone_zh, "phone-case-zh")

    sign_in(desktop_en, site.url, "alice", PASSWORD)
    desktop_en.goto(f"{site.url}/portal/cases/{case.pk}/")
    expect(desktop_en.locator("html")).to_have_attribute("lang", "en")
    expect(desktop_en.locator('[aria-current="step"]')).to_contain_text("Evidence")
    expect(desktop_en.get_by_role("heading", name="What we need from you")).to_be_visible()
    check(desktop_en, "desktop-case-en")

    # The switch in the header is remembered: the Chinese phone now reads English.
    phone_zh.get_by_role("button", name="English").click()
    expect(phone_zh.locator("html")).to_have_attribute("lang", "en")
    phone_zh.goto(f"{site.url}/portal/")
    expect(phone_zh.locator("html")).to_have_attribute("lang", "en")


def test_two_files_at_once_one_received_one_refused_and_the_request_fulfilled(
    site: LiveServer, phone_en: Page, alice: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE, with_evidence=False)
    request = ask_for_chat_log(case, supervisor)
    page = phone_en
    sign_in(page, site.url, "alice", PASSWORD)
    page.goto(f"{site.url}/portal/cases/{case.pk}/#needed")
    chosen: list[FilePayload] = [
        {"name": "chat-with-buyer.png", "mimeType": "image/png", "buffer": png("chat")},
        {"name": "setup.png", "mimeType": "image/png", "buffer": EXE},
    ]
    page.get_by_label("Choose files or take a photo").set_input_files(chosen)
    page.get_by_role("button", name="Upload").click()
    result = page.get_by_role("status").filter(has_text="received")
    expect(result).to_contain_text("1 file received:")
    expect(result).to_contain_text("chat-with-buyer.png")
    expect(result).to_contain_text("1 file refused:")
    expect(result).to_contain_text("setup.png")
    expect(result).to_contain_text("everything we asked for in this request has arrived")
    check(page, "phone-upload-result")
    request.refresh_from_db()
    assert request.status == RequestStatus.FULFILLED
    assert list(EvidenceItem.objects.filter(case=case).values_list("original_name", flat=True)) == [
        "chat-with-buyer.png"
    ]


def test_accepting_the_fee_quote(
    site: LiveServer, phone_en: Page, alice: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.ASSESSMENT)
    assessment_record(case_id=case.pk, actor=supervisor, recommendation="take", merit_score=70)
    quote = quote_propose(case_id=case.pk, actor=supervisor, fee_model="flat", amount=Decimal("6000"))
    page = phone_en
    sign_in(page, site.url, "alice", PASSWORD)
    page.goto(f"{site.url}/portal/cases/{case.pk}/#quote")
    expect(page.locator("#quote").get_by_text("A flat fee of 6000.00 CNY")).to_be_visible()
    page.get_by_role("link", name="Accept the quote…").click()
    confirm = page.get_by_role("button", name="Yes, accept the quote")
    expect(confirm).to_be_visible()
    check(page, "phone-quote-confirm")
    confirm.click()
    expect(page.get_by_role("status")).to_contain_text("You accepted the quote.")
    assert FeeQuote.objects.get(pk=quote.pk).status == QuoteStatus.ACCEPTED


def test_sending_a_message(site: LiveServer, phone_en: Page, alice: User, case_in: Callable[..., Case]) -> None:
    case = case_in(CaseState.SUBMITTED)
    page = phone_en
    sign_in(page, site.url, "alice", PASSWORD)
    page.goto(f"{site.url}/portal/cases/{case.pk}/#messages")
    page.get_by_label("Your message").fill("When will the platform decide?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#messages .bubble.mine")).to_contain_text("When will the platform decide?")
    expect(page.get_by_label("Your message")).to_have_value("")
    assert CaseMessage.objects.get(case=case).body == "When will the platform decide?"
    check(page)


def test_ticking_off_a_recovery_task(
    site: LiveServer, phone_en: Page, alice: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.REPUTATION_RECOVERY)
    task = RecoveryTask.objects.filter(plan__case=case, owner=TaskOwner.CLIENT).order_by("position").first()
    assert task is not None
    page = phone_en
    sign_in(page, site.url, "alice", PASSWORD)
    page.goto(f"{site.url}/portal/cases/{case.pk}/#recovery")
    check(page, "phone-recovery")
    page.get_by_role("button", name=f"Mark as done — {task.title}").click()
    expect(page.get_by_role("status")).to_contain_text(f"“{task.title}” is marked as done.")
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_withdrawing_the_case(site: LiveServer, phone_en: Page, alice: User, case_in: Callable[..., Case]) -> None:
    case = case_in(CaseState.EVIDENCE)
    page = phone_en
    sign_in(page, site.url, "alice", PASSWORD)
    page.goto(f"{site.url}/portal/cases/{case.pk}/")
    page.get_by_role("link", name="Withdraw the case…").click()
    check(page)
    page.get_by_label("Why are you withdrawing the case? (optional)").fill("We settled with the platform.")
    page.get_by_role("button", name="Yes, withdraw the case").click()
    expect(page.get_by_role("status")).to_contain_text(f"Your case {case.reference} is withdrawn.")
    case.refresh_from_db()
    assert case.state == CaseState.WITHDRAWN


def test_another_organisations_case_by_its_address_is_not_found(
    site: LiveServer, phone_en: Page, alice: User, make_case: Callable[..., Case], star_shop: Shop
) -> None:
    theirs = make_case(star_shop)
    page = phone_en
    sign_in(page, site.url, "alice", PASSWORD)
    response = page.goto(f"{site.url}/portal/cases/{theirs.pk}/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("This page does not exist")
    expect(page.get_by_text(theirs.reference)).to_have_count(0)
    check(page)


def test_notifications_and_the_desktop_case_list(
    site: LiveServer, desktop_en: Page, alice: User, manager: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE)
    message_post(case_id=case.pk, actor=manager, body="Your evidence is complete; we will submit tomorrow.")
    page = desktop_en
    sign_in(page, site.url, "alice", PASSWORD)
    check(page, "desktop-cases")
    page.get_by_role("link", name=re.compile("^Notifications")).click()
    check(page, "desktop-notifications")
    page.get_by_role("button", name="Open the case").first.click()
    expect(page).to_have_url(f"{site.url}/portal/cases/{case.pk}/")
