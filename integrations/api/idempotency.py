"""Idempotent writes: a POST repeated with the same ``Idempotency-Key`` gets the first answer again.

How it works, for a POST handler wrapped in ``@idempotent``:

1. No ``Idempotency-Key`` header: the handler runs as usual.
2. The key must be 1 to 255 printable ASCII characters, else 400 naming the header.
3. The request is reduced to a SHA-256 over method, path, query string and body (see
   ``request_fingerprint`` for multipart forms).
4. A record for (caller, key) is inserted, with no response yet, in its own short
   transaction that commits before the handler runs, so a concurrent duplicate sees it.
   If one exists already: expired, it is deleted and the insert retried; for another
   request, 422 ``idempotency_key_reused``; finished, its stored status, body and content
   type are replayed with ``Idempotent-Replayed: true``; still running, 409
   ``idempotency_key_in_progress`` with ``Retry-After: 1``.
5. The handler runs (its own transactions are separate). Answers below 500, errors
   included, are stored and replayed later, as Stripe does; a 5xx or an unexpected
   exception deletes the record so the client can try again.

The caller is ``user:<id>``. An API key acts through its own principal user, so keys are
scoped per API key as well as per person.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.errors import error_body
from agency.api.schema import ErrorSerializer
from agency.errors import InvalidInput
from evidence.uploads import file_digest
from integrations.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "A unique value the client chooses (1-255 printable ASCII characters), for example a UUID. "
        "Sending the same request again with the same key, within 24 hours, returns the first answer "
        "(with the header Idempotent-Replayed: true) and changes nothing. The same key with a different "
        "request answers 422 idempotency_key_reused; while the first request is still running, 409 "
        "idempotency_key_in_progress with Retry-After. Keys are scoped to the caller (user or API key)."
    ),
)

_IN_PROGRESS_TEXT = "idempotency_key_in_progress: a request with this Idempotency-Key is still running; retry later."
_REUSED = OpenApiResponse(
    ErrorSerializer,
    description="idempotency_key_reused: this Idempotency-Key was used for a different request.",
)


def idempotency_responses(responses: dict[Any, Any]) -> dict[Any, Any]:
    """The operation's documented responses plus the idempotency ones (422, and 409 merged in)."""
    merged = dict(responses)
    merged[422] = _REUSED
    existing = merged.get(409)
    if isinstance(existing, OpenApiResponse) and existing.description:
        merged[409] = OpenApiResponse(ErrorSerializer, description=f"{existing.description} {_IN_PROGRESS_TEXT}")
    else:
        merged[409] = OpenApiResponse(ErrorSerializer, description=_IN_PROGRESS_TEXT)
    return merged


# --- The request's fingerprint -------------------------------------------------------------


def _valid_key(key: str) -> bool:
    return 1 <= len(key) <= MAX_KEY_LENGTH and all(" " <= char <= "~" for char in key)


def _multipart_content(request: Request) -> bytes:
    """The parsed form fields and each file's name, size and SHA-256, as canonical JSON.

    The raw body of a multipart request is not hashed: it cannot be read again after the
    streaming upload handler consumed it, reading it first would hold a whole upload in
    memory, and every client picks a fresh boundary for each send, so a faithful retry
    would never match its first attempt. The file bytes still count, through their
    SHA-256 (computed while streaming by the evidence upload handler, or read once here).
    """
    fields = {name: request.POST.getlist(name) for name in sorted(request.POST)}
    files = {
        name: [
            {"name": upload.name, "size": size, "sha256": sha256}
            for upload in request.FILES.getlist(name)
            for size, sha256 in [file_digest(upload)]
        ]
        for name in sorted(request.FILES)
    }
    return json.dumps({"fields": fields, "files": files}, sort_keys=True, ensure_ascii=False).encode()


def request_fingerprint(request: Request) -> str:
    """SHA-256 over method, path, query string and body (or the parsed form, for multipart)."""
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode())
        digest.update(b"\x00")
    if request.content_type.startswith("multipart/form-data"):
        # Parse through the view's parsers (and the evidence upload handler, if installed).
        request.data  # noqa: B018 - parsing fills request.POST and request.FILES
        digest.update(_multipart_content(request))
    else:
        digest.update(request._request.body)
    return digest.hexdigest()


# --- Claiming a key ------------------------------------------------------------------------


def _ttl() -> dt.timedelta:
    return dt.timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


def _claim(*, caller: str, key: str, request: Request, request_hash: str) -> IdempotencyRecord | HttpResponseBase:
    """Insert the record for this key (committed at once), or answer from the one that exists."""
    for _attempt in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    caller=caller,
                    key=key,
                    method=request.method or "",
                    path=request.path[:500],
                    request_hash=request_hash,
                    created_at=now,
                    expires_at=now + _ttl(),
                )
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(caller=caller, key=key).first()
        if existing is None:
            continue  # Deleted in between (its request failed, or a purge): try again.
        if existing.expires_at <= now:
            IdempotencyRecord.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
            continue
        if existing.request_hash != request_hash:
            return Response(
                error_body(
                    "idempotency_key_reused",
                    _("This Idempotency-Key was already used for a different request."),
                    {"header": HEADER},
                ),
                status=422,
            )
        if existing.response_status is None:
            return _in_progress()
        replay = HttpResponse(
            bytes(existing.response_body or b""),
            status=existing.response_status,
            content_type=existing.response_content_type or None,
        )
        replay[REPLAYED_HEADER] = "true"
        return replay
    # Three collisions in a row with records that vanish: let the client retry.
    return _in_progress()


def _in_progress() -> Response:
    return Response(
        error_body(
            "idempotency_key_in_progress",
            _("A request with this Idempotency-Key is still being processed; retry shortly."),
            {"header": HEADER},
        ),
        status=409,
        headers={"Retry-After": "1"},
    )


def _store(record: IdempotencyRecord, response: HttpResponseBase) -> None:
    content = getattr(response, "content", b"")
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        response_status=response.status_code,
        response_body=bytes(content),
        response_content_type=(response.get("Content-Type") or "")[:100],
    )


def _forget(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


# --- The decorator -------------------------------------------------------------------------

Handler = TypeVar("Handler", bound=Callable[..., Any])


def idempotent(handler: Handler) -> Handler:
    """Make a DRF view handler honour ``Idempotency-Key`` on POST (other methods pass through)."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.user.is_authenticated:
            response: HttpResponseBase = handler(view, request, *args, **kwargs)
            return response
        if not _valid_key(key):
            raise InvalidInput(
                details={"fields": {HEADER: [_("Send 1 to 255 printable ASCII characters.")]}},
            )
        request_hash = request_fingerprint(request)
        claimed = _claim(caller=f"user:{request.user.pk}", key=key, request=request, request_hash=request_hash)
        if not isinstance(claimed, IdempotencyRecord):
            return claimed
        try:
            try:
                response = handler(view, request, *args, **kwargs)
            except Exception as exc:  # DRF turns it into an answer, or re-raises it
                response = view.handle_exception(exc)
            # Render now, as DRF would after the handler, so the bytes stored are the bytes sent.
            response = view.finalize_response(request, response, *args, **kwargs)
            if isinstance(response, Response):
                response.render()
        except BaseException:
            _forget(record=claimed)
            raise
        if response.status_code >= 500:
            _forget(record=claimed)
        else:
            _store(claimed, response)
        return response

    return wrapper  # type: ignore[return-value]
