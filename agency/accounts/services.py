"""Sign-in with a guard against password guessing: failures are counted per user and address."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import Throttled

from agency.accounts.models import User
from agency.errors import InvalidInput


def _failure_key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.lower()}|{address}".encode()).hexdigest()
    return f"login-failures:{digest}"


def credentials_check(*, username: str, password: str, address: str) -> User:
    """The active user with these credentials, or a refusal; too many failures refuse for a while.

    Failures are counted per (username, client address) in the cache (Redis in
    production), so one attacker cannot lock a real user out from every address. Every way in
    comes here (the API's token endpoint, the sign-in page, the admin's login and the
    browsable API's, the last three through ``agency.accounts.forms``), so they share one count.
    """
    key = _failure_key(username, address)
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    failures = cache.get(key, 0)
    if failures >= settings.LOGIN_FAILURE_LIMIT:
        raise Throttled(wait=window, detail=_("Too many failed sign-in attempts. Try again later."))
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=window)
        raise InvalidInput(
            _("Unable to sign in with the given username and password."),
            details={"fields": {"non_field_errors": [_("Unable to sign in with the given username and password.")]}},
        )
    cache.delete(key)
    return user


def token_obtain(*, username: str, password: str, address: str) -> str:
    """Return the user's API token, or refuse as ``credentials_check`` does (429 after too many failures)."""
    user = credentials_check(username=username, password=password, address=address)
    token, _created = Token.objects.get_or_create(user=user)
    return token.key
