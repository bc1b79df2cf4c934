"""URL map: admin, the OpenAPI schema and docs, and the versioned API."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from agency.accounts.api import MeView, TokenView
from agency.api.views import HealthView, PingView
from agency.organisations.api import OrganisationViewSet, ShopViewSet
from cases.api.rule_profiles import RuleProfileViewSet
from cases.api.views import CaseViewSet
from cases.portal.views import PortalCaseViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("cases", CaseViewSet, basename="case")
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("shops", ShopViewSet, basename="shop")
router.register("rule-profiles", RuleProfileViewSet, basename="rule-profile")

portal_router = DefaultRouter(trailing_slash=True)
portal_router.include_root_view = False
portal_router.register("cases", PortalCaseViewSet, basename="portal-case")

api_v1: list[URLPattern | URLResolver] = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("auth/me/", MeView.as_view(), name="auth-me"),
    path("ping/", PingView.as_view(), name="ping"),
    path("health/", HealthView.as_view(), name="health"),
    path("portal/", include(portal_router.urls)),
    path("", include(router.urls)),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/auth/", include("rest_framework.urls", namespace="rest_framework")),
    path("api/v1/", include(api_v1)),
]

handler404 = "agency.api.errors.page_not_found"
handler500 = "agency.api.errors.server_error"
