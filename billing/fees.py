"""What the client owes once the outcome is known, from the accepted quote and the per-order outcome."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from agency.accounts.models import User
from billing.models import FeeModel, FeeQuote, QuoteStatus
from cases.history import record_case_event
from cases.models import Case, EventKind, Outcome

ZERO = Decimal("0.00")
# Outcomes under which a success fee per case is earned.
WON_OUTCOMES = (Outcome.ACCEPTED, Outcome.PARTIALLY_ACCEPTED)


def fee_due(*, fee_model: str, amount: Decimal, refund_if_failed: bool, orders_cleared: int, outcome: str) -> Decimal:
    """The amount owed under one quote for one outcome; pure, so every combination is easy to test.

    - flat: the amount, whatever the outcome; with a refund on failure, nothing when the
      appeal was rejected outright (no order cleared);
    - per order cleared: the amount for each order the platform cleared;
    - per case won: the amount when the platform accepted the appeal in full or in part.
    """
    if fee_model == FeeModel.FLAT:
        due = ZERO if refund_if_failed and outcome == Outcome.REJECTED else amount
    elif fee_model == FeeModel.PER_ORDER_CLEARED:
        due = amount * max(orders_cleared, 0)
    elif fee_model == FeeModel.PER_CASE_WON:
        due = amount if outcome in WON_OUTCOMES else ZERO
    else:
        raise ValueError(f"unknown fee model {fee_model!r}")
    return due.quantize(Decimal("0.01"))


def amount_due_update(*, case: Case, actor: User) -> FeeQuote | None:
    """Compute the accepted quote's amount due from the case's outcome; call in the outcome's transaction.

    ``case.orders_cleared`` and ``case.outcome`` cover every attempt so far, so the outcome
    of a further appeal recomputes the amount from everything cleared. A history row (and
    its webhook event) is written only when the amount changes. Without an accepted quote
    there is nothing to compute.
    """
    quote = FeeQuote.objects.select_for_update().filter(case_id=case.pk, status=QuoteStatus.ACCEPTED).first()
    if quote is None or not case.outcome:
        return None
    due = fee_due(
        fee_model=quote.fee_model,
        amount=quote.amount,
        refund_if_failed=quote.refund_if_failed,
        orders_cleared=case.orders_cleared,
        outcome=case.outcome,
    )
    previous = quote.amount_due
    quote.amount_due = due
    quote.amount_due_computed_at = timezone.now()
    quote.save(update_fields=["amount_due", "amount_due_computed_at"])
    if previous != due:
        record_case_event(
            case=case,
            actor=actor,
            kind=EventKind.FEE_DUE_COMPUTED,
            old_value={"amount_due": None if previous is None else str(previous)},
            new_value={
                "quote": quote.pk,
                "version": quote.version,
                "fee_model": quote.fee_model,
                "amount_due": str(due),
                "currency": quote.currency,
                "basis": {"orders_cleared": case.orders_cleared, "outcome": case.outcome},
            },
            client_visible=True,
        )
    return quote
