"""The transitions' guards: each reads the case (and what the move already read) and changes nothing.

Every guard carries a stable ``code`` and a translatable ``message`` so that the API can
list all unmet guards at once instead of failing on the first. A guard receives the
``Move`` (casework.transitions) rather than the bare case, so that the evidence rule is
read once per request however many guards and answers need it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from billing.selectors import has_accepted_quote
from cases.kinds import EvidenceKind
from recovery.selectors import plan_finished

if TYPE_CHECKING:
    from casework.transitions import Move


@dataclass(frozen=True)
class Guard:
    code: str
    message: Any
    check: Callable[[Move], bool]
    # Adds a specific message and details to the unmet entry.
    explain: Callable[[Move], dict[str, Any]] | None = None


def guard(code: str, message: Any, *, explain: Callable[[Move], dict[str, Any]] | None = None) -> Callable[..., Guard]:
    def declare(check: Callable[[Move], bool]) -> Guard:
        return Guard(code=code, message=message, check=check, explain=explain)

    return declare


def explain_evidence_gaps(move: Move) -> dict[str, Any]:
    """How many orders lack which kinds, in words and as data (one summary, not one per kind)."""
    summary = move.evidence().summary
    if summary.orders_in_appeal == 0:
        return {"message": str(_("Every flagged order is excluded: there is nothing to appeal.")), "details": {}}
    kinds = ", ".join(f"{EvidenceKind(kind).label} ({count})" for kind, count in summary.missing_by_kind.items())
    message = _("Orders still without accepted evidence: %(count)d. Missing, with the number of orders: %(kinds)s.")
    return {
        "message": message % {"count": summary.orders_incomplete, "kinds": kinds},
        "details": {"orders_incomplete": summary.orders_incomplete, "missing_by_kind": summary.missing_by_kind},
    }


@guard("has_assignee", _("The case must have an assignee."))
def has_assignee(move: Move) -> bool:
    return move.case.assignee_id is not None


@guard("has_flagged_orders", _("The case must have at least one flagged order."))
def has_flagged_orders(move: Move) -> bool:
    return move.case.flagged_orders.exists()


@guard("attempts_remain", _("The platform's limit on appeal attempts has been reached."))
def attempts_remain(move: Move) -> bool:
    return move.case.appeal_attempts_used < move.case.appeal_attempt_limit


@guard("evidence_complete", _("The evidence for the appeal is not complete."), explain=explain_evidence_gaps)
def evidence_complete(move: Move) -> bool:
    # The single place where the evidence rule (evidence.rules) plugs into submit_appeal.
    return not move.evidence().gaps


@guard("outcome_not_accepted", _("The appeal was accepted; there is nothing to appeal again."))
def outcome_not_accepted(move: Move) -> bool:
    return move.case.outcome != "accepted"


@guard("quote_accepted", _("The client has not accepted a fee quote."))
def quote_accepted(move: Move) -> bool:
    return has_accepted_quote(move.case)


@guard(
    "recovery_plan_finished",
    _("The reputation recovery plan is not finished: every task done and every check-in met, or the plan waived."),
)
def recovery_plan_finished(move: Move) -> bool:
    """Only closing from reputation recovery needs the plan; closing from resolved does not."""
    return move.case.state != "reputation_recovery" or plan_finished(move.case)
