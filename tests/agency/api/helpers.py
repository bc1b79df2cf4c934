"""Helpers the tests of the API's shared parts (agency/api/) use."""

from __future__ import annotations

from typing import Any


def field_errors(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "invalid", body
    fields: dict[str, Any] = body["details"]["fields"]
    return fields
