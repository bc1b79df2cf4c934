"""OpenAPI pieces shared by every endpoint: the error shape and the statuses that use it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.DictField(),
            },
        )
    },
)

# Statuses beyond those AgencyAutoSchema adds by itself (400, 401, 403, 404, 429).
CONFLICT_RESPONSES = {
    409: OpenApiResponse(
        ErrorSerializer, description="Not possible in the case's current state, or it changed meanwhile."
    ),
}
TRANSITION_RESPONSES = {
    400: OpenApiResponse(
        ErrorSerializer,
        description="Invalid input (details.fields), or unmet conditions: all listed in details.unmet_conditions.",
    ),
    **CONFLICT_RESPONSES,
}

_DEFAULT_DESCRIPTIONS = {
    "400": "Invalid input; details.fields names each field and the reason.",
    "401": "Not signed in.",
    "403": "Signed in, but this role may not do this.",
    "404": "Not found, or not visible to the caller.",
    "406": "The format asked for (?format= or Accept) is not one this endpoint offers.",
    "415": "The request body's content type is not one this endpoint reads.",
    "429": "Too many requests; Retry-After says when to try again.",
}


class AgencyAutoSchema(AutoSchema):
    """Documents the error contract on every operation, not only where a view lists it.

    Which statuses apply is read off the view and the operation: 401 and 403 wherever
    authentication is used, 404 on paths with an id and on paginated lists (a page past
    the last), 400 on writes and on every read that takes query parameters (filters and
    pagination are read strictly), 406 where a ?format= parameter offers alternatives, 415
    on every operation with a request body (a body in a type it does not read),
    429 where a throttle is set. Statuses a view declares itself (such as 409) are kept.
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        query = {parameter["name"] for parameter in operation.get("parameters", []) if parameter.get("in") == "query"}
        codes = []
        if query:
            codes.append("400")
        if "format" in query:
            codes.append("406")
        if operation.get("requestBody"):
            codes.append("415")
        if self.method == "GET" and self._is_list_view() and self._get_paginator() is not None:
            codes.append("404")
        responses = operation.setdefault("responses", {})
        for code in codes:
            if code not in responses:
                response = OpenApiResponse(ErrorSerializer, description=_DEFAULT_DESCRIPTIONS[code])
                responses[code] = self._get_response_for_code(response, code)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = []
        filtered_list = self.method == "GET" and self._is_list_view() and bool(self.get_filter_backends())
        if self.method in ("POST", "PUT", "PATCH") or filtered_list:
            codes.append("400")
        if self.view.get_authenticators():
            codes += ["401", "403"]
        if "{" in self.path:
            codes.append("404")
        if getattr(self.view, "throttle_classes", None):
            codes.append("429")
        for code in codes:
            if code not in responses:
                response = OpenApiResponse(ErrorSerializer, description=_DEFAULT_DESCRIPTIONS[code])
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses
