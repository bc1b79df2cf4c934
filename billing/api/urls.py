"""URL patterns under /api/v1/ (included by agency.urls): assessment, fee quotes, and the portal's quotes."""

from django.urls import URLPattern, URLResolver, path

import agency.api.converters  # noqa: F401  (registers <id:...>)
from billing.api.portal import PortalCaseQuotesView, PortalQuoteAcceptView, PortalQuoteRejectView
from billing.api.staff import (
    CaseAssessmentView,
    CaseOrderCausesView,
    CaseQuotesView,
    QuoteAcceptView,
    QuoteRejectView,
    QuoteWithdrawView,
)

urlpatterns: list[URLPattern | URLResolver] = [
    path("cases/<id:case_id>/assessment/", CaseAssessmentView.as_view(), name="case-assessment"),
    path(
        "cases/<id:case_id>/assessment/order-causes/",
        CaseOrderCausesView.as_view(),
        name="case-assessment-order-causes",
    ),
    path("cases/<id:case_id>/quotes/", CaseQuotesView.as_view(), name="case-quotes"),
    path("quotes/<id:pk>/withdraw/", QuoteWithdrawView.as_view(), name="quote-withdraw"),
    path("quotes/<id:pk>/accept/", QuoteAcceptView.as_view(), name="quote-accept"),
    path("quotes/<id:pk>/reject/", QuoteRejectView.as_view(), name="quote-reject"),
    path("portal/cases/<id:case_id>/quotes/", PortalCaseQuotesView.as_view(), name="portal-case-quotes"),
    path("portal/quotes/<id:pk>/accept/", PortalQuoteAcceptView.as_view(), name="portal-quote-accept"),
    path("portal/quotes/<id:pk>/reject/", PortalQuoteRejectView.as_view(), name="portal-quote-reject"),
]
