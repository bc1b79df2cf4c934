"""Audience gates for the API: agency staff endpoints and client portal endpoints."""

from __future__ import annotations

from typing import Any, cast

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from agency.accounts.models import User


class IsAgencyStaff(BasePermission):
    """Staff endpoints: any signed-in user with a staff role."""

    message = _("This endpoint is for agency staff.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "is_agency_staff", False))


class IsClientUser(BasePermission):
    """Portal endpoints: signed-in client users only."""

    message = _("This endpoint is for client users.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "is_client", False))


class HasStaffRole(BasePermission):
    """Write access restricted to the roles a view lists in ``write_roles``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return getattr(request.user, "role", None) in getattr(view, "write_roles", ())


def current_user(request: Request) -> User:
    """The signed-in user; only call behind a permission class that requires one."""
    return cast(User, request.user)
