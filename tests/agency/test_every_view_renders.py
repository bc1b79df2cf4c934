"""Every API path answers OPTIONS, and its browsable HTML page renders, without a server error.

A project-wide check over every app's endpoints, so it lives under tests/agency/.
The paths come from the URL patterns themselves (drf-spectacular's enumerator walks them), so
a view added later is covered without anyone listing it here. Path ids point at one real
case of each kind of record, so list pages render with rows in them, as a person browsing
the API would see them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from drf_spectacular.generators import EndpointEnumerator
from rest_framework.test import APIClient

from agency.accounts.models import User
from cases.models import Case, CaseState
from evidence.models import EvidenceItem
from tests.factories import evidence_item

ENDPOINTS = EndpointEnumerator().get_api_endpoints()
PATHS = sorted({path for path, _, _, _ in ENDPOINTS})
GET_PATHS = sorted({path for path, _, method, _ in ENDPOINTS if method == "GET"})
# Readiness answers 503 by design while a component fails (no worker or beat runs here): documented, not a crash.
NOT_READY_PATHS = {"/api/v1/health/", "/api/v1/health/ready/"}


@pytest.fixture
def concrete(case_in: Callable[..., Case], alice: User, supervisor: User) -> Callable[[str], str]:
    """Fill a path's parameters with a Blossom case in reputation recovery and its records."""
    case = case_in(CaseState.REPUTATION_RECOVERY)
    item: EvidenceItem = evidence_item(case, order=None, kind="other", uploaded_by=alice, review_state="pending")
    values = {
        "case_id": case.pk,
        "id": case.pk,
        "number": 1,
        "waiting_on": "client",
        "order_id": case.flagged_orders.first().pk,  # type: ignore[union-attr]
        "date": "2026-10-01",
        "year": 2026,
        "prefix": "nokey",
        "kind": "chat_log",  # the words that name an evidence kind in bulk uploads
    }

    def fill(path: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "pk":
                # A case's own routes take its id; other records fall back to the evidence item's.
                return str(case.pk if re.match(r"^/api/v1/(portal/)?cases/\{pk\}", path) else item.pk)
            assert name in values, f"{path}: give the parameter {name!r} a value in concrete()"
            return str(values[name])

        return re.sub(r"\{(\w+)\}", value, path)

    return fill


def _client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.raise_request_exception = False
    return client


def _who(path: str, alice: User, administrator: User) -> User:
    return alice if path.startswith("/api/v1/portal/") else administrator


@pytest.mark.parametrize("path", PATHS)
def test_options_answers_without_a_server_error(
    path: str, concrete: Callable[[str], str], alice: User, administrator: User, supervisor: User
) -> None:
    url = concrete(path)
    for user in (_who(path, alice, administrator), supervisor, alice):
        response = _client(user).options(url)
        assert response.status_code < 500, (url, user.username, response.content[:500])


@pytest.mark.parametrize("path", GET_PATHS)
def test_browsable_page_renders_for_a_user_allowed_to_see_it(
    path: str, concrete: Callable[[str], str], alice: User, administrator: User
) -> None:
    url = concrete(path)
    response = _client(_who(path, alice, administrator)).get(url, HTTP_ACCEPT="text/html")
    if path in NOT_READY_PATHS and response.status_code == 503:
        assert b"not_ready" in response.content, (url, response.content[:800])
        return
    assert response.status_code < 500, (url, response.content[:800])
    if re.fullmatch(r"/api/v1/(portal/)?cases/\{\w+\}/([\w-]+/)?", path):
        # The case's own pages exist for this user: they render, not 404.
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
    if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
        assert b"<html" in response.content[:500].lower() or b"<!doctype" in response.content[:500].lower()


def test_the_walk_covers_the_api() -> None:
    # The enumerator must see the API: an import or routing change that hid it would pass vacuously.
    assert len(PATHS) > 100
    assert "/api/v1/cases/{case_id}/assessment/" in PATHS
    assert any(path.startswith("/api/v1/portal/") for path in GET_PATHS)
