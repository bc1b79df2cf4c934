"""Sign-in views that answer 429 with ``Retry-After`` when the guard refuses, as the token
endpoint does: the browsable API's login (``agency.accounts.session_urls``), the admin's
login (``admin_login``) and, by subclassing, the web sign-in page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from agency.accounts.forms import GuardedAuthenticationForm


def with_refusal_status(response: HttpResponse, form: Any) -> HttpResponse:
    """The page as drawn, but 429 with Retry-After if its sign-in form refused for too many attempts."""
    retry_after = getattr(form, "retry_after", None)
    if retry_after is not None:
        response.status_code = 429
        response["Retry-After"] = str(retry_after)
    return response


class GuardedLoginView(auth_views.LoginView):
    """Django's LoginView with the guarded form (a subclass of it may name its own)."""

    authentication_form = GuardedAuthenticationForm

    def form_invalid(self, form: Any) -> HttpResponse:
        return with_refusal_status(super().form_invalid(form), form)


@never_cache
@login_not_required
def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """The admin site's own login view, answering 429 when its form refused.

    The admin checks credentials with ``admin.site.login_form``, which agency/accounts/admin.py
    sets to the guarded ``AdminSignInForm``; this view only gives the refusal its status. It is
    mapped at /admin/login/ ahead of the admin's URLs (agency/urls.py).
    """
    response = admin.site.login(request, extra_context)
    context = getattr(response, "context_data", None) or {}
    return with_refusal_status(response, context.get("form"))
