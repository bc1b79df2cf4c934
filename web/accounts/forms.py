"""Sign-in through the same guard as the API's token endpoint."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import Throttled

from agency.accounts import services
from agency.accounts.api.auth import LoginRateThrottle
from agency.errors import InvalidInput


class SignInForm(AuthenticationForm):
    """Django's sign-in form, checked by ``credentials_check``: a failure here counts against the
    same per-user-and-address limit as a failed ``POST /api/v1/auth/token/``, and the coarse
    per-address rate of that endpoint applies too."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Unable to sign in with the given username and password."),
        "throttled": _("Too many failed sign-in attempts. Try again later."),
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autocapitalize": "none"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        request = self.request
        throttle = LoginRateThrottle()
        address = throttle.get_ident(request) if request is not None else ""  # type: ignore[arg-type]
        if request is not None and not throttle.allow_request(request, None):  # type: ignore[arg-type]
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            self.user_cache = services.credentials_check(username=username, password=password, address=address)
        except Throttled:
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled") from None
        except InvalidInput:
            raise forms.ValidationError(self.error_messages["invalid_login"], code="invalid_login") from None
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
