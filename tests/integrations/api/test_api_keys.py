"""The administrators' endpoints for API keys (``integrations.api.api_keys``): create (the plaintext shown once),
list, read, revoke; nobody else, not even an agency key, manages keys."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from integrations.api_keys import api_key_create
from integrations.models import ApiKey
from tests.integrations.helpers import URL, key_client

pytestmark = pytest.mark.django_db


def test_post_shows_the_key_once(api, administrator, blossom):
    response = api(administrator).post(
        URL, {"name": "Blossom ERP", "organisation": blossom.pk, "permission": "read_write"}, format="json"
    )
    assert response.status_code == 201, response.data
    body = response.data
    plaintext = body["key"]
    assert plaintext.startswith(body["prefix"] + ".")
    assert body["organisation"] == {"id": blossom.pk, "name": blossom.name}
    assert body["scope"] == "organisation"
    assert body["permission"] == "read_write"
    assert body["created_by"]["username"] == "administrator"
    assert body["revoked"] is False
    assert body["last_used_at"] is None

    listed = api(administrator).get(URL)
    assert listed.status_code == 200
    assert [row["prefix"] for row in listed.data["results"]] == [body["prefix"]]
    assert "key" not in listed.data["results"][0]
    detail = api(administrator).get(f"{URL}{body['prefix']}/")
    assert detail.status_code == 200
    assert "key" not in detail.data
    assert plaintext not in str(listed.content) + str(detail.content)


def test_post_reports_invalid_fields(api, administrator):
    response = api(administrator).post(URL, {"name": "x" * 51, "organisation": 999_999, "permission": "admin"})
    assert response.status_code == 400
    assert set(response.data["error"]["details"]["fields"]) == {"name", "permission"}

    response = api(administrator).post(URL, {"name": "ok", "organisation": 999_999, "permission": "read"})
    assert response.status_code == 400
    assert set(response.data["error"]["details"]["fields"]) == {"organisation"}

    response = api(administrator).post(URL, {"permission": "read"})
    assert response.status_code == 400
    assert set(response.data["error"]["details"]["fields"]) == {"name"}


def test_revoke_endpoint(api, administrator, blossom_key):
    key, plaintext = blossom_key
    response = api(administrator).post(f"{URL}{key.prefix}/revoke/")
    assert response.status_code == 200, response.data
    assert response.data["revoked"] is True
    assert response.data["revoked_at"]
    assert key_client(plaintext).get("/api/v1/portal/cases/").status_code == 401


@pytest.mark.parametrize("role_user", ["supervisor", "manager", "intake", "alice"])
def test_other_roles_get_403(api, request, role_user, blossom_key):
    key, _plaintext = blossom_key
    client = api(request.getfixturevalue(role_user))
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{key.prefix}/").status_code == 403
    assert client.post(URL, {"name": "x", "permission": "read"}).status_code == 403
    assert client.post(f"{URL}{key.prefix}/revoke/").status_code == 403
    assert not ApiKey.objects.get(pk=key.pk).revoked


def test_anonymous_gets_401(blossom_key):
    key, _plaintext = blossom_key
    client = APIClient()
    assert client.get(URL).status_code == 401
    assert client.post(f"{URL}{key.prefix}/revoke/").status_code == 401


def test_unknown_key_is_404(api, administrator):
    assert api(administrator).get(f"{URL}NOSUCHKY/").status_code == 404
    assert api(administrator).post(f"{URL}NOSUCHKY/revoke/").status_code == 404


def test_an_agency_key_cannot_manage_keys(agency_write_key):
    _key, plaintext = agency_write_key
    assert key_client(plaintext).get(URL).status_code == 403


@pytest.mark.parametrize("size", [1, 4])
def test_list_query_count(api, administrator, blossom, django_assert_num_queries, size):
    for index in range(size):
        api_key_create(actor=administrator, name=f"k{index}", organisation_id=blossom.pk, permission="read")
    client = api(administrator)
    with django_assert_num_queries(2):  # count, page (organisation and creator joined)
        response = client.get(URL)
    assert response.data["count"] == size
