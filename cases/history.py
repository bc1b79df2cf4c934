"""Writing the append-only case history; every service that changes a case calls this."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.dispatch import Signal

from agency.accounts.models import User
from cases.models import Case, CaseEvent, EventKind
from cases.reasons import Reason, reason_fields

# Sent with ``events`` (the CaseEvents just written, in order), inside the transaction that
# wrote them, so that what the apps above derive from history (the integrations' outbox)
# commits or rolls back with it. Receivers connect when their app is ready; a receiver
# that raises aborts the change, as a failed write would.
case_events_recorded = Signal()

# The rows recorded inside history_batch(), written when it ends.
_pending: ContextVar[list[CaseEvent] | None] = ContextVar("case_history_pending", default=None)


@contextmanager
def history_batch() -> Iterator[None]:
    """Write the history rows recorded inside the block in one INSERT when it ends, in order.

    For a step that writes many rows (a transition: its state change, the deadlines it
    meets and starts, the outcome); use it inside the step's transaction. Rows recorded
    inside have no id until the block ends, and their values are written as they are
    then. Nothing is written if the block raises; a nested block leaves the writing to
    the outermost, and takes its own rows back if it raises. A savepoint rolled back inside
    the block does not take back a row recorded in it, so batch only steps that let
    errors end the whole block (as a transition's do).
    """
    outer = _pending.get()
    if outer is not None:
        start = len(outer)
        try:
            yield
        except BaseException:
            del outer[start:]  # a failed inner step takes its rows back
            raise
        return
    pending: list[CaseEvent] = []
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    _write(pending)


def _write(events: list[CaseEvent]) -> None:
    if not events:
        return
    CaseEvent.objects.bulk_create(events)  # one INSERT; ids come back (PostgreSQL, SQLite 3.35+)
    case_events_recorded.send(sender=CaseEvent, events=events)


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
        EventKind.EVIDENCE_BATCH_UPLOADED,
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

    Then sends ``case_events_recorded``: integrations writes the matching outbox event.
    Inside history_batch() the row is written when the batch ends.
    Whether the client sees it follows the kind, unless the caller decides per row (a
    deadline event is the client's business only for the deadlines the client acts on).
    ``reason`` is what a person typed, or a ``SystemReason`` (cases.reasons), stored as its
    code and values so that each reader gets it in their own language.
    """
    typed, code, params = reason_fields(reason)
    event = CaseEvent(
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
    pending = _pending.get()
    if pending is not None:
        pending.append(event)
    else:
        _write([event])
    return event
