"""Service-level URL patterns under /api/v1/ (included by agency.urls): ping and health."""

from django.urls import URLPattern, URLResolver, path

from agency.api.views import HealthView, PingView

urlpatterns: list[URLPattern | URLResolver] = [
    path("ping/", PingView.as_view(), name="ping"),
    path("health/", HealthView.as_view(), name="health"),
]
