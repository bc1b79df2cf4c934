"""The coarse per-address rate of sign-in attempts, shared by every way in."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle


class LoginRateThrottle(AnonRateThrottle):
    """A coarse per-address limit on top of the per-user failure counter.

    The token endpoint, the sign-in page, the admin's login and the browsable API's login
    all count here (one ``login`` scope, keyed by the client address).
    """

    scope = "login"

    def get_rate(self) -> str | None:
        # LOGIN_RATE (default 30/min); None turns the limit off.
        return settings.LOGIN_RATE
