"""Admin for users and teams."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from agency.accounts.forms import AdminSignInForm
from agency.accounts.models import Team, User

# The admin's login counts failures with the token endpoint and the sign-in page (same limiter);
# agency.accounts.views.admin_login turns its refusal into a 429.
admin.site.login_form = AdminSignInForm


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "email", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active")
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Agency", {"fields": ("role", "team", "display_name")}))


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
