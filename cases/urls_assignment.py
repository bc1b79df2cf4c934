"""URL patterns under /api/v1/ for assignment (included by agency.urls): staff settings and workload."""

from django.urls import URLPattern, URLResolver, path

from agency.accounts.staff_api import StaffDetailView, StaffListView, StaffMeAwayView
from cases.api.assignment import WorkloadView

urlpatterns: list[URLPattern | URLResolver] = [
    path("staff/", StaffListView.as_view(), name="staff-list"),
    path("staff/me/away/", StaffMeAwayView.as_view(), name="staff-me-away"),
    path("staff/<id:pk>/", StaffDetailView.as_view(), name="staff-detail"),
    path("workload/", WorkloadView.as_view(), name="workload"),
]
