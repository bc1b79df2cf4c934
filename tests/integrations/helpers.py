"""Helpers the integrations tests share: a webhook receiver, subscribing it, and checking a delivery's signature."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from pytest_httpserver import HTTPServer
from rest_framework.test import APIClient
from werkzeug import Request, Response

from agency.accounts.models import User
from integrations import webhooks
from integrations.models import WebhookSubscription

SECRET = "whsec_test-secret-0123456789"


class Receiver:
    """Answers with the next status in ``statuses`` (the last one repeats) and keeps what came."""

    def __init__(self, server: HTTPServer, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [200])
        self.requests: list[tuple[int, dict[str, str], bytes]] = []
        server.expect_request("/hook", method="POST").respond_with_handler(self.handle)
        self.url = server.url_for("/hook")

    def handle(self, request: Request) -> Response:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        self.requests.append((status, dict(request.headers), request.get_data()))
        return Response("ok" if status < 300 else "no", status=status, headers={"Location": "https://example.com/"})

    def bodies(self, *, ok_only: bool = False) -> list[dict[str, Any]]:
        return [json.loads(body) for status, _, body in self.requests if not ok_only or status < 300]


def subscribe(administrator: User, url: str, **kwargs: Any) -> WebhookSubscription:
    return webhooks.webhook_subscription_create(actor=administrator, url=url, secret=SECRET, **kwargs)


def verify(headers: dict[str, str], body: bytes, secret: str = SECRET) -> bool:
    """What the README tells receivers to do."""
    expected = hmac.new(secret.encode(), headers["Webhook-Timestamp"].encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(headers["Webhook-Signature"], "v1=" + expected.hexdigest())


URL = "/api/v1/api-keys/"


def key_client(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plaintext}")
    return client
