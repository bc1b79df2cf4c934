"""Fixtures the integrations tests share: API keys for one organisation and for the whole agency."""

from __future__ import annotations

from typing import Any

import pytest

from agency.accounts.models import User
from integrations.api_keys import api_key_create
from integrations.models import ApiKey


@pytest.fixture
def blossom_key(administrator: User, blossom: Any) -> tuple[ApiKey, str]:
    return api_key_create(actor=administrator, name="Blossom ERP", organisation_id=blossom.pk, permission="read")


@pytest.fixture
def agency_read_key(administrator: User) -> tuple[ApiKey, str]:
    return api_key_create(actor=administrator, name="BI export", organisation_id=None, permission="read")


@pytest.fixture
def agency_write_key(administrator: User) -> tuple[ApiKey, str]:
    return api_key_create(actor=administrator, name="Intake bot", organisation_id=None, permission="read_write")
