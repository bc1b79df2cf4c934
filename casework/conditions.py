"""Pure guard conditions for case transitions: each reads the case and changes nothing.

Every condition carries a stable ``code`` and a translatable ``message`` so that the API
can list all unmet conditions at once instead of failing on the first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from django.utils.translation import gettext_lazy as _

from evidence.kinds import EvidenceKind
from evidence.rules import evidence_gaps, evidence_summary

if TYPE_CHECKING:
    from cases.models import Case


class Condition(Protocol):
    code: str
    message: Any
    explain: Callable[[Any], dict[str, Any]] | None

    def __call__(self, case: Any) -> bool: ...


def condition(
    code: str, message: Any, *, explain: Callable[[Case], dict[str, Any]] | None = None
) -> Callable[[Callable[[Case], bool]], Condition]:
    """Mark a guard with its code and message; ``explain`` may add a specific message and details."""

    def decorate(func: Callable[[Case], bool]) -> Condition:
        func.code = code  # type: ignore[attr-defined]
        func.message = message  # type: ignore[attr-defined]
        func.explain = explain  # type: ignore[attr-defined]
        return func  # type: ignore[return-value]

    return decorate


def explain_evidence_gaps(case: Case) -> dict[str, Any]:
    """How many orders lack which kinds, in words and as data (one summary, not one per kind)."""
    summary = evidence_summary(case)
    if summary.orders_in_appeal == 0:
        return {"message": str(_("Every flagged order is excluded: there is nothing to appeal.")), "details": {}}
    kinds = ", ".join(f"{EvidenceKind(kind).label} ({count})" for kind, count in summary.missing_by_kind.items())
    message = _("Orders still without accepted evidence: %(count)d. Missing, with the number of orders: %(kinds)s.")
    return {
        "message": message % {"count": summary.orders_incomplete, "kinds": kinds},
        "details": {"orders_incomplete": summary.orders_incomplete, "missing_by_kind": summary.missing_by_kind},
    }


@condition("has_assignee", _("The case must have an assignee."))
def has_assignee(case: Case) -> bool:
    return case.assignee_id is not None


@condition("has_flagged_orders", _("The case must have at least one flagged order."))
def has_flagged_orders(case: Case) -> bool:
    return case.flagged_orders.exists()


@condition("attempts_remain", _("The platform's limit on appeal attempts has been reached."))
def attempts_remain(case: Case) -> bool:
    return case.appeal_attempts_used < case.appeal_attempt_limit


@condition("evidence_complete", _("The evidence for the appeal is not complete."), explain=explain_evidence_gaps)
def evidence_complete(case: Case) -> bool:
    # The single place where the evidence rule plugs into submit_appeal: see evidence.rules.
    return not evidence_gaps(case)


@condition("outcome_not_accepted", _("The appeal was accepted; there is nothing to appeal again."))
def outcome_not_accepted(case: Case) -> bool:
    return case.outcome != "accepted"


@condition("quote_accepted", _("The client has not accepted a fee quote."))
def quote_accepted(case: Case) -> bool:
    # Imported here: billing builds on cases.
    from billing.selectors import has_accepted_quote

    return has_accepted_quote(case)


@condition(
    "recovery_plan_finished",
    _("The reputation recovery plan is not finished: every task done and every check-in met, or the plan waived."),
)
def recovery_plan_finished(case: Case) -> bool:
    """Only closing from reputation recovery needs the plan; closing from resolved does not."""
    if case.state != "reputation_recovery":
        return True
    from recovery.selectors import plan_finished

    return plan_finished(case)
