"""Every way in is guarded (``agency.accounts.views``, ``agency.accounts.forms``): the admin's
login and the browsable API's session login count failures per user and address with the
token endpoint (the same limiter, the same keys) and refuse past the limit with 429 and
Retry-After, even the right password."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from rest_framework.test import APIClient

from agency.accounts.forms import AdminSignInForm
from agency.accounts.models import Role, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests"
ADMIN_LOGIN = "/admin/login/"
API_LOGIN = "/api/auth/login/"
TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def root(db: None) -> User:
    return UserFactory.create(username="root", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)


def browser() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def admin_sign_in(client: Client, username: str, password: str, address: str = "127.0.0.1") -> Any:
    data = {"username": username, "password": password, "next": "/admin/"}
    return client.post(ADMIN_LOGIN, data, REMOTE_ADDR=address)


def api_sign_in(client: Client, username: str, password: str, address: str = "127.0.0.1") -> Any:
    return client.post(API_LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def token(username: str, password: str, address: str = "127.0.0.1") -> Any:
    return APIClient().post(TOKEN_URL, {"username": username, "password": password}, REMOTE_ADDR=address)


def assert_refused(response: Any) -> None:
    assert response.status_code == 429, response.content
    assert 0 < int(response["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    assert "Too many failed sign-in attempts. Try again later." in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_the_admin_checks_credentials_with_the_guarded_form():
    assert admin.site.login_form is AdminSignInForm


def test_the_admin_login_signs_a_superuser_in(root):
    client = browser()
    response = admin_sign_in(client, "root", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_admin_login_still_refuses_a_non_staff_user_with_the_right_password(alice):
    response = admin_sign_in(browser(), "alice", PASSWORD)
    assert response.status_code == 200
    assert "staff account" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_the_admin_login_refuses_with_429_past_the_limit_even_the_right_password(root):
    client = browser()
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        failed = admin_sign_in(client, "root", "wrong")
        assert failed.status_code == 200
        assert "Please enter the correct username and password" in failed.content.decode()

    assert_refused(admin_sign_in(client, "root", PASSWORD))
    assert client.get("/admin/").status_code == 302  # still not signed in
    # The count is per user and address: root from elsewhere, or another user, gets in.
    assert admin_sign_in(browser(), "root", PASSWORD, address="10.0.0.2").status_code == 302


def test_one_failure_short_of_the_limit_the_admin_login_still_signs_in(root):
    client = browser()
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT - 1):
        admin_sign_in(client, "root", "wrong")
    assert admin_sign_in(client, "root", PASSWORD).status_code == 302


def test_admin_login_failures_count_against_the_token_endpoint(root):
    client = browser()
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        admin_sign_in(client, "root", "wrong")
    blocked = token("root", PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0


def test_token_endpoint_failures_count_against_the_admin_login(root):
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        assert token("root", "wrong").status_code == 400
    assert_refused(admin_sign_in(browser(), "root", PASSWORD))


def test_the_per_address_rate_applies_to_the_admin_login(root, settings):
    settings.LOGIN_RATE = "3/min"
    client = browser()
    for attempt in range(3):
        admin_sign_in(client, f"guess{attempt}", "wrong")
    blocked = admin_sign_in(client, "root", PASSWORD)
    assert_refused(blocked)
    assert int(blocked["Retry-After"]) <= 60
    assert admin_sign_in(browser(), "root", PASSWORD, address="10.0.0.2").status_code == 302


def test_the_browsable_api_login_signs_in(root):
    client = browser()
    response = api_sign_in(client, "root", PASSWORD)
    assert response.status_code == 302
    assert client.get("/api/v1/auth/me/", HTTP_ACCEPT="application/json").json()["username"] == "root"


def test_the_browsable_api_login_shares_the_limit(root):
    client = browser()
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        assert api_sign_in(client, "root", "wrong").status_code == 200
    assert_refused(api_sign_in(client, "root", PASSWORD))
    assert token("root", PASSWORD).status_code == 429
    assert_refused(admin_sign_in(browser(), "root", PASSWORD))
