"""URL patterns under /api/v1/ (included by agency.urls): evidence items, evidence requests and the dossier,
for staff and in the portal; the rules of the evidence checks."""

from django.urls import URLPattern, URLResolver, include, path

import agency.api.converters  # noqa: F401  (registers <id:...>)
from agency.api.routers import api_router
from evidence.api.batches import (
    CaseBatchesViewSet,
    EvidenceBatchViewSet,
    KindKeywordsViewSet,
    PortalCaseBatchesViewSet,
    PortalEvidenceBatchViewSet,
)
from evidence.api.checks import EvidenceCheckRuleViewSet
from evidence.api.dossier import CaseDossierView
from evidence.api.portal import (
    PortalCaseEvidenceRequestsView,
    PortalCaseEvidenceViewSet,
    PortalEvidenceRequestView,
    PortalEvidenceViewSet,
)
from evidence.api.requests import CaseEvidenceRequestsView, EvidenceRequestCancelView
from evidence.api.staff import CaseEvidenceViewSet, EvidenceViewSet

router = api_router()
router.register(r"cases/(?P<id>[0-9]{1,18})/evidence", CaseEvidenceViewSet, basename="case-evidence")
router.register("evidence", EvidenceViewSet, basename="evidence")
router.register(r"cases/(?P<id>[0-9]{1,18})/evidence/bulk", CaseBatchesViewSet, basename="case-evidence-bulk")
router.register("evidence-batches", EvidenceBatchViewSet, basename="evidence-batch")
router.register("evidence-kind-keywords", KindKeywordsViewSet, basename="evidence-kind-keywords")
router.register("evidence-check-rules", EvidenceCheckRuleViewSet, basename="evidence-check-rule")

portal_router = api_router()
portal_router.register(
    r"cases/(?P<id>[0-9]{1,18})/evidence", PortalCaseEvidenceViewSet, basename="portal-case-evidence"
)
portal_router.register("evidence", PortalEvidenceViewSet, basename="portal-evidence")
portal_router.register(
    r"cases/(?P<id>[0-9]{1,18})/evidence/bulk", PortalCaseBatchesViewSet, basename="portal-case-evidence-bulk"
)
portal_router.register("evidence-batches", PortalEvidenceBatchViewSet, basename="portal-evidence-batch")

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "portal/cases/<id:case_id>/evidence-requests/",
        PortalCaseEvidenceRequestsView.as_view(),
        name="portal-case-evidence-requests",
    ),
    path("portal/evidence-requests/<id:pk>/", PortalEvidenceRequestView.as_view(), name="portal-evidence-request"),
    path("portal/", include(portal_router.urls)),
    path("cases/<id:case_id>/evidence-requests/", CaseEvidenceRequestsView.as_view(), name="case-evidence-requests"),
    path("evidence-requests/<id:pk>/cancel/", EvidenceRequestCancelView.as_view(), name="evidence-request-cancel"),
    path("cases/<id:pk>/dossier/", CaseDossierView.as_view(), name="case-dossier"),
    path("", include(router.urls)),
]
