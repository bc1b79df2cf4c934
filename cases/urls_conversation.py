"""URL patterns under /api/v1/ (included by agency.urls): internal notes and the message thread on a case."""

from django.urls import URLPattern, URLResolver, path

from cases.api.conversation import CaseMessagesView, CaseNotesView
from cases.portal.conversation import PortalCaseMessagesView

urlpatterns: list[URLPattern | URLResolver] = [
    path("cases/<id:case_id>/notes/", CaseNotesView.as_view(), name="case-notes"),
    path("cases/<id:case_id>/messages/", CaseMessagesView.as_view(), name="case-messages"),
    path("portal/cases/<id:case_id>/messages/", PortalCaseMessagesView.as_view(), name="portal-case-messages"),
]
