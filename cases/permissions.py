"""Who may take each case transition: role rules handed to django-fsm as ``permission=``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agency.accounts.models import Role

CASE_WORKERS = (Role.CASE_MANAGER, Role.SUPERVISOR, Role.ADMINISTRATOR)
INTAKE_AND_CASE_WORKERS = (Role.INTAKE_SPECIALIST, *CASE_WORKERS)
# Roles that may edit a case's details and flagged orders while it is being set up.
CASE_EDITORS = INTAKE_AND_CASE_WORKERS
ASSIGNERS = (Role.SUPERVISOR, Role.ADMINISTRATOR)
# Roles a case can be assigned to.
ASSIGNABLE_ROLES = (Role.CASE_MANAGER, Role.SUPERVISOR)


def staff_roles(*roles: str) -> Callable[[Any, Any], bool]:
    allowed = frozenset(roles)

    def check(case: Any, user: Any) -> bool:
        return bool(getattr(user, "is_authenticated", False) and user.role in allowed)

    check.roles = allowed  # type: ignore[attr-defined]
    return check


def client_of_case_or_supervisor(case: Any, user: Any) -> bool:
    """Withdrawal is the client's right; a supervisor may record it on their behalf."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role in (Role.SUPERVISOR, Role.ADMINISTRATOR):
        return True
    if user.role == Role.CLIENT:
        return case.organisation.memberships.filter(user=user).exists()
    return False


client_of_case_or_supervisor.roles = frozenset({Role.CLIENT, Role.SUPERVISOR, Role.ADMINISTRATOR})  # type: ignore[attr-defined]
