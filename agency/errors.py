"""Domain exceptions raised by services; the API maps each to one HTTP status and shape."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """Base class: a stable machine code, a human message and optional details."""

    status_code = 400
    code = "error"
    default_message: Any = _("The request could not be completed.")

    def __init__(self, message: Any = None, *, details: dict[str, Any] | None = None) -> None:
        self.message = message if message is not None else self.default_message
        self.details = details or {}
        super().__init__(str(self.message))


class InvalidInput(DomainError):
    """Input failed validation; details name the fields and the reasons."""

    status_code = 400
    code = "invalid"
    default_message = _("The request has invalid fields.")


class ConditionsUnmet(DomainError):
    """A guard failed: details list every unmet condition, not only the first."""

    status_code = 400
    code = "conditions_unmet"
    default_message = _("The conditions for this action are not met.")


class NotAllowed(DomainError):
    """The user may see the object but may not do this to it."""

    status_code = 403
    code = "permission_denied"
    default_message = _("You do not have permission to do this.")


class NotFound(DomainError):
    """The object does not exist, or is not visible to this user (the two look the same)."""

    status_code = 404
    code = "not_found"
    default_message = _("Not found.")


class InvalidState(DomainError):
    """Not possible in the object's current state, or it changed underneath the request."""

    status_code = 409
    code = "invalid_state"
    default_message = _("This is not possible in the current state.")


class Conflict(DomainError):
    """The object changed since the caller read it."""

    status_code = 409
    code = "conflict"
    default_message = _("The object was changed by someone else; reload and try again.")
