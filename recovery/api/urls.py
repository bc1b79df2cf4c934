"""URL patterns under /api/v1/ (included by agency.urls): recovery templates, plans, tasks and the portal's view."""

from django.urls import URLPattern, URLResolver, path

import agency.api.converters  # noqa: F401  (registers <id:...>)
from recovery.api import portal, staff

urlpatterns: list[URLPattern | URLResolver] = [
    path("recovery-templates/", staff.RecoveryTemplateListView.as_view(), name="recovery-templates"),
    path("recovery-templates/<id:pk>/", staff.RecoveryTemplateDetailView.as_view(), name="recovery-template"),
    path("cases/<id:case_id>/recovery-plan/", staff.CaseRecoveryPlanView.as_view(), name="case-recovery-plan"),
    path("cases/<id:case_id>/recovery-plan/tasks/", staff.CaseRecoveryTasksView.as_view(), name="case-recovery-tasks"),
    path(
        "cases/<id:case_id>/recovery-plan/waive/",
        staff.CaseRecoveryPlanWaiveView.as_view(),
        name="case-recovery-plan-waive",
    ),
    path("recovery-tasks/<id:pk>/", staff.RecoveryTaskView.as_view(), name="recovery-task"),
    path(
        "portal/cases/<id:case_id>/recovery-plan/",
        portal.PortalRecoveryPlanView.as_view(),
        name="portal-case-recovery-plan",
    ),
    path("portal/recovery-tasks/<id:pk>/", portal.PortalRecoveryTaskView.as_view(), name="portal-recovery-task"),
]
