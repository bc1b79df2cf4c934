"""Rate limits: per API key and per user, separate counters, 429 with Retry-After in the error shape."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from agency.accounts.models import User
from integrations.api_keys import api_key_create
from integrations.throttling import parse_rate

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me/"
START = dt.datetime(2026, 11, 24, 9, 0, 10, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fresh_counters(time_machine) -> Iterator[None]:
    time_machine.move_to(START, tick=False)
    cache.clear()
    yield
    cache.clear()


def key_client(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plaintext}")
    return client


def test_parse_rate() -> None:
    assert parse_rate("600/min") == (600, 60)
    assert parse_rate("5/s") == (5, 1)
    assert parse_rate("100/hour") == (100, 3600)
    assert parse_rate(None) is None
    assert parse_rate("") is None


@override_settings(API_KEY_RATE_LIMIT="3/min", USER_RATE_LIMIT="100/min")
def test_key_past_its_limit_gets_429_with_retry_after(administrator: User, time_machine) -> None:
    _key, plaintext = api_key_create(actor=administrator, name="busy", organisation_id=None, permission="read")
    client = key_client(plaintext)
    for _ in range(3):
        assert client.get(ME).status_code == 200
    response = client.get(ME)
    assert response.status_code == 429
    assert response["Retry-After"] == "50"  # the window ends at 09:01:00
    assert response.data["error"]["code"] == "throttled"
    assert response.data["error"]["details"] == {"retry_after_seconds": 50}
    assert response.data["error"]["message"]

    time_machine.move_to(START + dt.timedelta(seconds=51), tick=False)
    assert client.get(ME).status_code == 200


@override_settings(API_KEY_RATE_LIMIT="2/min", USER_RATE_LIMIT="2/min")
def test_keys_and_users_count_separately(administrator: User, supervisor: User) -> None:
    _first, first_plain = api_key_create(actor=administrator, name="one", organisation_id=None, permission="read")
    _second, second_plain = api_key_create(actor=administrator, name="two", organisation_id=None, permission="read")
    first = key_client(first_plain)
    for _ in range(2):
        assert first.get(ME).status_code == 200
    assert first.get(ME).status_code == 429

    # Another key and a person have their own buckets.
    assert key_client(second_plain).get(ME).status_code == 200
    person = APIClient()
    person.force_authenticate(supervisor)
    for _ in range(2):
        assert person.get(ME).status_code == 200
    assert person.get(ME).status_code == 429
    # The administrator who made the keys is not throttled by them.
    admin = APIClient()
    admin.force_authenticate(administrator)
    assert admin.get(ME).status_code == 200


@override_settings(API_KEY_RATE_LIMIT=None, USER_RATE_LIMIT=None)
def test_no_limit_when_unset(supervisor: User) -> None:
    person = APIClient()
    person.force_authenticate(supervisor)
    for _ in range(5):
        assert person.get(ME).status_code == 200


@override_settings(USER_RATE_LIMIT="1/min")
def test_anonymous_requests_are_not_counted_per_user() -> None:
    for _ in range(3):
        assert APIClient().get(ME).status_code == 401
