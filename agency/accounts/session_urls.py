"""The browsable API's session sign-in and sign-out, as ``rest_framework.urls`` maps them, but
with the login checked by the same guard as every other way in."""

from django.contrib.auth import views as auth_views
from django.urls import path

from agency.accounts.views import GuardedLoginView

app_name = "rest_framework"
urlpatterns = [
    path("login/", GuardedLoginView.as_view(template_name="rest_framework/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
