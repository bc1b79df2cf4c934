"""Writing the append-only case history; every service that changes a case calls this."""

from __future__ import annotations

from typing import Any

from agency.accounts.models import User
from cases.models import Case, CaseEvent, EventKind
from cases.reasons import Reason, reason_fields

# Kinds a client sees in the portal timeline. Assignment and detail corrections are the
# agency's internal bookkeeping; creation, order counts and state changes are the client's
# business.
# Evidence arriving, its review (with the reason a rejected item cannot be used, so the
# client can fix it) and requests to the client are theirs too; exclusions, removals and
# superseding are the agency's working steps.
# Running the case (issue 6): the message thread, the fee quote and what is due, the
# platform's requests for more material and their answers, the outcome per order and the
# recovery plan are the client's business. Internal notes, the assessment and a failed
# automatic assignment never are (and are not listed here on purpose).
CLIENT_VISIBLE_KINDS = frozenset(
    {
        EventKind.CREATED,
        EventKind.STATE_CHANGED,
        EventKind.FLAGGED_ORDERS_ADDED,
        EventKind.FLAGGED_ORDERS_IMPORTED,
        EventKind.ASSIGNED,
        EventKind.EVIDENCE_UPLOADED,
        EventKind.EVIDENCE_REVIEWED,
        EventKind.EVIDENCE_REQUESTED,
        EventKind.EVIDENCE_REQUEST_FULFILLED,
        EventKind.EVIDENCE_REQUEST_CANCELLED,
        EventKind.MESSAGE_POSTED,
        EventKind.QUOTE_PROPOSED,
        EventKind.QUOTE_ACCEPTED,
        EventKind.QUOTE_REJECTED,
        EventKind.QUOTE_WITHDRAWN,
        EventKind.FEE_DUE_COMPUTED,
        EventKind.SUPPLEMENT_REQUESTED,
        EventKind.SUPPLEMENT_ANSWERED,
        EventKind.ORDER_OUTCOMES_RECORDED,
        EventKind.RECOVERY_PLAN_CREATED,
        EventKind.RECOVERY_TASK_CHANGED,
        EventKind.RECOVERY_PLAN_WAIVED,
    }
)


def record_case_event(
    *,
    case: Case,
    actor: User | None,
    kind: EventKind,
    old_value: Any = None,
    new_value: Any = None,
    reason: Reason = "",
    client_visible: bool | None = None,
) -> CaseEvent:
    """Append one history row; call inside the transaction that made the change.

    Also writes the matching outbox event (integrations.events), if the kind has one.
    Whether the client sees it follows the kind, unless the caller decides per row (a
    deadline event is the client's business only for the deadlines the client acts on).
    ``reason`` is what a person typed, or a ``SystemReason`` (cases.reasons), stored as its
    code and values so that each reader gets it in their own language.
    """
    typed, code, params = reason_fields(reason)
    event = CaseEvent.objects.create(
        case=case,
        actor=actor,
        kind=kind,
        old_value=old_value,
        new_value=new_value,
        reason=typed,
        reason_code=code,
        reason_params=params,
        client_visible=kind in CLIENT_VISIBLE_KINDS if client_visible is None else client_visible,
    )
    # The domain event for integrations goes into the outbox in this same transaction.
    # Imported here: integrations builds on cases.
    from integrations.events import event_from_case_event

    event_from_case_event(event)
    return event
