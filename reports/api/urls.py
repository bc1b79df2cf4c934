"""URL patterns under /api/v1/ (included by agency.urls): one GET endpoint per report."""

from django.urls import URLPattern, URLResolver, path

from reports.api.staff import REPORT_VIEWS

urlpatterns: list[URLPattern | URLResolver] = [
    path(f"reports/{name}/", view.as_view(), name=f"report-{name}") for name, view in REPORT_VIEWS.items()
]
