"""Keep the one error shape for every answer under /api/, whatever part of Django produced it.

DRF's exception handler shapes the errors raised inside API views. A few answers are made
elsewhere: Django's own pages for an unknown path or a crash when DEBUG is on, a request
body past DATA_UPLOAD_MAX_MEMORY_SIZE or DATA_UPLOAD_MAX_NUMBER_FIELDS (raised while DRF
parses, but handled by Django as a SuspiciousOperation), or an error rendered by a
non-JSON renderer (the schema view's YAML). This middleware sits outermost and rewrites
any such answer into ``{"error": {"code", "message", "details"}}`` as JSON, keeping the
status and the headers a client needs (Allow, Retry-After). The browsable API's HTML
pages are left alone: they show the same error body to a person.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response

from agency.api.errors import api_error_response, is_api_path

# The rewritten answer has a body of its own; every other header of the original is kept
# (Allow, Retry-After, the security headers that SecurityMiddleware set, Content-Language).
REPLACED_HEADERS = frozenset({"content-type", "content-length", "content-disposition", "content-encoding"})


class ApiErrorShapeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not is_api_path(request.path) or _is_json(response):
            return response
        if isinstance(response, Response) and isinstance(response.accepted_renderer, BrowsableAPIRenderer):
            return response
        if isinstance(response, Response) and isinstance(response.data, dict) and "error" in response.data:
            shaped: HttpResponse = JsonResponse(response.data, status=response.status_code)
        else:
            shaped = api_error_response(response.status_code, getattr(request, "_api_exception", None))
        for header, value in response.items():
            if header.lower() not in REPLACED_HEADERS:
                shaped[header] = value
        return shaped

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Remember why a request body was refused, so the answer can say so."""
        if isinstance(exception, (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, SuspiciousOperation)):
            request._api_exception = exception  # type: ignore[attr-defined]
        return None


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip() == "application/json"
