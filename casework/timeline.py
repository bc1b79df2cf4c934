"""Plain-language sentences for the client's timeline, in the language of the request."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.models import FeeModel
from cases.kinds import EvidenceKind
from cases.models import CaseEvent, CaseState, EventKind, Outcome
from cases.reasons import event_reason
from workflows.models import DeadlineKind


def _state_sentence(event: CaseEvent) -> str:
    new = event.new_value or {}
    old_state = (event.old_value or {}).get("state")
    state = new.get("state")
    if state == CaseState.ASSESSMENT:
        return _("We have started assessing your case.")
    if state == CaseState.EVIDENCE and old_state == CaseState.RESOLVED:
        return _("We are preparing a further appeal with more evidence.")
    if state == CaseState.EVIDENCE:
        return _("We have taken on your case and are collecting evidence for each flagged order.")
    if state == CaseState.SUBMITTED:
        return _("The appeal was submitted to the platform (attempt %(n)s).") % {"n": new.get("attempt", "?")}
    if state == CaseState.RESOLVED:
        outcome = new.get("outcome")
        if outcome == Outcome.ACCEPTED:
            return _("The platform accepted the appeal.")
        if outcome == Outcome.PARTIALLY_ACCEPTED:
            return _("The platform accepted the appeal in part.")
        return _("The platform rejected the appeal.")
    if state == CaseState.REPUTATION_RECOVERY:
        return _("We are helping your shop recover its reputation.")
    if state == CaseState.CLOSED:
        return _("The case is closed.")
    if state == CaseState.DECLINED:
        return _("The agency has declined this case.")
    if state == CaseState.WITHDRAWN:
        return _("The case was withdrawn.")
    return _("The case moved to a new stage.")


EVIDENCE_KINDS = (
    EventKind.EVIDENCE_UPLOADED,
    EventKind.EVIDENCE_BATCH_UPLOADED,
    EventKind.EVIDENCE_REVIEWED,
    EventKind.EVIDENCE_REQUESTED,
    EventKind.EVIDENCE_REQUEST_FULFILLED,
    EventKind.EVIDENCE_REQUEST_CANCELLED,
)


def _kind_label(value: dict[str, Any]) -> str:
    kind = value.get("kind")
    return str(EvidenceKind(kind).label) if kind in EvidenceKind.values else _("evidence")


def _evidence_sentence(event: CaseEvent) -> str:
    new = event.new_value or {}
    if event.kind == EventKind.EVIDENCE_UPLOADED:
        return _("Evidence received: %(kind)s.") % {"kind": _kind_label(new)}
    if event.kind == EventKind.EVIDENCE_BATCH_UPLOADED:
        stored = int(new.get("stored") or 0)
        return ngettext(
            "Evidence received: %(count)d file from “%(archive)s”.",
            "Evidence received: %(count)d files from “%(archive)s”.",
            stored,
        ) % {"count": stored, "archive": new.get("archive_name", "")}
    if event.kind == EventKind.EVIDENCE_REVIEWED:
        if new.get("review_state") == "accepted":
            return _("Evidence accepted: %(kind)s.") % {"kind": _kind_label(new)}
        return _("Evidence that cannot be used: %(kind)s. Reason: %(reason)s") % {
            "kind": _kind_label(new),
            "reason": event_reason(event),
        }
    if event.kind == EventKind.EVIDENCE_REQUESTED:
        if new.get("reopened"):
            return _("A request for evidence is open again: an item you sent cannot be used.")
        return _("We need evidence from you: %(count)s item(s), by %(due)s.") % {
            "count": new.get("items", "?"),
            "due": _when(new.get("due_at")),
        }
    if event.kind == EventKind.EVIDENCE_REQUEST_FULFILLED:
        return _("Thank you: everything we asked for has arrived.")
    return _("We no longer need the evidence we asked for.")


DEADLINE_KINDS = (
    EventKind.DEADLINE_SET,
    EventKind.DEADLINE_MOVED,
    EventKind.DEADLINE_MET,
    EventKind.DEADLINE_MISSED,
    EventKind.DEADLINE_CANCELLED,
    EventKind.DEADLINE_REOPENED,
)


def _when(value: Any) -> str:
    due = parse_datetime(str(value or ""))
    return timezone.localtime(due).strftime("%Y-%m-%d %H:%M") if due else "?"


def _chat_evidence_sentence(event: CaseEvent, due: str) -> str:
    if event.kind == EventKind.DEADLINE_SET:
        return _("Chat records for your orders must be saved by %(due)s.") % {"due": due}
    if event.kind == EventKind.DEADLINE_MOVED:
        return _("The next chat records to save are due by %(due)s.") % {"due": due}
    if event.kind == EventKind.DEADLINE_MET:
        return _("The chat records we need for your orders are saved.")
    if event.kind == EventKind.DEADLINE_MISSED:
        return _("Chat records due by %(due)s were not saved in time.") % {"due": due}
    if event.kind == EventKind.DEADLINE_CANCELLED:
        return _("Chat records are no longer needed at this stage.")
    return _("Chat records for your orders are needed again, by %(due)s.") % {"due": due}


def _check_in_sentence(event: CaseEvent, due: str) -> str:
    if event.kind == EventKind.DEADLINE_SET:
        return _("We will check in with you on your shop's recovery by %(due)s.") % {"due": due}
    if event.kind == EventKind.DEADLINE_MOVED:
        return _("Our recovery check-in with you is now planned by %(due)s.") % {"due": due}
    if event.kind == EventKind.DEADLINE_MET:
        return _("The recovery check-in is done.")
    if event.kind == EventKind.DEADLINE_MISSED:
        return _("The recovery check-in planned by %(due)s is overdue.") % {"due": due}
    if event.kind == EventKind.DEADLINE_CANCELLED:
        return _("The recovery check-in is no longer planned.")
    return _("The recovery check-in is open again, by %(due)s.") % {"due": due}


def _deadline_sentence(event: CaseEvent) -> str:
    """Only the client's own deadlines reach the timeline; each kind says what the client needs to know."""
    new = event.new_value or {}
    due = _when(new.get("due_at"))
    if new.get("kind") == DeadlineKind.CHAT_EVIDENCE_EXPIRY:
        return _chat_evidence_sentence(event, due)
    if new.get("kind") == DeadlineKind.RECOVERY_CHECK_IN:
        return _check_in_sentence(event, due)
    # Any other deadline a client sees one day: told without its internal title.
    if event.kind == EventKind.DEADLINE_MET:
        return _("A deadline on your case was met.")
    if event.kind == EventKind.DEADLINE_MISSED:
        return _("A deadline on your case has passed.")
    if event.kind == EventKind.DEADLINE_CANCELLED:
        return _("A deadline on your case no longer applies.")
    return _("A deadline on your case is set for %(due)s.") % {"due": due}


