"""Fixtures for the pages: a browser-like client signed in as someone, reading English or Chinese."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from agency.accounts.models import User


@pytest.fixture
def browse() -> Callable[..., Client]:
    """A test client as ``user`` (or anonymous) whose browser prefers ``language``."""

    def client_for(user: User | None = None, *, language: str = "en") -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        if user is not None:
            client.force_login(user)
        return client

    return client_for
