"""Service-level URL patterns under /api/v1/ (included by agency.urls): ping, liveness, readiness and health."""

from django.urls import URLPattern, URLResolver, path

from agency.api.views import HealthView, LivenessView, PingView, ReadinessView

urlpatterns: list[URLPattern | URLResolver] = [
    path("ping/", PingView.as_view(), name="ping"),
    path("health/", HealthView.as_view(), name="health"),
    path("health/live/", LivenessView.as_view(), name="health-live"),
    path("health/ready/", ReadinessView.as_view(), name="health-ready"),
]
