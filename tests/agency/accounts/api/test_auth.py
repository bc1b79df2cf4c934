"""Sign-in (``agency.accounts.api.auth``): API tokens, the per-user failure limit (``agency.accounts.services``,
through the token endpoint), session login with CSRF, and /auth/me/."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agency.accounts.models import User
from agency.organisations.models import Organisation

PASSWORD = "pw-for-tests"
TOKEN_URL = "/api/v1/auth/token/"
ME_URL = "/api/v1/auth/me/"


@pytest.fixture(autouse=True)
def _clean_cache(settings: Any) -> Iterator[None]:
    """Failure counters and throttle history live in the cache: each test starts with none.

    A key prefix of the test's own keeps it apart from other runs sharing a Redis cache;
    clear() is used only on the process-local cache, as on Redis it flushes the whole
    database (including other runs' broker messages when the broker shares it).
    """
    settings.CACHES = {
        name: {**config, "KEY_PREFIX": f"test-auth-{uuid.uuid4().hex}"} for name, config in settings.CACHES.items()
    }
    local = settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    if local:
        cache.clear()
    yield
    if local:
        cache.clear()


def assert_error(body: Any, code: str) -> dict[str, Any]:
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], dict)
    return error


def sign_in(client: APIClient, username: str, password: str, address: str = "127.0.0.1") -> Any:
    return client.post(TOKEN_URL, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_token_for_real_credentials_authenticates_me(alice: User) -> None:
    client = APIClient()
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"token"}
    token = response.json()["token"]
    assert token == Token.objects.get(user=alice).key

    other = APIClient()
    me = other.get(ME_URL, HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200, me.content
    body = me.json()
    assert body["username"] == "alice"
    assert body["role"] == "client"
    assert [org["name"] for org in body["organisations"]] == ["Hangzhou Blossom Trading Co."]


def test_token_is_stable_across_sign_ins(alice: User) -> None:
    first = sign_in(APIClient(), "alice", PASSWORD).json()["token"]
    second = sign_in(APIClient(), "alice", PASSWORD).json()["token"]
    assert first == second


def test_bogus_token_is_401(alice: User) -> None:
    response = APIClient().get(ME_URL, HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 401
    assert_error(response.json(), "authentication_failed")


def test_wrong_password_is_400_with_the_error_shape(alice: User) -> None:
    response = sign_in(APIClient(), "alice", "not-the-password")
    assert response.status_code == 400
    error = assert_error(response.json(), "invalid")
    assert "non_field_errors" in error["details"]["fields"]
    assert not Token.objects.filter(user=alice).exists()


def test_unknown_user_is_the_same_400_as_a_wrong_password(alice: User) -> None:
    wrong_password = sign_in(APIClient(), "alice", "not-the-password")
    unknown_user = sign_in(APIClient(), "nobody-by-this-name", "not-the-password")
    assert unknown_user.status_code == wrong_password.status_code == 400
    assert unknown_user.json() == wrong_password.json()


def test_missing_fields_are_named(db: None) -> None:
    response = APIClient().post(TOKEN_URL, {}, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 400
    error = assert_error(response.json(), "invalid")
    assert set(error["details"]["fields"]) == {"username", "password"}


def test_inactive_user_cannot_sign_in(alice: User) -> None:
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    response = sign_in(APIClient(), "alice", PASSWORD)
    assert response.status_code == 400
    assert_error(response.json(), "invalid")


def test_failure_limit_blocks_even_the_right_password(alice: User) -> None:
    assert settings.LOGIN_FAILURE_LIMIT == 5
    client = APIClient()
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        assert sign_in(client, "alice", "wrong").status_code == 400

    blocked = sign_in(client, "alice", PASSWORD)
    assert blocked.status_code == 429
    retry_after = int(blocked["Retry-After"])
    assert 0 < retry_after <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    error = assert_error(blocked.json(), "throttled")
    assert error["details"]["retry_after_seconds"] == retry_after
    assert not Token.objects.filter(user=alice).exists()


def test_one_failure_short_of_the_limit_still_signs_in(alice: User) -> None:
    client = APIClient()
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert sign_in(client, "alice", "wrong").status_code == 400
    assert sign_in(client, "alice", PASSWORD).status_code == 200


def test_block_is_per_username(alice: User, bob: User) -> None:
    client = APIClient()
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    assert sign_in(client, "bob", PASSWORD).status_code == 200


def test_block_is_per_address(alice: User) -> None:
    client = APIClient()
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in(client, "alice", "wrong", address="10.0.0.1")
    assert sign_in(client, "alice", PASSWORD, address="10.0.0.1").status_code == 429
    assert sign_in(client, "alice", PASSWORD, address="10.0.0.2").status_code == 200


def test_username_case_does_not_dodge_the_block(alice: User) -> None:
    client = APIClient()
    for attempt in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in(client, "alice" if attempt % 2 else "ALICE", "wrong")
    assert sign_in(client, "Alice", PASSWORD).status_code == 429


def test_block_lifts_after_the_window(alice: User, time_machine: time_machine.TimeMachineFixture) -> None:
    if not settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        pytest.skip("expiry on Redis is kept by the server's clock, which time_machine does not move")
    time_machine.move_to(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False)
    client = APIClient()
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in(client, "alice", "wrong")
    time_machine.shift(dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS - 1))
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    time_machine.shift(dt.timedelta(seconds=2))
    assert sign_in(client, "alice", PASSWORD).status_code == 200


def test_one_address_is_throttled_across_usernames(alice: User, settings: Any) -> None:
    """The coarse per-address limit (30 a minute) stops spraying many usernames from one place."""
    settings.LOGIN_RATE = "30/min"  # the suite's settings turn request rates off
    client = APIClient()
    for attempt in range(30):
        assert sign_in(client, f"guess{attempt}", "wrong", address="10.9.9.9").status_code == 400
    blocked = sign_in(client, "alice", PASSWORD, address="10.9.9.9")
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) <= 60
    assert sign_in(client, "alice", PASSWORD, address="10.9.9.10").status_code == 200


def test_success_resets_the_counter(alice: User) -> None:
    client = APIClient()
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT - 1):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", PASSWORD).status_code == 200

    # Without the reset, the next failure would reach the limit and block the right password.
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert sign_in(client, "alice", "wrong").status_code == 400
    assert sign_in(client, "alice", PASSWORD).status_code == 200


def test_anonymous_me_is_401(db: None) -> None:
    response = APIClient().get(ME_URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert_error(response.json(), "not_authenticated")


def test_me_for_staff_lists_no_organisations(api: Callable[..., APIClient], manager: User) -> None:
    response = api(manager).get(ME_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "manager"
    assert body["role"] == "case_manager"
    assert body["team"] == manager.team_id
    assert body["organisations"] == []


# --- Browser sessions and CSRF ------------------------------------------------------------


def csrf_client(user: User) -> APIClient:
    """A browser-like client: a real session login, CSRF enforced as in production."""
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username=user.username, password=PASSWORD)
    return client


def fetch_csrf_cookie(client: APIClient) -> str:
    """Load the browsable login page, which hands out the CSRF cookie as a browser would get it."""
    page = client.get("/api/auth/login/")
    assert page.status_code == 200
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    assert token
    return token


def test_session_post_without_csrf_token_is_refused(supervisor: User) -> None:
    client = csrf_client(supervisor)
    assert client.get(ME_URL).json()["username"] == "supervisor"

    response = client.post("/api/v1/organisations/", {"name": "No CSRF Ltd."})
    assert response.status_code == 403
    error = assert_error(response.json(), "permission_denied")
    assert "CSRF" in error["message"]
    assert not Organisation.objects.filter(name="No CSRF Ltd.").exists()


def test_session_post_with_a_wrong_csrf_token_is_refused(supervisor: User) -> None:
    client = csrf_client(supervisor)
    fetch_csrf_cookie(client)
    response = client.post("/api/v1/organisations/", {"name": "Forged Ltd."}, HTTP_X_CSRFTOKEN="x" * 32)
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]
    assert not Organisation.objects.filter(name="Forged Ltd.").exists()


def test_session_post_with_csrf_token_is_accepted(supervisor: User) -> None:
    client = csrf_client(supervisor)
    token = fetch_csrf_cookie(client)
    response = client.post("/api/v1/organisations/", {"name": "With CSRF Ltd."}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content
    assert Organisation.objects.filter(name="With CSRF Ltd.").count() == 1


def test_browser_login_form_then_csrf_protected_post(supervisor: User) -> None:
    """The whole browser path: login form (itself CSRF-protected), then an API write."""
    client = APIClient(enforce_csrf_checks=True)
    token = fetch_csrf_cookie(client)
    login = client.post(
        "/api/auth/login/",
        {"username": "supervisor", "password": PASSWORD, "csrfmiddlewaretoken": token},
        format="multipart",
    )
    assert login.status_code == 302, login.content
    assert settings.SESSION_COOKIE_NAME in client.cookies
    # Signing in rotates the CSRF secret: the browser uses the fresh cookie from then on.
    fresh = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post("/api/v1/organisations/", {"name": "Form Login Ltd."}, HTTP_X_CSRFTOKEN=fresh)
    assert response.status_code == 201, response.content


def test_token_requests_need_no_csrf_token(supervisor: User) -> None:
    token = sign_in(APIClient(), "supervisor", PASSWORD).json()["token"]
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/api/v1/organisations/", {"name": "Token Ltd."}, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 201, response.content
