"""How the OpenAPI document describes API-key authentication."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "integrations.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "An API key an administrator created, sent as `Authorization: Api-Key <key>` "
                "(the key is `<prefix>.<secret>`). A key scoped to an organisation sees exactly what "
                "that organisation's users see in the portal; an agency-wide key sees every case. "
                "A read key may only use GET, HEAD and OPTIONS. Requests per key are rate-limited "
                "(429 with Retry-After)."
            ),
        }
