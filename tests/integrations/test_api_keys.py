"""API keys: the administrators' endpoints, the Api-Key scheme, scopes and read-only keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from agency.accounts.models import Role, User
from agency.errors import InvalidInput, NotAllowed
from casework import services as case_services
from integrations.api_keys import api_key_create, api_key_revoke
from integrations.models import ApiKey
from tests.cases.helpers import create_payload

pytestmark = pytest.mark.django_db

URL = "/api/v1/api-keys/"


def key_client(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plaintext}")
    return client


@pytest.fixture
def blossom_key(administrator: User, blossom: Any) -> tuple[ApiKey, str]:
    return api_key_create(actor=administrator, name="Blossom ERP", organisation_id=blossom.pk, permission="read")


@pytest.fixture
def agency_read_key(administrator: User) -> tuple[ApiKey, str]:
    return api_key_create(actor=administrator, name="BI export", organisation_id=None, permission="read")


@pytest.fixture
def agency_write_key(administrator: User) -> tuple[ApiKey, str]:
    return api_key_create(actor=administrator, name="Intake bot", organisation_id=None, permission="read_write")


# --- Services ----------------------------------------------------------------------------


def test_create_makes_a_hashed_key_and_its_principal(administrator, blossom, blossom_key):
    key, plaintext = blossom_key
    prefix, dot, secret = plaintext.partition(".")
    assert dot
    assert prefix == key.prefix
    assert len(secret) >= 32
    stored = ApiKey.objects.get(pk=key.pk)
    assert plaintext not in stored.hashed_key
    assert plaintext not in stored.id
    assert stored.hashed_key.startswith("sha512$$")
    assert stored.created_by == administrator
    principal = stored.principal
    assert principal.username == f"apikey-{key.prefix}"
    assert principal.display_name == "Blossom ERP"
    assert principal.role == Role.CLIENT
    assert not principal.has_usable_password()
    assert list(principal.memberships.values_list("organisation_id", flat=True)) == [blossom.pk]


def test_agency_wide_key_acts_as_a_supervisor(agency_read_key):
    key, _plaintext = agency_read_key
    assert key.principal.role == Role.SUPERVISOR
    assert not key.principal.memberships.exists()


@pytest.mark.parametrize("role_user", ["supervisor", "manager", "alice"])
def test_only_administrators_create_keys(request, role_user):
    with pytest.raises(NotAllowed):
        api_key_create(actor=request.getfixturevalue(role_user), name="x", organisation_id=None, permission="read")


def test_create_names_every_invalid_field(administrator):
    with pytest.raises(InvalidInput) as raised:
        api_key_create(
            actor=administrator,
            name=" ",
            organisation_id=999_999,
            permission="admin",
            expiry_date=timezone.now() - dt.timedelta(days=1),
        )
    assert set(raised.value.details["fields"]) == {"name", "organisation", "permission", "expiry_date"}
    assert not ApiKey.objects.exists()


def test_revoke_deactivates_the_principal_and_is_idempotent(administrator, blossom_key):
    key, _plaintext = blossom_key
    revoked = api_key_revoke(actor=administrator, key_id=key.prefix)
    assert revoked.revoked
    assert revoked.revoked_at is not None
    key.principal.refresh_from_db()
    assert not key.principal.is_active
    again = api_key_revoke(actor=administrator, key_id=key.prefix)
    assert again.revoked_at == revoked.revoked_at


def test_a_principal_cannot_get_a_token_or_be_assigned(
    api, administrator, agency_write_key, make_case, blossom_shop, supervisor
):
    key, _plaintext = agency_write_key
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": key.principal.username, "password": ""}, format="json"
    )
    assert response.status_code == 400
    case = make_case(blossom_shop)
    with pytest.raises(InvalidInput) as raised:
        case_services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=key.principal.pk)
    assert "assignee" in raised.value.details["fields"]


# --- Administrators' endpoints -----------------------------------------------------------


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


# --- Authentication ----------------------------------------------------------------------


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


def test_agency_read_key_reads_but_may_not_write(agency_read_key, make_case, blossom_shop):
    _key, plaintext = agency_read_key
    make_case(blossom_shop)
    client = key_client(plaintext)
    assert client.get("/api/v1/cases/").data["count"] == 1
    response = client.post("/api/v1/cases/", create_payload(blossom_shop), format="json")
    assert response.status_code == 403
    assert response.data["error"]["code"] == "permission_denied"


def test_read_write_agency_key_creates_a_case(agency_write_key, blossom_shop):
    key, plaintext = agency_write_key
    response = key_client(plaintext).post("/api/v1/cases/", create_payload(blossom_shop), format="json")
    assert response.status_code == 201, response.data
    assert response.data["created_by"]["username"] == key.principal.username


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
