"""The one error contract: every API error is {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults as django_defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from agency.errors import DomainError


def error_body(code: str, message: Any, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def _flatten(detail: Any) -> Any:
    """Turn DRF's ErrorDetail trees into plain strings, keeping the field structure."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        if not isinstance(fields, dict):
            fields = {"non_field_errors": fields}
        response.data = error_body("invalid", _("The request has invalid fields."), {"fields": fields})
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response

    if isinstance(exc, exceptions.APIException):
        details: dict[str, Any] = {}
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            details["retry_after_seconds"] = int(wait)
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = error_body(code, _flatten(exc.detail), details)
    return response


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django-level 404s (no route matched) keep the API's error shape under /api/."""
    if _wants_json(request):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return django_defaults.page_not_found(request, exception or Http404())


def server_error(request: HttpRequest) -> HttpResponse:
    """An unexpected failure still answers in the API's error shape, without internals."""
    if _wants_json(request):
        return JsonResponse(error_body("server_error", _("Something went wrong on our side.")), status=500)
    return django_defaults.server_error(request)
