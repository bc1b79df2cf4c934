"""What a key's permission allows: a read key may only read, whatever its principal's role could do."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from integrations.models import ApiKey, KeyPermission

READ_ONLY_MESSAGE = _("This API key may only read; it was not given write permission.")


def key_permits(method: str, key: ApiKey) -> bool:
    return key.permission == KeyPermission.READ_WRITE or method in SAFE_METHODS


def ensure_key_permits(request: Request, key: ApiKey) -> None:
    """Refuse (403) an unsafe method to a read key; called by the authentication class itself,
    so that it holds on every endpoint, including those that set their own permission classes."""
    if not key_permits(request.method or "", key):
        raise exceptions.PermissionDenied(READ_ONLY_MESSAGE)


class KeyPermissionAllows(BasePermission):
    """The same rule as a permission class, for views that want to state it explicitly."""

    message = READ_ONLY_MESSAGE

    def has_permission(self, request: Request, view: Any) -> bool:
        auth = request.auth
        return not isinstance(auth, ApiKey) or key_permits(request.method or "", auth)
