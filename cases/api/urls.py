"""URL patterns under /api/v1/ (included by agency.urls): cases and their flagged orders, appeal attempts,
supplement requests and outcomes, notes and messages, the workload, rule profiles, and the portal's cases."""

from django.urls import URLPattern, URLResolver, include, path

import agency.api.converters  # noqa: F401  (registers <id:...>)
from agency.api.routers import api_router
from cases.api.appeals import (
    CaseAttemptDetailView,
    CaseAttemptsView,
    CaseOutcomeView,
    CaseSupplementsView,
    SupplementCancelView,
    SupplementResponsesView,
)
from cases.api.assignment import WorkloadView
from cases.api.conversation import CaseMessagesView, CaseNotesView
from cases.api.portal import PortalCaseMessagesView, PortalCaseOutcomeView, PortalCaseViewSet
from cases.api.rule_profiles import RuleProfileViewSet
from cases.api.staff import CaseViewSet

router = api_router()
router.register("cases", CaseViewSet, basename="case")
router.register("rule-profiles", RuleProfileViewSet, basename="rule-profile")

portal_router = api_router()
portal_router.register("cases", PortalCaseViewSet, basename="portal-case")

urlpatterns: list[URLPattern | URLResolver] = [
    path("portal/", include(portal_router.urls)),
    path("workload/", WorkloadView.as_view(), name="workload"),
    path("cases/<id:case_id>/notes/", CaseNotesView.as_view(), name="case-notes"),
    path("cases/<id:case_id>/messages/", CaseMessagesView.as_view(), name="case-messages"),
    path("portal/cases/<id:case_id>/messages/", PortalCaseMessagesView.as_view(), name="portal-case-messages"),
    path("cases/<id:case_id>/attempts/", CaseAttemptsView.as_view(), name="case-attempts"),
    path("cases/<id:case_id>/attempts/<id:number>/", CaseAttemptDetailView.as_view(), name="case-attempt"),
    path("cases/<id:case_id>/supplements/", CaseSupplementsView.as_view(), name="case-supplements"),
    path("supplements/<id:pk>/responses/", SupplementResponsesView.as_view(), name="supplement-responses"),
    path("supplements/<id:pk>/cancel/", SupplementCancelView.as_view(), name="supplement-cancel"),
    path("cases/<id:case_id>/outcome/", CaseOutcomeView.as_view(), name="case-outcome"),
    path("portal/cases/<id:case_id>/outcome/", PortalCaseOutcomeView.as_view(), name="portal-case-outcome"),
    # The routers' cases/ and cases/<id>/... last: the paths above stay ahead of them, as always.
    path("", include(router.urls)),
]
