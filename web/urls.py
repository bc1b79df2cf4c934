"""The pages' URLs (namespace ``web``): sign-in and password reset, the client portal, notifications."""

from django.urls import path

from web import home
from web.accounts import views as accounts
from web.portal import batches as bulk
from web.portal import notifications
from web.portal import views as portal

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("staff/", home.staff_home, name="staff-home"),
    path("accounts/sign-in/", accounts.SignInView.as_view(), name="sign-in"),
    path("accounts/sign-out/", accounts.SignOutView.as_view(), name="sign-out"),
    path("accounts/password-reset/", accounts.PasswordResetView.as_view(), name="password-reset"),
    path("accounts/password-reset/sent/", accounts.PasswordResetSentView.as_view(), name="password-reset-sent"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("accounts/reset/done/", accounts.PasswordResetCompleteView.as_view(), name="password-reset-complete"),
    path("language/", accounts.language_choose, name="language"),
    path("portal/", portal.case_list, name="portal-cases"),
    path("portal/cases/<id:case_id>/", portal.case_detail, name="portal-case"),
    path("portal/cases/<id:case_id>/uploads/", portal.evidence_upload, name="portal-upload"),
    path("portal/cases/<id:case_id>/bulk/", bulk.bulk_upload, name="portal-bulk-upload"),
    path("portal/cases/<id:case_id>/bulk/<id:batch_id>/", bulk.bulk_detail, name="portal-bulk"),
    path("portal/cases/<id:case_id>/bulk/<id:batch_id>/commit/", bulk.bulk_commit, name="portal-bulk-commit"),
    path("portal/cases/<id:case_id>/bulk/<id:batch_id>/cancel/", bulk.bulk_cancel, name="portal-bulk-cancel"),
    path(
        "portal/cases/<id:case_id>/quotes/<id:quote_id>/<str:decision>/",
        portal.quote_decide,
        name="portal-quote-decide",
    ),
    path("portal/cases/<id:case_id>/messages/", portal.message_send, name="portal-message-send"),
    path("portal/cases/<id:case_id>/tasks/<id:task_id>/", portal.task_update, name="portal-task"),
    path("portal/cases/<id:case_id>/withdraw/", portal.case_withdraw, name="portal-withdraw"),
    path("portal/evidence/<id:item_id>/download/", portal.evidence_download, name="portal-evidence-download"),
    path("portal/notifications/", notifications.notification_list, name="notifications"),
    path("portal/notifications/read-all/", notifications.notification_read_all, name="notifications-read-all"),
    path("portal/notifications/<id:notification_id>/read/", notifications.notification_read, name="notification-read"),
    path("notifications/<id:notification_id>/", notifications.notification_open, name="notification-open"),
]
