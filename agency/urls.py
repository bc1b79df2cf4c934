"""URL map: admin, the OpenAPI schema and docs, the versioned API, and the web pages.

Every app keeps its API's URL patterns in its own ``api/urls.py``, and /api/v1/ includes them
(no pattern of one app matches a path of another, so their order decides nothing). The
``<id:...>`` converter is registered, by importing agency.api.converters, before any of them.
"""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import agency.api.converters  # noqa: F401  (registers <id:...> before any app's URLs are imported)
from agency.accounts.views import admin_login

api_v1: list[URLPattern | URLResolver] = [
    path("", include("agency.api.urls")),
    path("", include("agency.accounts.api.urls")),
    path("", include("agency.organisations.api.urls")),
    path("", include("cases.api.urls")),
    path("", include("evidence.api.urls")),
    path("", include("workflows.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("recovery.api.urls")),
    path("", include("reports.api.urls")),
]

urlpatterns = [
    # The admin's login, answering 429 with Retry-After past the sign-in failure limit.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema", metadata_class=None), name="swagger-ui"),
    # The browsable API's session login (rest_framework.urls' two views, guarded).
    path("api/auth/", include("agency.accounts.session_urls")),
    path("api/v1/", include(api_v1)),
    # The web pages: sign-in, the client portal, notifications ("/" sends each person on).
    path("", include("web.urls")),
]

handler400 = "agency.api.errors.bad_request"
handler403 = "agency.api.errors.permission_denied"
handler404 = "agency.api.errors.page_not_found"
handler500 = "agency.api.errors.server_error"
