"""Writing the append-only case history; every service that changes a case calls this."""

from __future__ import annotations

from typing import Any

from agency.accounts.models import User
from cases.models import Case, CaseEvent, EventKind

# Kinds a client sees in the portal timeline. Assignment and detail corrections are the
# agency's internal bookkeeping; creation, order counts and state changes are the client's
# business.
CLIENT_VISIBLE_KINDS = frozenset(
    {EventKind.CREATED, EventKind.STATE_CHANGED, EventKind.FLAGGED_ORDERS_ADDED, EventKind.ASSIGNED}
)


def record_case_event(
    *,
    case: Case,
    actor: User | None,
    kind: EventKind,
    old_value: Any = None,
    new_value: Any = None,
    reason: str = "",
) -> CaseEvent:
    """Append one history row; call inside the transaction that made the change."""
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        kind=kind,
        old_value=old_value,
        new_value=new_value,
        reason=reason,
        client_visible=kind in CLIENT_VISIBLE_KINDS,
    )
