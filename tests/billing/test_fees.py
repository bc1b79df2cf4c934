"""The amount due after the outcome: the formula for every fee model and outcome, and its bookkeeping."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.fees import amount_due_update, fee_due
from billing.models import FeeQuote
from billing.services import quote_accept, quote_propose
from cases.assessment import assessment_record
from cases.models import CaseEvent
from casework import services as case_services
from integrations.models import OutboxEvent
from tests.conftest import complete_evidence

# --- The formula ------------------------------------------------------------------------------

# (fee model, refund if failed, orders cleared, outcome) -> amount due, for an amount of 100.
MATRIX = [
    ("flat", False, 3, "accepted", "100.00"),
    ("flat", False, 1, "partially_accepted", "100.00"),
    ("flat", False, 0, "rejected", "100.00"),
    ("flat", True, 3, "accepted", "100.00"),
    ("flat", True, 1, "partially_accepted", "100.00"),
    ("flat", True, 0, "rejected", "0.00"),
    ("per_order_cleared", False, 3, "accepted", "300.00"),
    ("per_order_cleared", False, 2, "partially_accepted", "200.00"),
    ("per_order_cleared", False, 0, "rejected", "0.00"),
    ("per_case_won", False, 3, "accepted", "100.00"),
    ("per_case_won", False, 1, "partially_accepted", "100.00"),
    ("per_case_won", False, 0, "rejected", "0.00"),
]


@pytest.mark.parametrize(("fee_model", "refund", "cleared", "outcome", "due"), MATRIX)
def test_fee_due_for_every_model_and_outcome(fee_model, refund, cleared, outcome, due):
    result = fee_due(
        fee_model=fee_model,
        amount=Decimal("100.00"),
        refund_if_failed=refund,
        orders_cleared=cleared,
        outcome=outcome,
    )
    assert result == Decimal(due)
    assert str(result) == due


def test_fee_due_refuses_an_unknown_model():
    with pytest.raises(ValueError, match="unknown fee model"):
        fee_due(fee_model="hourly", amount=Decimal("1"), refund_if_failed=False, orders_cleared=0, outcome="accepted")


# --- After the outcome ------------------------------------------------------------------------


@pytest.fixture
def submitted_with(case_in, manager, supervisor, alice):
    """A Blossom case (3 orders) submitted to the platform under a quote the client accepted."""

    def make(fee_model: str, amount: str, refund_if_failed: bool = False):
        case = case_in("assessment")
        assessment_record(case_id=case.pk, actor=manager, recommendation="take")
        quote = quote_propose(
            case_id=case.pk,
            actor=manager,
            fee_model=fee_model,
            amount=Decimal(amount),
            refund_if_failed=refund_if_failed,
        )
        quote_accept(quote_id=quote.pk, actor=alice)
        case_services.case_transition(case_id=case.pk, name="accept_case", actor=manager)
        complete_evidence(case, reviewer=supervisor)
        case_services.case_transition(case_id=case.pk, name="submit_appeal", actor=manager)
        case.refresh_from_db()
        return case, quote

    return make


def record(case, actor, *, cleared: int):
    """The platform clears the first ``cleared`` appealed orders and upholds the rest."""
    pending = case.flagged_orders.filter(excluded_at__isnull=True).exclude(outcome="cleared").order_by("pk")
    results = [{"order": order.pk, "result": "cleared"} for order in pending[:cleared]]
    return case_services.case_transition(
        case_id=case.pk, name="record_outcome", actor=actor, order_results=results, default_result="upheld"
    )


@pytest.mark.parametrize(
    ("fee_model", "amount", "refund", "cleared", "outcome", "due"),
    [
        ("flat", "8000", False, 0, "rejected", "8000.00"),
        ("flat", "8000", True, 0, "rejected", "0.00"),
        ("flat", "8000", True, 1, "partially_accepted", "8000.00"),
        ("per_order_cleared", "500", False, 2, "partially_accepted", "1000.00"),
        ("per_order_cleared", "500", False, 3, "accepted", "1500.00"),
        ("per_order_cleared", "500", False, 0, "rejected", "0.00"),
        ("per_case_won", "6000", False, 1, "partially_accepted", "6000.00"),
        ("per_case_won", "6000", False, 3, "accepted", "6000.00"),
        ("per_case_won", "6000", False, 0, "rejected", "0.00"),
    ],
)
def test_amount_due_after_the_outcome(submitted_with, manager, fee_model, amount, refund, cleared, outcome, due):
    case, quote = submitted_with(fee_model, amount, refund)

    case = record(case, manager, cleared=cleared)

    assert (case.outcome, case.orders_cleared) == (outcome, cleared)
    quote.refresh_from_db()
    assert quote.amount_due == Decimal(due)
    assert quote.amount_due_computed_at is not None
    event = CaseEvent.objects.get(case=case, kind="fee_due_computed")
    assert event.client_visible is True
    assert event.actor == manager
    assert event.old_value == {"amount_due": None}
    assert event.new_value == {
        "quote": quote.pk,
        "version": quote.version,
        "fee_model": fee_model,
        "amount_due": due,
        "currency": "CNY",
        "basis": {"orders_cleared": cleared, "outcome": outcome},
    }
    outbox = OutboxEvent.objects.get(case=case, type="fee.amount_due_computed")
    assert outbox.data["values"]["amount_due"] == due


def test_a_further_appeal_recomputes_from_every_order_cleared(submitted_with, manager):
    case, quote = submitted_with("per_order_cleared", "500")
    case = record(case, manager, cleared=1)
    quote.refresh_from_db()
    assert quote.amount_due == Decimal("500.00")

    case_services.case_transition(case_id=case.pk, name="reappeal", actor=manager)
    case_services.case_transition(case_id=case.pk, name="submit_appeal", actor=manager)
    case.refresh_from_db()
    case = record(case, manager, cleared=1)

    assert case.orders_cleared == 2
    quote.refresh_from_db()
    assert quote.amount_due == Decimal("1000.00")
    events = CaseEvent.objects.filter(case=case, kind="fee_due_computed").order_by("id")
    assert [e.new_value["amount_due"] for e in events] == ["500.00", "1000.00"]
    assert events.last().old_value == {"amount_due": "500.00"}
    assert OutboxEvent.objects.filter(case=case, type="fee.amount_due_computed").count() == 2


def test_an_unchanged_amount_writes_no_new_history(submitted_with, manager):
    case, quote = submitted_with("per_case_won", "6000")
    case = record(case, manager, cleared=1)
    case_services.case_transition(case_id=case.pk, name="reappeal", actor=manager)
    case_services.case_transition(case_id=case.pk, name="submit_appeal", actor=manager)
    case.refresh_from_db()

    record(case, manager, cleared=0)

    quote.refresh_from_db()
    assert quote.amount_due == Decimal("6000.00")
    assert CaseEvent.objects.filter(case=case, kind="fee_due_computed").count() == 1


def test_without_an_accepted_quote_nothing_is_computed(case_in, manager):
    case = case_in("intake")
    case.outcome = "accepted"
    case.orders_cleared = 3

    assert amount_due_update(case=case, actor=manager) is None

    assert not CaseEvent.objects.filter(case=case, kind="fee_due_computed").exists()
    assert not FeeQuote.objects.filter(amount_due__isnull=False).exists()


def test_the_client_sees_the_amount_due_in_the_portal(api, submitted_with, manager, alice):
    case, _quote = submitted_with("per_order_cleared", "500")
    record(case, manager, cleared=2)

    response = api(alice).get(f"/api/v1/portal/cases/{case.pk}/quotes/")

    [row] = response.data["results"]
    assert row["amount_due"] == "1000.00"
    assert "1000.00" in row["explanation"]
    timeline = api(alice).get(f"/api/v1/portal/cases/{case.pk}/timeline/")
    assert "fee_due_computed" in [entry["kind"] for entry in timeline.data["results"]]
