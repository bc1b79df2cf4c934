"""``Authorization: Api-Key <key>``: authenticates another program as its key's principal user."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from agency.accounts.models import User
from integrations.models import ApiKey
from integrations.permissions import ensure_key_permits

KEYWORD = "Api-Key"
# How stale ``last_used_at`` may get: it is written at most once per interval per key,
# so a busy integration does not turn every read into a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _invalid() -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(_("Invalid, expired or revoked API key."))


def _touch(key: ApiKey) -> None:
    """Record the use, unless it was recorded less than a minute ago (by this or another worker)."""
    now = timezone.now()
    cutoff = now - LAST_USED_RESOLUTION
    if key.last_used_at is not None and key.last_used_at > cutoff:
        return
    ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff), pk=key.pk).update(
        last_used_at=now
    )
    key.last_used_at = now


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticate ``Authorization: Api-Key <prefix>.<secret>`` as the key's principal.

    ``request.user`` is the principal (so every role and organisation scope applies as it
    does to people) and ``request.auth`` is the key. An unknown, revoked or expired key is
    a 401. A read-only key is refused unsafe methods here, with 403, because views set
    their own ``permission_classes`` and a default permission class would not reach them.
    """

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid API key header. Use: Authorization: Api-Key <key>."))
        try:
            plaintext = header[1].decode()
        except UnicodeError:
            raise _invalid() from None
        key = self._key_for(plaintext)
        _touch(key)
        ensure_key_permits(request, key)
        return key.principal, key

    def _key_for(self, plaintext: str) -> ApiKey:
        prefix, dot, _secret = plaintext.partition(".")
        if not dot or not prefix:
            raise _invalid()
        key = ApiKey.objects.select_related("principal").filter(prefix=prefix, revoked=False).first()
        # Compare the hash before looking at expiry, so an invalid key never learns more.
        if key is None or not key.is_valid(plaintext) or key.has_expired or not key.principal.is_active:
            raise _invalid()
        return key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


def is_api_key(auth: Any) -> bool:
    return isinstance(auth, ApiKey)
