"""URL patterns under /api/v1/ (included by agency.urls): recovery templates, plans, tasks and the portal's view."""

from django.urls import URLPattern, URLResolver, path

from recovery import api, portal

urlpatterns: list[URLPattern | URLResolver] = [
    path("recovery-templates/", api.RecoveryTemplateListView.as_view(), name="recovery-templates"),
    path("recovery-templates/<id:pk>/", api.RecoveryTemplateDetailView.as_view(), name="recovery-template"),
    path("cases/<id:case_id>/recovery-plan/", api.CaseRecoveryPlanView.as_view(), name="case-recovery-plan"),
    path("cases/<id:case_id>/recovery-plan/tasks/", api.CaseRecoveryTasksView.as_view(), name="case-recovery-tasks"),
    path(
        "cases/<id:case_id>/recovery-plan/waive/",
        api.CaseRecoveryPlanWaiveView.as_view(),
        name="case-recovery-plan-waive",
    ),
    path("recovery-tasks/<id:pk>/", api.RecoveryTaskView.as_view(), name="recovery-task"),
    path(
        "portal/cases/<id:case_id>/recovery-plan/",
        portal.PortalRecoveryPlanView.as_view(),
        name="portal-case-recovery-plan",
    ),
    path("portal/recovery-tasks/<id:pk>/", portal.PortalRecoveryTaskView.as_view(), name="portal-recovery-task"),
]
