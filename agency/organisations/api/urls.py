"""URL patterns under /api/v1/ (included by agency.urls): organisations and shops."""

from django.urls import URLPattern, URLResolver, include, path

from agency.api.routers import api_router
from agency.organisations.api.staff import OrganisationViewSet, ShopViewSet

router = api_router()
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("shops", ShopViewSet, basename="shop")

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include(router.urls)),
]
