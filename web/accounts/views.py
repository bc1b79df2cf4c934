"""Sign in, sign out, reset a forgotten password, and choose the pages' language."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from agency.accounts.views import GuardedLoginView
from web.accounts.forms import SignInForm
from web.middleware import supported


class SignInView(GuardedLoginView):
    """Past the sign-in failure limit the page says so, with 429 and Retry-After."""

    template_name = "web/accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    """POST only (Django's own rule): a link or an image cannot sign anybody out."""


class PasswordResetView(auth_views.PasswordResetView):
    """Always the same answer, whether or not the address belongs to an account."""

    template_name = "web/accounts/password_reset.html"
    email_template_name = "web/accounts/password_reset_email.txt"
    subject_template_name = "web/accounts/password_reset_subject.txt"
    success_url = reverse_lazy("web:password-reset-sent")

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        # Links in the e-mail point at the configured site, not at whatever Host the request named.
        protocol, domain = settings.SITE_URL.split("://", 1)
        self.extra_email_context = {"protocol": protocol, "domain": domain}
        return super().form_valid(form)


class PasswordResetSentView(auth_views.PasswordResetDoneView):
    template_name = "web/accounts/password_reset_sent.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "web/accounts/password_reset_confirm.html"
    success_url = reverse_lazy("web:password-reset-complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "web/accounts/password_reset_complete.html"


@require_POST
def language_choose(request: HttpRequest) -> HttpResponse:
    """Remember the reader's language in a cookie (and, signed in, for their e-mails too)."""
    chosen = supported(request.POST.get("language", ""))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = reverse("web:home")
    response = HttpResponseRedirect(target)
    if chosen:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            chosen,
            max_age=365 * 24 * 3600,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        user = request.user
        if user.is_authenticated and getattr(user, "preferred_language", chosen) != chosen:
            get_user_model().objects.filter(pk=user.pk).update(preferred_language=chosen)
    return response
