"""URL patterns under /api/v1/ for assignment (included by agency.urls): the workload view."""

from django.urls import URLPattern, URLResolver, path

from cases.api.assignment import WorkloadView

urlpatterns: list[URLPattern | URLResolver] = [
    path("workload/", WorkloadView.as_view(), name="workload"),
]
