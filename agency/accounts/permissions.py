"""The one role check every service makes before it changes anything."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agency.accounts.models import User
from agency.errors import NotAllowed


def require_role(actor: User, roles: Iterable[str], *, message: Any = None) -> None:
    """Refuse (403, the one error shape) unless ``actor`` has one of ``roles``; ``message`` replaces the default."""
    if actor.role not in roles:
        raise NotAllowed(message)
