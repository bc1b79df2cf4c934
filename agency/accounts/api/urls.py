"""URL patterns under /api/v1/ (included by agency.urls): sign-in, the caller's profile, staff settings."""

from django.urls import URLPattern, URLResolver, path

import agency.api.converters  # noqa: F401  (registers <id:...>)
from agency.accounts.api.auth import MeView, TokenView
from agency.accounts.api.staff import StaffDetailView, StaffListView, StaffMeAwayView

urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("auth/me/", MeView.as_view(), name="auth-me"),
    path("staff/", StaffListView.as_view(), name="staff-list"),
    path("staff/me/away/", StaffMeAwayView.as_view(), name="staff-me-away"),
    path("staff/<id:pk>/", StaffDetailView.as_view(), name="staff-detail"),
]
