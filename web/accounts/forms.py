"""Sign-in through the same guard as the API's token endpoint and the admin's login."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from agency.accounts.forms import GuardedAuthenticationForm


class SignInForm(GuardedAuthenticationForm):
    """The guarded sign-in form (``agency.accounts.forms``): a failure here counts against the
    same per-user-and-address limit as a failed ``POST /api/v1/auth/token/``, and the coarse
    per-address rate of that endpoint applies too."""

    error_messages = {
        **GuardedAuthenticationForm.error_messages,
        "invalid_login": _("Unable to sign in with the given username and password."),
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autocapitalize": "none"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})
