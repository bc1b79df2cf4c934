"""The one error contract: every API error is {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
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


# Under /api/, pages for people: the Swagger UI and the browsable API's sign-in form.
_API_PAGES = ("/api/docs/", "/api/auth/")


def is_api_path(path: str) -> bool:
    """Everything under /api/ answers errors in the one JSON shape, except the pages for people."""
    return path.startswith("/api/") and not path.startswith(_API_PAGES)


# What each status means when Django, not an API view, produced the answer.
_STATUS_ERRORS: dict[int, tuple[str, Any]] = {
    400: ("bad_request", gettext_lazy("The request could not be read.")),
    401: ("not_authenticated", gettext_lazy("Authentication credentials were not provided.")),
    403: ("permission_denied", gettext_lazy("You do not have permission to do this.")),
    404: ("not_found", gettext_lazy("Not found.")),
    405: ("method_not_allowed", gettext_lazy("This method is not allowed here.")),
    406: ("not_acceptable", gettext_lazy("The requested response format is not available.")),
    413: ("request_too_large", gettext_lazy("The request is too large.")),
    415: ("unsupported_media_type", gettext_lazy("This content type is not supported.")),
    429: ("throttled", gettext_lazy("Too many requests.")),
    500: ("server_error", gettext_lazy("Something went wrong on our side.")),
}


def _refusal(exception: Exception | None) -> tuple[str, Any] | None:
    """The code and message for a request body Django refused before any field was read."""
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        return "request_too_large", _("The request body is larger than the limit of %(limit)d bytes.") % {
            "limit": limit
        }
    if isinstance(exception, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS or 0
        return "too_many_fields", _("The request has more than %(limit)d fields.") % {"limit": limit}
    if isinstance(exception, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES or 0
        return "too_many_files", _("The request has more than %(limit)d files.") % {"limit": limit}
    return None


def api_error_response(status_code: int, exception: Exception | None = None) -> JsonResponse:
    """The error shape for an answer Django made itself: by the exception when known, else by status."""
    fallback = ("server_error" if status_code >= 500 else "error", gettext_lazy("The request could not be completed."))
    code, message = _refusal(exception) or _STATUS_ERRORS.get(status_code, fallback)
    return JsonResponse(error_body(code, message), status=status_code)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A request Django refused (a body too large, too many fields, a malformed multipart body)."""
    if is_api_path(request.path):
        return api_error_response(400, exception)
    return django_defaults.bad_request(request, exception or SuspiciousOperation())


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return api_error_response(403, exception)
    return django_defaults.permission_denied(request, exception or DjangoPermissionDenied())


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django-level 404s (no route matched) keep the API's error shape under /api/."""
    if is_api_path(request.path):
        return api_error_response(404)
    return django_defaults.page_not_found(request, exception or Http404())


def server_error(request: HttpRequest) -> HttpResponse:
    """An unexpected failure still answers in the API's error shape, without internals."""
    if is_api_path(request.path):
        return api_error_response(500)
    return django_defaults.server_error(request)
