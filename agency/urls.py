"""URL map: admin, the OpenAPI schema and docs, the versioned API, and the web pages."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

import agency.api.converters  # noqa: F401  (registers <id:...> before any app's URLs are imported)
from cases.api.rule_profiles import RuleProfileViewSet
from cases.api.views import CaseViewSet
from cases.portal.views import PortalCaseViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("cases", CaseViewSet, basename="case")
router.register("rule-profiles", RuleProfileViewSet, basename="rule-profile")

portal_router = DefaultRouter(trailing_slash=True)
portal_router.include_root_view = False
portal_router.register("cases", PortalCaseViewSet, basename="portal-case")

api_v1: list[URLPattern | URLResolver] = [
    path("", include("agency.api.urls")),
    path("", include("agency.accounts.api.urls")),
    path("", include("agency.organisations.api.urls")),
    path("portal/", include(portal_router.urls)),
    path("", include("evidence.api.urls")),
    # Running the agency (issue 6): each part keeps its own URL list.
    path("", include("cases.urls_assignment")),
    path("", include("cases.urls_conversation")),
    path("", include("cases.urls_appeals")),
    path("", include("billing.api.urls")),
    path("", include("recovery.api.urls")),
    path("", include("reports.api.urls")),
    path("", include(router.urls)),
    path("", include("workflows.api.urls")),
    path("", include("integrations.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema", metadata_class=None), name="swagger-ui"),
    path("api/auth/", include("rest_framework.urls", namespace="rest_framework")),
    path("api/v1/", include(api_v1)),
    # The web pages: sign-in, the client portal, notifications ("/" sends each person on).
    path("", include("web.urls")),
]

handler400 = "agency.api.errors.bad_request"
handler403 = "agency.api.errors.permission_denied"
handler404 = "agency.api.errors.page_not_found"
handler500 = "agency.api.errors.server_error"
