"""API keys (``integrations.api_keys``): making one (with the user it acts as) and revoking it. The
administrators' endpoints, the Api-Key scheme and read-only keys are tests/integrations/api/test_api_keys.py's,
test_authentication.py's and test_permissions.py's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agency.accounts.models import Role
from agency.errors import InvalidInput, NotAllowed
from casework import services as case_services
from integrations.api_keys import api_key_create, api_key_revoke
from integrations.models import ApiKey

pytestmark = pytest.mark.django_db


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
