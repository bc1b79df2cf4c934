"""Domain events go into the outbox in the transaction that caused them, numbered per case."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.db import connections, transaction
from django.utils import timezone

from agency.accounts.models import User
from agency.organisations.models import Shop
from cases.models import Case, CaseEvent
from casework import services
from integrations import tasks
from integrations.events import event_types_for, outbox_event_write
from integrations.models import EventType, OutboxEvent, WebhookSubscription
from tests.conftest import requires_postgres
from tests.factories import order_data

pytestmark = pytest.mark.django_db


def outbox(case: Case) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(case=case).order_by("sequence"))


def test_opening_a_case_writes_numbered_events(make_case: Callable[..., Case], blossom_shop: Shop) -> None:
    case = make_case(blossom_shop, orders=2)

    events = outbox(case)
    assert [event.type for event in events] == [EventType.CASE_CREATED, EventType.ORDERS_IMPORTED]
    assert [event.sequence for event in events] == [1, 2]
    case.refresh_from_db()
    assert case.event_sequence == 2
    created = events[0]
    assert created.organisation_id == blossom_shop.organisation_id
    assert created.fanned_out_at is None
    assert created.data["case"]["id"] == case.pk
    assert created.data["case"]["reference"] == case.reference
    assert created.data["case"]["organisation"] == case.organisation_id
    assert created.data["case"]["state"] == "intake"
    assert created.data["values"] == {"reference": case.reference}
    assert created.occurred_at == CaseEvent.objects.get(case=case, kind="created").created_at


def test_each_case_counts_its_own_events(make_case: Callable[..., Case], blossom_shop: Shop) -> None:
    first = make_case(blossom_shop, orders=0)
    second = make_case(blossom_shop, orders=0)
    assert [event.sequence for event in outbox(first)] == [1]
    assert [event.sequence for event in outbox(second)] == [1]


def test_the_appeal_transitions_write_an_appeal_event_too(
    case_in: Callable[..., Case], supervisor: User, manager: User
) -> None:
    case = case_in("submitted")
    types = [event.type for event in outbox(case)]
    assert types[-2:] == [EventType.CASE_STATE_CHANGED, EventType.APPEAL_SUBMITTED]
    assert EventType.CASE_ASSIGNED in types
    assert EventType.EVIDENCE_UPLOADED not in types or EventType.EVIDENCE_REVIEWED in types

    services.case_transition(case_id=case.pk, name="record_outcome", actor=supervisor, outcome="rejected")
    after = [event for event in outbox(case) if event.sequence > len(types)]
    # The state change and its appeal event, then what follows from the outcome: the fee due (flat quote).
    assert [event.type for event in after] == [
        EventType.CASE_STATE_CHANGED,
        EventType.OUTCOME_RECORDED,
        EventType.FEE_DUE_COMPUTED,
    ]
    last = after[:2]
    assert last[1].data["values"]["outcome"] == "rejected"
    assert last[1].data["case"]["outcome"] == "rejected"
    sequences = [event.sequence for event in outbox(case)]
    assert sequences == list(range(1, len(sequences) + 1))


def test_reasons_stay_out_of_the_payload(make_case: Callable[..., Case], blossom_shop: Shop, supervisor: User) -> None:
    case = make_case(blossom_shop)
    services.case_transition(case_id=case.pk, name="decline", actor=supervisor, reason="Internal: client lied.")
    event = outbox(case)[-1]
    assert event.type == EventType.CASE_STATE_CHANGED
    assert "Internal" not in str(event.data)


def test_kinds_without_an_event_type_write_nothing(
    make_case: Callable[..., Case], blossom_shop: Shop, intake: User
) -> None:
    case = make_case(blossom_shop)
    before = OutboxEvent.objects.count()
    services.case_update_details(case_id=case.pk, actor=intake, changes={"penalty_points": 3})
    assert CaseEvent.objects.filter(case=case, kind="details_updated").exists()
    assert OutboxEvent.objects.count() == before


class Rollback(Exception):
    """Raised inside a transaction to roll it back, as any failure after the service call would."""


def in_rolled_back_transaction(change: Callable[[], object], check: Callable[[], None] = lambda: None) -> None:
    with transaction.atomic():
        change()
        check()
        raise Rollback


def test_a_rolled_back_change_leaves_no_event(blossom_shop: Shop, intake: User) -> None:
    def open_case() -> Case:
        return services.case_create(
            actor=intake,
            shop=blossom_shop,
            violation_type="fake_transaction",
            notice_received_at=timezone.now() - dt.timedelta(hours=1),
        )

    def written() -> None:
        assert OutboxEvent.objects.count() == 1

    with pytest.raises(Rollback):
        in_rolled_back_transaction(open_case, written)
    assert OutboxEvent.objects.count() == 0


def test_a_rolled_back_transition_gives_back_its_sequence_number(
    make_case: Callable[..., Case], blossom_shop: Shop, supervisor: User, manager: User
) -> None:
    case = make_case(blossom_shop, assignee=manager)
    count = len(outbox(case))

    def start() -> Case:
        return services.case_transition(case_id=case.pk, name="start_assessment", actor=supervisor)

    with pytest.raises(Rollback):
        in_rolled_back_transaction(start)
    assert len(outbox(case)) == count
    start()
    assert outbox(case)[-1].sequence == count + 1


def test_one_dispatch_is_queued_per_transaction(
    blossom_shop: Shop, intake: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        services.case_create(
            actor=intake,
            shop=blossom_shop,
            violation_type="fake_transaction",
            notice_received_at=timezone.now() - dt.timedelta(hours=1),
            flagged_orders=[order_data(0)],
        )
    assert OutboxEvent.objects.count() == 2
    assert [callback for callback in callbacks if callback is tasks.queue_dispatch] == [tasks.queue_dispatch]


def test_a_dispatch_is_queued_only_when_someone_subscribes(administrator: User) -> None:
    with mock.patch.object(tasks.dispatch_webhooks, "delay") as delay:
        tasks.queue_dispatch()
        delay.assert_not_called()
        WebhookSubscription.objects.create(url="https://example.com/", secret="s" * 20, created_by=administrator)
        tasks.queue_dispatch()
        delay.assert_called_once_with()


@pytest.mark.parametrize(
    ("kind", "new_value", "expected"),
    [
        ("created", {}, ["case.created"]),
        ("state_changed", {"transition": "accept_case"}, ["case.state_changed"]),
        ("state_changed", {"transition": "submit_appeal"}, ["case.state_changed", "appeal.submitted"]),
        ("state_changed", {"transition": "record_outcome"}, ["case.state_changed", "appeal.outcome_recorded"]),
        ("assigned", {}, ["case.assigned"]),
        ("flagged_orders_added", {}, ["case.flagged_orders_imported"]),
        ("flagged_orders_imported", {}, ["case.flagged_orders_imported"]),
        ("evidence_uploaded", {}, ["evidence.uploaded"]),
        ("evidence_reviewed", {}, ["evidence.reviewed"]),
        ("evidence_requested", {}, ["evidence.requested"]),
        ("reminder_sent", {}, ["deadline.due_soon"]),
        ("deadline_missed", {}, ["deadline.missed"]),
        ("details_updated", {}, []),
        ("order_excluded", {}, []),
        ("deadline_set", {}, []),
    ],
)
def test_history_kinds_map_to_event_types(kind: str, new_value: dict[str, str], expected: list[str]) -> None:
    assert event_types_for(CaseEvent(kind=kind, new_value=new_value)) == expected


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_events_of_one_case_get_consecutive_numbers(
    make_case: Callable[..., Case], blossom_shop: Shop
) -> None:
    case = make_case(blossom_shop, orders=0)
    before = Case.objects.get(pk=case.pk).event_sequence
    both_inside = threading.Barrier(2, timeout=10)
    written: list[int] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with transaction.atomic():
                loaded = Case.objects.get(pk=case.pk)
                both_inside.wait()
                # The second writer waits here for the first one's row lock, until it commits.
                event = outbox_event_write(
                    case=loaded, type=EventType.CASE_ASSIGNED, values={}, occurred_at=timezone.now()
                )
            written.append(event.sequence)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(written) == [before + 1, before + 2]
    assert Case.objects.get(pk=case.pk).event_sequence == before + 2
