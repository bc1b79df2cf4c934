"""Webhook subscriptions and their delivery log over the API (``integrations.api.webhooks``): administrators
only, and the document describes the payload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from rest_framework.test import APIClient

from agency.accounts.models import User
from agency.organisations.models import Organisation, Shop
from cases.models import Case
from integrations import webhooks
from integrations.models import WebhookDelivery, WebhookSubscription
from tests.integrations.helpers import SECRET, Receiver, subscribe

pytestmark = pytest.mark.django_db


def test_an_administrator_manages_subscriptions(administrator: User, api: Any, blossom: Organisation) -> None:
    client: APIClient = api(administrator)
    response = client.post(
        "/api/v1/webhooks/",
        {"url": "https://hooks.example.com/in", "events": ["case.created"], "organisation": blossom.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["case.created"]
    assert created["organisation"] == blossom.pk
    assert created["active"] is True
    pk = created["id"]

    shown = client.get(f"/api/v1/webhooks/{pk}/").json()
    assert "secret" not in shown
    assert all("secret" not in row for row in client.get("/api/v1/webhooks/").json()["results"])

    response = client.patch(
        f"/api/v1/webhooks/{pk}/", {"active": False, "events": [], "description": "ERP"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["active"], response.json()["events"], response.json()["description"]) == (
        False,
        [],
        "ERP",
    )

    assert client.delete(f"/api/v1/webhooks/{pk}/").status_code == 204
    assert client.get(f"/api/v1/webhooks/{pk}/").status_code == 404


def test_a_given_secret_is_kept(administrator: User, api: Any) -> None:
    response = api(administrator).post(
        "/api/v1/webhooks/", {"url": "https://hooks.example.com/in", "secret": SECRET}, format="json"
    )
    assert response.json()["secret"] == SECRET
    assert WebhookSubscription.objects.get().secret == SECRET


def test_unknown_event_types_are_refused(administrator: User, api: Any) -> None:
    client: APIClient = api(administrator)
    response = client.post(
        "/api/v1/webhooks/", {"url": "https://hooks.example.com/in", "events": ["case.exploded"]}, format="json"
    )
    assert response.status_code == 400
    assert "events" in response.json()["error"]["details"]["fields"]
    subscription = subscribe(administrator, "https://hooks.example.com/in")
    response = client.patch(f"/api/v1/webhooks/{subscription.pk}/", {"events": ["nope"]}, format="json")
    assert response.status_code == 400
    assert "events" in response.json()["error"]["details"]["fields"]


def test_deleting_a_subscription_removes_its_deliveries(
    httpserver: HTTPServer, administrator: User, make_case: Callable[..., Case], blossom_shop: Shop, api: Any
) -> None:
    subscription = subscribe(administrator, Receiver(httpserver).url)
    make_case(blossom_shop, orders=0)
    webhooks.dispatch()
    assert api(administrator).delete(f"/api/v1/webhooks/{subscription.pk}/").status_code == 204
    assert not WebhookDelivery.objects.exists()


def test_the_delivery_log_lists_status_code_and_latency(
    httpserver: HTTPServer,
    administrator: User,
    make_case: Callable[..., Case],
    blossom_shop: Shop,
    api: Any,
    django_assert_num_queries: Any,
) -> None:
    receiver = Receiver(httpserver, [500, 200])
    subscription = subscribe(administrator, receiver.url)
    client: APIClient = api(administrator)
    make_case(blossom_shop, orders=0)
    webhooks.dispatch()  # one failure: pending
    make_case(blossom_shop, orders=0)
    webhooks.dispatch()  # the other case's event goes through

    url = f"/api/v1/webhooks/{subscription.pk}/deliveries/"
    rows = client.get(url).json()["results"]
    assert len(rows) == 2
    by_status = {row["status"]: row for row in rows}
    assert by_status["pending"]["last_status_code"] == 500
    assert by_status["pending"]["last_error"] == "HTTP 500"
    assert by_status["delivered"]["last_status_code"] == 200
    assert by_status["delivered"]["last_latency_ms"] is not None
    assert by_status["delivered"]["event_type"] == "case.created"
    assert by_status["delivered"]["delivered_at"] is not None
    assert [row["status"] for row in client.get(url, {"status": "delivered"}).json()["results"]] == ["delivered"]
    assert client.get(url, {"status": "lost"}).status_code == 400

    # The same number of queries for one row as for many: the subscription, the count, the page.
    with django_assert_num_queries(3):
        assert len(client.get(url, {"page_size": 1}).json()["results"]) == 1
    for _ in range(3):
        make_case(blossom_shop, orders=0)
    webhooks.dispatch()
    with django_assert_num_queries(3):
        assert len(client.get(url).json()["results"]) == 5


@pytest.mark.parametrize("role", ["manager", "supervisor", "reviewer", "intake", "alice"])
def test_only_administrators_reach_webhooks(
    role: str, request: pytest.FixtureRequest, administrator: User, api: Any
) -> None:
    user: User = request.getfixturevalue(role)
    subscription = subscribe(administrator, "https://hooks.example.com/in")
    client: APIClient = api(user)
    assert client.get("/api/v1/webhooks/").status_code == 403
    assert client.post("/api/v1/webhooks/", {"url": "https://x.example.com/"}, format="json").status_code == 403
    assert client.get(f"/api/v1/webhooks/{subscription.pk}/").status_code == 403
    assert client.patch(f"/api/v1/webhooks/{subscription.pk}/", {"active": False}, format="json").status_code == 403
    assert client.delete(f"/api/v1/webhooks/{subscription.pk}/").status_code == 403
    assert client.get(f"/api/v1/webhooks/{subscription.pk}/deliveries/").status_code == 403
    assert client.post("/api/v1/webhook-deliveries/1/resend/").status_code == 403
    assert WebhookSubscription.objects.get().active is True


def test_anonymous_callers_are_asked_to_sign_in(administrator: User, api: Any) -> None:
    subscription = subscribe(administrator, "https://hooks.example.com/in")
    client: APIClient = api(None)
    assert client.get("/api/v1/webhooks/").status_code == 401
    assert client.get(f"/api/v1/webhooks/{subscription.pk}/deliveries/").status_code == 401
    assert client.post("/api/v1/webhook-deliveries/1/resend/").status_code == 401


def test_unknown_ids_are_404(administrator: User, api: Any) -> None:
    client: APIClient = api(administrator)
    assert client.get("/api/v1/webhooks/999/").status_code == 404
    assert client.get("/api/v1/webhooks/999/deliveries/").status_code == 404
    assert client.post("/api/v1/webhook-deliveries/999/resend/").status_code == 404


def test_the_schema_documents_the_webhook_payload(administrator: User, api: Any) -> None:
    schema = api(administrator).get("/api/schema/", {"format": "json"}).json()
    payload = schema["components"]["schemas"]["WebhookEvent"]
    assert set(payload["properties"]) == {"id", "type", "occurred_at", "sequence", "case", "data"}
    create = schema["paths"]["/api/v1/webhooks/"]["post"]
    assert "event" in create["callbacks"]
