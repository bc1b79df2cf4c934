"""Request rate limits per API key and per signed-in user, counted in the shared cache (Redis when set)."""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from integrations.models import ApiKey

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """'600/min' → (600, 60); None or an empty string means no limit."""
    if not rate:
        return None
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


class _FixedWindowThrottle(BaseThrottle):
    """At most N requests per principal in each fixed window of the period.

    DRF's ``SimpleRateThrottle`` keeps a list of every request time and rewrites it on each
    request, which for limits in the hundreds means a large value read and written per
    request, and two workers can overwrite each other's list. Here each window has one
    counter, raised with the cache's atomic ``incr`` (Redis INCR when Redis is configured),
    so the count is exact across workers and costs two small cache calls. The price is that
    a burst straddling a window boundary may get up to twice the rate, which is fine for a
    guard against runaway clients.
    """

    scope = ""
    setting = ""
    timer = staticmethod(time.time)

    def __init__(self) -> None:
        self.limit = parse_rate(getattr(settings, self.setting, None))
        self.retry_after: float | None = None

    def ident(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.limit is None:
            return True
        ident = self.ident(request)
        if ident is None:
            return True
        count_allowed, period = self.limit
        now = self.timer()
        window = int(now // period)
        key = f"throttle:{self.scope}:{ident}:{window}"
        # add() is a no-op if the counter exists; the timeout outlives the window a little.
        cache.add(key, 0, timeout=period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=period + 1)
            count = 1
        if count <= count_allowed:
            return True
        self.retry_after = max(1, math.ceil((window + 1) * period - now))
        return False

    def wait(self) -> float | None:
        return self.retry_after


class ApiKeyRateThrottle(_FixedWindowThrottle):
    """Requests made with an API key, counted per key (settings.API_KEY_RATE_LIMIT)."""

    scope = "api_key"
    setting = "API_KEY_RATE_LIMIT"

    def ident(self, request: Request) -> str | None:
        auth = request.auth
        return auth.prefix if isinstance(auth, ApiKey) else None


class UserRateThrottle(_FixedWindowThrottle):
    """Requests by a signed-in person (token or session), counted per user (settings.USER_RATE_LIMIT)."""

    scope = "user"
    setting = "USER_RATE_LIMIT"

    def ident(self, request: Request) -> str | None:
        if isinstance(request.auth, ApiKey):
            return None
        user = request.user
        if user is None or not user.is_authenticated:
            return None
        return str(user.pk)
