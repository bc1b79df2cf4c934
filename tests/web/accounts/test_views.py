"""Signing in and out, the password reset and the language switch (``web.accounts.views``)."""

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
    assert page.status_code == 429
    assert 0 < int(page["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    assert "Too many failed sign-in attempts" in page.content.decode()
    assert "_auth_user_id" not in page.wsgi_request.session


def test_failed_token_requests_count_against_the_page_too(browse: Callable[..., Client], with_password: User) -> None:
    api = APIClient()
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        api.post("/api/v1/auth/token/", {"username": "alice", "password": "wrong"}, format="json")
    page = browse().post("/accounts/sign-in/", {"username": "alice", "password": PASSWORD})
    assert page.status_code == 429
    assert "Too many failed sign-in attempts" in page.content.decode()


def test_the_per_address_rate_of_the_token_endpoint_applies_to_the_page(
    browse: Callable[..., Client], with_password: User, settings: Any
) -> None:
    settings.LOGIN_RATE = "3/min"
    client = browse()
    for attempt in range(3):
        client.post("/accounts/sign-in/", {"username": f"guess{attempt}", "password": "x"})
    page = client.post("/accounts/sign-in/", {"username": "alice", "password": PASSWORD})
    assert page.status_code == 429
    assert int(page["Retry-After"]) <= 60
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
