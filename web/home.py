"""The front door: ``/`` sends each person where their work is."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """A client to their cases, staff to their tools, anyone else to the sign-in page."""
    user = request.user
    if not user.is_authenticated:
        return HttpResponseRedirect(reverse("web:sign-in"))
    if getattr(user, "is_client", False):
        return HttpResponseRedirect(reverse("web:portal-cases"))
    return HttpResponseRedirect(reverse("web:staff-home"))


@require_GET
@login_required
def staff_home(request: HttpRequest) -> HttpResponse:
    """Until the staff pages arrive: where the staff's tools are (the API docs and the admin)."""
    if not getattr(request.user, "is_agency_staff", False):
        raise PermissionDenied
    return render(request, "web/staff_home.html")