def _count(value: Any) -> int | None:
    """A whole number from an event's values, or None when it is missing or not one."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _quote_sentence(event: CaseEvent) -> str:
    """The fee quote as the client reads it: the model, the amount, the most it can cost; never who decided."""
    new = event.new_value or {}
    if event.kind == EventKind.QUOTE_ACCEPTED:
        return _("The fee quote was accepted.")
    if event.kind == EventKind.QUOTE_REJECTED:
        return _("The fee quote was rejected.")
    if event.kind == EventKind.QUOTE_WITHDRAWN:
        return _("An earlier fee quote no longer applies.")
    values = {
        "amount": new.get("amount", "?"),
        "currency": new.get("currency", ""),
        "total": new.get("quoted_total", "?"),
    }
    fee_model = new.get("fee_model")
    if fee_model == FeeModel.PER_ORDER_CLEARED:
        offer = (
            _("We proposed a success fee of %(amount)s %(currency)s per order cleared, at most %(total)s %(currency)s.")
            % values
        )
    elif fee_model == FeeModel.PER_CASE_WON:
        offer = _("We proposed a success fee of %(amount)s %(currency)s if the appeal succeeds.") % values
    else:
        offer = _("We proposed a flat fee of %(amount)s %(currency)s.") % values
    sentences = [offer]
    if new.get("refund_if_failed") is True:
        sentences.append(_("It is refunded in full if the appeal fails."))
    return " ".join(sentences)


def _fee_due_sentence(event: CaseEvent) -> str:
    new = event.new_value or {}
    amount = new.get("amount_due")
    if amount is None or amount == "":
        return _("The fee due for your case has been worked out.")
    return _("The fee due for your case is %(amount)s %(currency)s.") % {
        "amount": amount,
        "currency": new.get("currency", ""),
    }


def _outcomes_sentence(event: CaseEvent) -> str:
    """Counts only: per-order notes are the agency's working notes."""
    new = event.new_value or {}
    cleared = _count(new.get("orders_cleared", new.get("cleared")))
    upheld = _count(new.get("orders_upheld", new.get("upheld")))
    if cleared is None or upheld is None:
        return _("The platform's decision on each flagged order has been recorded.")
    sentence = _("The platform's decision per order: %(cleared)s cleared, %(upheld)s upheld.") % {
        "cleared": cleared,
        "upheld": upheld,
    }
    points = _count(new.get("points_restored"))
    if points:
        sentence += " " + _("Points restored: %(points)s.") % {"points": points}
    return sentence


