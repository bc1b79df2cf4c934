"""The pages' language: Simplified Chinese unless the reader asks for English.

Django's LocaleMiddleware falls back to LANGUAGE_CODE (English, which the API keeps for
integrations). The pages serve merchants in mainland China, so for them the order is: the
language switch remembered in a cookie, then the first supported language of the
browser's Accept-Language, then Simplified Chinese.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import trans_real

PAGE_DEFAULT_LANGUAGE = "zh-hans"
# Paths that keep Django's own choice (LANGUAGE_CODE by default): the API and the admin.
_NOT_PAGES = ("/api/", "/admin/")


def supported(code: str) -> str | None:
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def page_language(request: HttpRequest) -> str:
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if cookie and (chosen := supported(cookie)):
        return chosen
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    for code, _quality in trans_real.parse_accept_lang_header(header):
        if code != "*" and (chosen := supported(code)):
            return chosen
    return PAGE_DEFAULT_LANGUAGE


class PageLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(_NOT_PAGES):
            language = page_language(request)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
