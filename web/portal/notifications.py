"""Notifications as pages: the list, marking read, and the link each e-mail carries."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST

from agency.errors import NotFound
from web.portal.views import _user, client_page
from workflows import notifications as service

PAGE_SIZE = 30


def _destination(request: HttpRequest, case_id: int | None) -> str:
    """Where a notification leads: its case for a client, the staff landing page for staff."""
    user = _user(request)
    if user.is_client and case_id is not None:
        return reverse("web:portal-case", kwargs={"case_id": case_id})
    if user.is_client:
        return reverse("web:notifications")
    return reverse("web:staff-home")


@require_GET
@client_page
def notification_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    page = Paginator(service.notification_list(user=user), PAGE_SIZE).get_page(request.GET.get("page"))
    language = get_language() or "zh-hans"
    rows = []
    for notification in page:
        title, body = service.render(notification, language)
        rows.append({"notification": notification, "title": title, "body": body})
    return render(request, "web/portal/notifications.html", {"page": page, "rows": rows, "nav": "notifications"})


@require_POST
@client_page
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = service.notification_mark_read(user=_user(request), notification_id=notification_id)
    if request.POST.get("open"):
        return HttpResponseRedirect(_destination(request, notification.case_id))
    return HttpResponseRedirect(reverse("web:notifications"))


@require_POST
@client_page
def notification_read_all(request: HttpRequest) -> HttpResponse:
    service.notification_mark_all_read(user=_user(request))
    return HttpResponseRedirect(reverse("web:notifications"))


@require_GET
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """The link in a notification e-mail: sign in if needed, mark it read, go to what it is about.

    Someone else's notification answers 404, the same as one that does not exist.
    """
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        notification = service.notification_mark_read(user=_user(request), notification_id=notification_id)
    except NotFound:
        raise Http404 from None
    return HttpResponseRedirect(_destination(request, notification.case_id))
