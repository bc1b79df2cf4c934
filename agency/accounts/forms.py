"""Sign-in forms for the pages Django draws (the admin's login, the browsable API's, the web
sign-in page's), all checked by ``services.credentials_check``.

A failure on any of them counts against the same per-user-and-address limit as a failed
``POST /api/v1/auth/token/`` (same cache keys), and the coarse per-address ``LOGIN_RATE`` of
that endpoint applies too. A refusal for too many attempts is a form error with the code
``throttled``; the form keeps how long to wait in ``retry_after`` so that the view can answer
429 with ``Retry-After`` (``agency.accounts.views``).
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import Throttled

from agency.accounts import services
from agency.accounts.throttling import LoginRateThrottle
from agency.errors import InvalidInput

THROTTLED_MESSAGE = _("Too many failed sign-in attempts. Try again later.")


class GuardedAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, with the credentials checked by ``credentials_check``."""

    error_messages = {**AuthenticationForm.error_messages, "throttled": THROTTLED_MESSAGE}
    # Seconds to wait, set when the form refused for too many attempts.
    retry_after: int | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        request = self.request
        throttle = LoginRateThrottle()
        # DRF's throttle reads only META (the address, X-Forwarded-For) from the request.
        address = throttle.get_ident(request) if request is not None else ""  # type: ignore[arg-type]
        if request is not None and not throttle.allow_request(request, None):  # type: ignore[arg-type]
            self._refuse(throttle.wait())
        try:
            self.user_cache = services.credentials_check(username=username, password=password, address=address)
        except Throttled as refusal:
            self._refuse(getattr(refusal, "wait", None))
        except InvalidInput:
            raise self.get_invalid_login_error() from None
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    def _refuse(self, wait: float | None) -> NoReturn:
        self.retry_after = max(1, math.ceil(wait or 1))
        raise forms.ValidationError(self.error_messages["throttled"], code="throttled")


class AdminSignInForm(GuardedAuthenticationForm, AdminAuthenticationForm):
    """The admin's login form (``admin.site.login_form``): guarded, and for staff accounts only."""

    error_messages = {**AdminAuthenticationForm.error_messages, "throttled": THROTTLED_MESSAGE}
