"""URL patterns under /api/v1/ (included by agency.urls): appeal attempts, supplement requests, outcomes."""

from django.urls import URLPattern, URLResolver, path

from cases.api.appeals import (
    CaseAttemptDetailView,
    CaseAttemptsView,
    CaseOutcomeView,
    CaseSupplementsView,
    SupplementCancelView,
    SupplementResponsesView,
)
from cases.portal.appeals import PortalCaseOutcomeView

urlpatterns: list[URLPattern | URLResolver] = [
    path("cases/<id:case_id>/attempts/", CaseAttemptsView.as_view(), name="case-attempts"),
    path("cases/<id:case_id>/attempts/<id:number>/", CaseAttemptDetailView.as_view(), name="case-attempt"),
    path("cases/<id:case_id>/supplements/", CaseSupplementsView.as_view(), name="case-supplements"),
    path("supplements/<id:pk>/responses/", SupplementResponsesView.as_view(), name="supplement-responses"),
    path("supplements/<id:pk>/cancel/", SupplementCancelView.as_view(), name="supplement-cancel"),
    path("cases/<id:case_id>/outcome/", CaseOutcomeView.as_view(), name="case-outcome"),
    path("portal/cases/<id:case_id>/outcome/", PortalCaseOutcomeView.as_view(), name="portal-case-outcome"),
]
