"""Writing domain events to the transactional outbox, from the case history row that caused them."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.dispatch import receiver

from cases.history import case_events_recorded
from cases.models import Case, CaseEvent, EventKind
from integrations.models import EventType, OutboxEvent

# One history kind, one event type. A state change can say more: the two appeal
# transitions also write their own event (after the state change, in the same transaction).
KIND_TO_EVENT: dict[str, str] = {
    EventKind.CREATED: EventType.CASE_CREATED,
    EventKind.STATE_CHANGED: EventType.CASE_STATE_CHANGED,
    EventKind.ASSIGNED: EventType.CASE_ASSIGNED,
    EventKind.FLAGGED_ORDERS_IMPORTED: EventType.ORDERS_IMPORTED,
    EventKind.FLAGGED_ORDERS_ADDED: EventType.ORDERS_IMPORTED,
    EventKind.EVIDENCE_UPLOADED: EventType.EVIDENCE_UPLOADED,
    EventKind.EVIDENCE_BATCH_UPLOADED: EventType.EVIDENCE_BATCH_UPLOADED,
    EventKind.EVIDENCE_REVIEWED: EventType.EVIDENCE_REVIEWED,
    EventKind.EVIDENCE_REQUESTED: EventType.EVIDENCE_REQUESTED,
    EventKind.REMINDER_SENT: EventType.DEADLINE_DUE_SOON,
    EventKind.DEADLINE_MISSED: EventType.DEADLINE_MISSED,
    EventKind.QUOTE_PROPOSED: EventType.QUOTE_PROPOSED,
    EventKind.QUOTE_ACCEPTED: EventType.QUOTE_ACCEPTED,
    EventKind.QUOTE_REJECTED: EventType.QUOTE_REJECTED,
    EventKind.FEE_DUE_COMPUTED: EventType.FEE_DUE_COMPUTED,
    EventKind.MESSAGE_POSTED: EventType.MESSAGE_POSTED,
    EventKind.SUPPLEMENT_REQUESTED: EventType.SUPPLEMENT_REQUESTED,
    EventKind.SUPPLEMENT_ANSWERED: EventType.SUPPLEMENT_ANSWERED,
    EventKind.RECOVERY_PLAN_CREATED: EventType.RECOVERY_PLAN_CREATED,
    EventKind.RECOVERY_TASK_CHANGED: EventType.RECOVERY_TASK_CHANGED,
    # Never: NOTE_ADDED and ASSESSMENT_RECORDED are internal, and an organisation's
    # integration (a client) must not learn of them.
}
# Transition name -> the event types its state change adds after case.state_changed. Filled
# by the layer that declares each transition's steps (casework.transitions), through
# transition_events_register, so that a transition's effects are declared in one place.
TRANSITION_EVENTS: dict[str, tuple[str, ...]] = {}


def transition_events_register(transition: str, event_types: tuple[str, ...]) -> None:
    TRANSITION_EVENTS[transition] = tuple(event_types)


def event_types_for(case_event: CaseEvent) -> list[str]:
    """The event types one history row gives rise to, in the order they are written (maybe none)."""
    first = KIND_TO_EVENT.get(case_event.kind)
    if first is None:
        return []
    types = [first]
    if case_event.kind == EventKind.STATE_CHANGED and isinstance(case_event.new_value, dict):
        types.extend(TRANSITION_EVENTS.get(str(case_event.new_value.get("transition", "")), ()))
    return types


def case_snapshot(case: Case) -> dict[str, Any]:
    """The compact view of a case every event carries; nothing internal (no notes, no reasons)."""
    return {
        "id": case.pk,
        "reference": case.reference,
        "external_reference": case.external_reference,
        "organisation": case.organisation_id,
        "state": case.state,
        "outcome": case.outcome,
        "assignee": case.assignee_id,
        "flagged_order_count": case.flagged_order_count,
        "updated_at": case.updated_at,
    }


def _next_sequences(case: Case, count: int) -> range:
    """Take the case's next ``count`` event numbers.

    The UPDATE locks the case row until the transaction ends, so a second transaction
    writing an event for the same case waits here: sequence numbers are handed out, and
    committed, in order. (RETURNING needs PostgreSQL or SQLite 3.35+.)
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_case SET event_sequence = event_sequence + %s WHERE id = %s RETURNING event_sequence",
            [count, case.pk],
        )
        row = cursor.fetchone()
    last = int(row[0])
    # Keep the instance in step, so that a later full save() of it does not write the old number back.
    case.event_sequence = last
    return range(last - count + 1, last + 1)


def _outbox_events(case: Case, typed: list[tuple[str, Any, Any]]) -> list[OutboxEvent]:
    """Write one outbox event per (type, values, occurred_at) for a case, numbered in order."""
    events = [
        OutboxEvent(
            type=type_,
            case=case,
            organisation_id=case.organisation_id,
            sequence=sequence,
            occurred_at=occurred_at,
            data={"case": case_snapshot(case), "values": values},
        )
        for sequence, (type_, values, occurred_at) in zip(_next_sequences(case, len(typed)), typed, strict=True)
    ]
    OutboxEvent.objects.bulk_create(events)
    _dispatch_on_commit()
    return events


def outbox_event_write(*, case: Case, type: str, values: Any, occurred_at: Any) -> OutboxEvent:
    """Write one outbox event for a case; call inside the transaction that made the change.

    Once that transaction commits, a dispatcher run is queued; beat runs one every few
    seconds as well, so an event whose task is lost (broker restart) still goes out.
    """
    return _outbox_events(case, [(type, values, occurred_at)])[0]


def _dispatch_on_commit() -> None:
    """Queue one dispatcher run for when the transaction commits, however many events it writes.

    A callback registered inside a savepoint that rolls back is dropped with it, so the
    next event outside that savepoint registers a new one.
    """
    from integrations.tasks import queue_dispatch

    if any(entry[1] is queue_dispatch for entry in connection.run_on_commit):
        return
    transaction.on_commit(queue_dispatch, robust=True)


@receiver(case_events_recorded, dispatch_uid="integrations.outbox")
def outbox_from_history(sender: Any, events: list[CaseEvent], **kwargs: Any) -> None:
    """The history rows just written write their outbox events in the same transaction."""
    by_case: dict[int, tuple[Case, list[tuple[str, Any, Any]]]] = {}
    for case_event in events:
        for event_type in event_types_for(case_event):
            entry = by_case.setdefault(case_event.case_id, (case_event.case, []))
            entry[1].append((event_type, case_event.new_value, case_event.created_at))
    for case, typed in by_case.values():
        _outbox_events(case, typed)
