"""The front door: where ``/`` sends each person, signing in and out, the password reset, the language."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from agency.accounts.models import User

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password-9"


@pytest.fixture
def with_password(alice: User) -> User:
    alice.set_password(PASSWORD)
    alice.email = "alice@blossom.example"
    alice.save()
    return alice


def test_anonymous_visitor_is_sent_to_sign_in(browse: Callable[..., Client]) -> None:
    response = browse().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/sign-in/"


def test_client_lands_on_their_cases(browse: Callable[..., Client], alice: User) -> None:
    response = browse(alice).get("/")
    assert response["Location"] == "/portal/"


def test_staff_land_on_the_page_that_says_where_their_tools_are(browse: Callable[..., Client], manager: User) -> None:
    client = browse(manager)
    assert client.get("/")["Location"] == "/staff/"
    page = client.get("/staff/").content.decode()
    assert 'href="/api/docs/"' in page
    assert 'href="/admin/"' in page


def test_client_may_not_open_the_staff_page_nor_staff_the_portal(
    browse: Callable[..., Client], alice: User, manager: User
) -> None:
    assert browse(alice).get("/staff/").status_code == 403
    assert browse(manager).get("/portal/").status_code == 403


def test_portal_pages_ask_anonymous_visitors_to_sign_in_first(browse: Callable[..., Client]) -> None:
    response = browse().get("/portal/cases/1/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/sign-in/?next=/portal/cases/1/"


def test_signing_in_through_the_page_lands_a_client_on_their_cases_not_swagger(
    browse: Callable[..., Client], with_password: User
) -> None:
    client = browse()
    response = client.post("/accounts/sign-in/", {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/portal/"
    assert response.status_code == 200
    assert b"/api/docs/" not in response.content


def test_the_browsable_api_sign_in_also_lands_on_the_front_door(with_password: User) -> None:
    assert settings.LOGIN_REDIRECT_URL == "web:home"


def test_a_wrong_password_is_refused_beside_the_form(browse: Callable[..., Client], with_password: User) -> None:
    response = browse().post("/accounts/sign-in/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "Unable to sign in with the given username and password." in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_failed_page_sign_ins_count_against_the_token_endpoints_limit(
    browse: Callable[..., Client], with_password: User
) -> None:
    client = browse()
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        client.post("/accounts/sign-in/", {"username": "alice", "password": "wrong"})
    # The API now refuses the right password from the same address, and so does the page.
    token = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert token.status_code == 429
    page = client.post("/accounts/sign-in/", {"username": "alice", "password": PASSWORD})
    assert "Too many failed sign-in attempts" in page.content.decode()
    assert "_auth_user_id" not in page.wsgi_request.session


def test_failed_token_requests_count_against_the_page_too(browse: Callable[..., Client], with_password: User) -> None:
    api = APIClient()
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        api.post("/api/v1/auth/token/", {"username": "alice", "password": "wrong"}, format="json")
    page = browse().post("/accounts/sign-in/", {"username": "alice", "password": PASSWORD})
    assert "Too many failed sign-in attempts" in page.content.decode()


def test_the_per_address_rate_of_the_token_endpoint_applies_to_the_page(
    browse: Callable[..., Client], with_password: User, settings: Any
) -> None:
    settings.LOGIN_RATE = "3/min"
    client = browse()
    for attempt in range(3):
        client.post("/accounts/sign-in/", {"username": f"guess{attempt}", "password": "x"})
    page = client.post("/accounts/sign-in/", {"username": "alice", "password": PASSWORD})
    assert "Too many failed sign-in attempts" in page.content.decode()


def test_sign_out_is_a_post(browse: Callable[..., Client], alice: User) -> None:
    client = browse(alice)
    assert client.get("/accounts/sign-out/").status_code == 405
    response = client.post("/accounts/sign-out/")
    assert response["Location"] == "/accounts/sign-in/"
    assert client.get("/portal/").status_code == 302


def test_forgotten_password_is_reset_by_an_emailed_link(
    browse: Callable[..., Client], with_password: User, settings: Any
) -> None:
    settings.SITE_URL = "https://appeals.example.cn"
    client = browse()
    response = client.post("/accounts/password-reset/", {"email": "alice@blossom.example"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert len(mail.outbox) == 1
    link = re.search(r"https://appeals\.example\.cn(/accounts/reset/\S+/)", str(mail.outbox[0].body))
    assert link, mail.outbox[0].body
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    new_password = "another-long-password-7"
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}, follow=True
    )
    assert done.redirect_chain[-1][0] == "/accounts/reset/done/"
    signed_in = browse().post("/accounts/sign-in/", {"username": "alice", "password": new_password})
    assert signed_in.status_code == 302


def test_a_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(browse: Callable[..., Client]) -> None:
    response = browse().post("/accounts/password-reset/", {"email": "nobody@nowhere.example"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [("", "zh-Hans"), ("fr-FR,fr;q=0.9", "zh-Hans"), ("zh-CN,zh;q=0.9", "zh-Hans"), ("en-US,en;q=0.8", "en")],
)
def test_pages_speak_chinese_unless_the_browser_asks_for_english(accept_language: str, expected: str) -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE=accept_language).get("/accounts/sign-in/")
    assert f'<html lang="{expected}">' in page.content.decode()


def test_the_api_keeps_english_by_default(db: None) -> None:
    response = Client().get("/api/v1/cases/")
    assert response.json()["error"]["message"] == "Authentication credentials were not provided."


def test_the_language_switch_is_remembered_and_sets_the_users_email_language(
    browse: Callable[..., Client], alice: User
) -> None:
    client = browse(alice, language="zh-CN")
    response = client.post("/language/", {"language": "en", "next": "/portal/"})
    assert response["Location"] == "/portal/"
    assert '<html lang="en">' in client.get("/portal/").content.decode()
    alice.refresh_from_db()
    assert alice.preferred_language == "en"
    client.post("/language/", {"language": "zh-hans", "next": "/portal/"})
    assert '<html lang="zh-Hans">' in client.get("/portal/").content.decode()


def test_the_language_switch_does_not_redirect_to_another_site(browse: Callable[..., Client]) -> None:
    response = browse().post("/language/", {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_pages_carry_a_content_security_policy_without_inline_scripts(
    browse: Callable[..., Client], alice: User
) -> None:
    response = browse(alice).get("/portal/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    page = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts, "the page loads htmx and its own script"
    assert all("src=" in attributes for attributes in scripts)
    assert "style=" not in page
    assert "/static/django_htmx/htmx" in page


def test_a_form_without_its_csrf_token_is_refused(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/portal/cases/1/messages/", {"body": "hello"}).status_code == 403
    assert client.post("/portal/cases/1/uploads/", {"item": "1"}).status_code == 403