def _recovery_sentence(event: CaseEvent) -> str:
    new = event.new_value or {}
    if event.kind == EventKind.RECOVERY_PLAN_CREATED:
        return _("We have drawn up a plan to help your shop recover its reputation.")
    if event.kind == EventKind.RECOVERY_PLAN_WAIVED:
        # The reason for waiving is the agency's; the client only needs to know it is over.
        return _("The remaining steps of the recovery plan are no longer needed.")
    title = new.get("title") if isinstance(new.get("title"), str) else ""
    if new.get("status") == "done":
        if title:
            return _("A step of your recovery plan is done: %(title)s.") % {"title": title}
        return _("A step of your recovery plan is done.")
    if title:
        return _("A step of your recovery plan was updated: %(title)s.") % {"title": title}
    return _("A step of your recovery plan was updated.")


def _supplement_sentence(event: CaseEvent) -> str:
    """What the platform asked for is not repeated: it is worded for the agency, and we act on it."""
    if event.kind == EventKind.SUPPLEMENT_ANSWERED:
        return _("We sent the additional material to the platform.")
    due = _when((event.new_value or {}).get("due_at"))
    if due == "?":
        return _("The platform asked for more material. We are preparing it.")
    return _("The platform asked for more material by %(due)s. We are preparing it.") % {"due": due}


QUOTE_KINDS = (EventKind.QUOTE_PROPOSED, EventKind.QUOTE_ACCEPTED, EventKind.QUOTE_REJECTED, EventKind.QUOTE_WITHDRAWN)
RECOVERY_KINDS = (EventKind.RECOVERY_PLAN_CREATED, EventKind.RECOVERY_TASK_CHANGED, EventKind.RECOVERY_PLAN_WAIVED)
SUPPLEMENT_KINDS = (EventKind.SUPPLEMENT_REQUESTED, EventKind.SUPPLEMENT_ANSWERED)


def _running_sentence(event: CaseEvent) -> str | None:
    """Messages, fees, the platform's requests, outcomes per order and recovery (issue 6); None for other kinds."""
    if event.kind == EventKind.MESSAGE_POSTED:
        if (event.new_value or {}).get("from_client"):
            return _("You sent the agency a message.")
        return _("The agency sent you a message.")
    if event.kind in QUOTE_KINDS:
        return _quote_sentence(event)
    if event.kind == EventKind.FEE_DUE_COMPUTED:
        return _fee_due_sentence(event)
    if event.kind in SUPPLEMENT_KINDS:
        return _supplement_sentence(event)
    if event.kind == EventKind.ORDER_OUTCOMES_RECORDED:
        return _outcomes_sentence(event)
    if event.kind in RECOVERY_KINDS:
        return _recovery_sentence(event)
    return None


def describe(event: CaseEvent) -> str:
    """One sentence a merchant understands, with no internal names or notes."""
    if event.kind == EventKind.CREATED:
        return _("Your case %(reference)s was opened.") % {"reference": (event.new_value or {}).get("reference", "")}
    if event.kind in (EventKind.FLAGGED_ORDERS_ADDED, EventKind.FLAGGED_ORDERS_IMPORTED):
        return _("Flagged orders recorded on your case: %(count)s.") % {
            "count": (event.new_value or {}).get("count", 0)
        }
    if event.kind == EventKind.ASSIGNED:
        if (event.new_value or {}).get("assignee") is None:
            return _("Your case is waiting for a case manager.")
        return _("A case manager is now looking after your case.")
    if event.kind == EventKind.STATE_CHANGED:
        return _state_sentence(event)
    if event.kind in EVIDENCE_KINDS:
        return _evidence_sentence(event)
    if event.kind in DEADLINE_KINDS:
        return _deadline_sentence(event)
    return _running_sentence(event) or _("Your case was updated.")
