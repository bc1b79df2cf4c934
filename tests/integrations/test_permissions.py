"""What a key's permission allows (``integrations.permissions``): a read key may only read, whatever its
principal's role could do; a read-write key writes."""

from __future__ import annotations

import pytest

from tests.cases.helpers import create_payload
from tests.integrations.helpers import key_client

pytestmark = pytest.mark.django_db


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
