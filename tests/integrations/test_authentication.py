"""The Api-Key scheme (``integrations.authentication``): a key acts as its principal, scoped to its
organisation; a malformed, unknown, wrong or expired key is a 401; its last use is written at most once a minute."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.api_keys import api_key_create
from integrations.models import ApiKey
from tests.integrations.helpers import URL, key_client

pytestmark = pytest.mark.django_db


def test_organisation_key_sees_only_its_organisation(blossom_key, make_case, blossom_shop, star_shop):
    _key, plaintext = blossom_key
    mine = make_case(blossom_shop)
    theirs = make_case(star_shop)
    client = key_client(plaintext)
    response = client.get("/api/v1/portal/cases/")
    assert response.status_code == 200
    assert [row["id"] for row in response.data["results"]] == [mine.pk]
    assert client.get(f"/api/v1/portal/cases/{mine.pk}/").status_code == 200
    assert client.get(f"/api/v1/portal/cases/{theirs.pk}/").status_code == 404
    # A client principal is not staff.
    assert client.get("/api/v1/cases/").status_code == 403


@pytest.mark.parametrize(
    "header",
    [
        "Api-Key",
        "Api-Key a b",
        "Api-Key nodot",
        "Api-Key WRONGPFX.secret",
    ],
)
def test_malformed_or_unknown_key_is_401(blossom_key, header):
    response = APIClient().get("/api/v1/portal/cases/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.data["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"]


def test_wrong_secret_is_401(blossom_key):
    key, plaintext = blossom_key
    assert key_client(f"{key.prefix}.{'x' * 32}").get("/api/v1/portal/cases/").status_code == 401
    assert key_client(plaintext).get("/api/v1/portal/cases/").status_code == 200


def test_expired_key_is_401(administrator, blossom, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC), tick=False)
    _key, plaintext = api_key_create(
        actor=administrator,
        name="Short-lived",
        organisation_id=blossom.pk,
        permission="read",
        expiry_date=timezone.now() + dt.timedelta(hours=1),
    )
    assert key_client(plaintext).get("/api/v1/portal/cases/").status_code == 200
    time_machine.move_to(dt.datetime(2026, 11, 24, 10, 1, tzinfo=dt.UTC), tick=False)
    response = key_client(plaintext).get("/api/v1/portal/cases/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"]


def test_last_used_at_is_written_at_most_once_a_minute(blossom_key, time_machine):
    key, plaintext = blossom_key
    start = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    client = key_client(plaintext)
    client.get("/api/v1/auth/me/")
    assert ApiKey.objects.get(pk=key.pk).last_used_at == start

    time_machine.move_to(start + dt.timedelta(seconds=30), tick=False)
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/auth/me/")
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert ApiKey.objects.get(pk=key.pk).last_used_at == start

    time_machine.move_to(start + dt.timedelta(seconds=61), tick=False)
    client.get("/api/v1/auth/me/")
    assert ApiKey.objects.get(pk=key.pk).last_used_at == start + dt.timedelta(seconds=61)

    shown = APIClient()
    shown.force_authenticate(key.created_by)
    assert shown.get(f"{URL}{key.prefix}/").data["last_used_at"] is not None


def test_me_shows_the_principal(blossom_key, blossom):
    key, plaintext = blossom_key
    body = key_client(plaintext).get("/api/v1/auth/me/").data
    assert body["username"] == key.principal.username
    assert body["role"] == "client"
    assert body["organisations"] == [{"id": blossom.pk, "name": blossom.name}]
