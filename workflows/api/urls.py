"""URL patterns under /api/v1/ (included by agency.urls): deadlines and waits, platform contacts, notifications,
the working calendar and stage SLAs, and the portal's deadlines."""

from django.urls import URLPattern, URLResolver, include, path

import agency.api.converters  # noqa: F401  (registers <id:...>)
from agency.api.routers import api_router
from workflows.api.calendar import CalendarDayViewSet, CalendarYearViewSet, StageSlaViewSet, WorkingTimeView
from workflows.api.contacts import CasePlatformContactsView
from workflows.api.deadlines import (
    CaseDeadlinesView,
    CaseWaitEndView,
    CaseWaitsView,
    DeadlineCancelView,
    DeadlineMetView,
    DeadlineMoveView,
    MyDeadlinesView,
    OverdueDeadlinesView,
)
from workflows.api.notifications import (
    NotificationListView,
    NotificationReadAllView,
    NotificationReadView,
    NotificationUnreadCountView,
)
from workflows.api.portal import PortalCaseDeadlinesView, PortalDeadlinesView

router = api_router()
router.register("calendar/days", CalendarDayViewSet, basename="calendar-day")
router.register("calendar/years", CalendarYearViewSet, basename="calendar-year")
router.register("stage-slas", StageSlaViewSet, basename="stage-sla")

urlpatterns: list[URLPattern | URLResolver] = [
    path("portal/deadlines/", PortalDeadlinesView.as_view(), name="portal-deadlines"),
    path("portal/cases/<id:case_id>/deadlines/", PortalCaseDeadlinesView.as_view(), name="portal-case-deadlines"),
    path("cases/<id:case_id>/deadlines/", CaseDeadlinesView.as_view(), name="case-deadlines"),
    path("cases/<id:case_id>/waits/", CaseWaitsView.as_view(), name="case-waits"),
    path("cases/<id:case_id>/waits/<str:waiting_on>/end/", CaseWaitEndView.as_view(), name="case-wait-end"),
    # The literal deadlines/mine/ and deadlines/overdue/ stay ahead of deadlines/<id:...>/ (digits only anyway).
    path("deadlines/mine/", MyDeadlinesView.as_view(), name="deadlines-mine"),
    path("deadlines/overdue/", OverdueDeadlinesView.as_view(), name="deadlines-overdue"),
    path("deadlines/<id:pk>/move/", DeadlineMoveView.as_view(), name="deadline-move"),
    path("deadlines/<id:pk>/met/", DeadlineMetView.as_view(), name="deadline-met"),
    path("deadlines/<id:pk>/cancel/", DeadlineCancelView.as_view(), name="deadline-cancel"),
    path(
        "cases/<id:case_id>/platform-contacts/",
        CasePlatformContactsView.as_view(),
        name="case-platform-contacts",
    ),
    path("notifications/", NotificationListView.as_view(), name="notification-list"),
    path("notifications/unread-count/", NotificationUnreadCountView.as_view(), name="notification-unread-count"),
    path("notifications/read-all/", NotificationReadAllView.as_view(), name="notification-read-all"),
    path("notifications/<id:pk>/read/", NotificationReadView.as_view(), name="notification-read"),
    path("calendar/working-time/", WorkingTimeView.as_view(), name="calendar-working-time"),
    path("", include(router.urls)),
]
