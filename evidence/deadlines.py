"""The deadlines that evidence keeps: the chat logs the platform deletes, and requests to the client.

Evidence builds on workflows: the deadline machinery (workflows.deadlines) does not import
evidence; this module tells it when evidence changes. (Leaving the evidence stages cancels
the chat evidence deadline with the case's other deadlines: workflows.deadlines.state_left.) The chat evidence deadline
is also re-synced when one of them is missed (registered with workflows.deadlines.on_missed).
"""

from __future__ import annotations

from django.utils import timezone

from agency.accounts.models import User
from cases.models import Case
from cases.reasons import ReasonCode, system_reason
from evidence.models import EvidenceRequest, RequestStatus
from evidence.rules import chat_evidence_status
from workflows.deadlines import (
    CHAT_EVIDENCE_STATES,
    case_wait_end,
    case_wait_start,
    deadline_close,
    deadline_move,
    deadline_reopen,
    deadline_set,
    on_missed,
    open_deadlines,
)
from workflows.models import Deadline, DeadlineKind, DeadlineStatus, WaitingOn, WaitSource


def chat_evidence_sync(case: Case, *, actor: User | None) -> Deadline | None:
    """One open deadline per case for the earliest chat evidence the platform will delete next.

    Due at the order time plus the profile's look-back for the first order whose chat log
    is still to be secured; met when none is left; moved as logs arrive or orders change.
    """
    existing = next(iter(open_deadlines(case, DeadlineKind.CHAT_EVIDENCE_EXPIRY)), None)
    if case.state not in CHAT_EVIDENCE_STATES:
        if existing is not None:
            existing.case = case
            deadline_close(
                existing,
                status=DeadlineStatus.CANCELLED,
                actor=actor,
                reason=system_reason(ReasonCode.CHAT_EVIDENCE_STAGE_OVER),
            )
        return None
    due = chat_evidence_status(case)["next_deadline"]
    if existing is not None:
        existing.case = case
        if due is None:
            deadline_close(
                existing,
                status=DeadlineStatus.MET,
                actor=actor,
                reason=system_reason(ReasonCode.CHAT_EVIDENCE_NONE_OUTSTANDING),
            )
            return None
        deadline_move(
            existing, due_at=due, actor=actor, reason=system_reason(ReasonCode.CHAT_EVIDENCE_EARLIEST_CHANGED)
        )
        return existing
    if due is None:
        return None
    return deadline_set(
        case=case,
        kind=DeadlineKind.CHAT_EVIDENCE_EXPIRY,
        actor=actor,
        starts_at=timezone.now(),
        due_at=due,
        basis={
            "source": "chat_lookback",
            "lookback_days": case.rule_profile.chat_lookback_days if case.rule_profile else None,
        },
    )


def evidence_request_sync(case: Case, request: EvidenceRequest, *, actor: User | None) -> None:
    """Keep an evidence request's deadline and the case's wait on the client in step with the request."""
    deadline = Deadline.objects.select_for_update().filter(evidence_request_id=request.pk).first()
    if deadline is None:
        deadline = deadline_set(
            case=case,
            kind=DeadlineKind.CLIENT_EVIDENCE_REQUEST,
            actor=actor,
            starts_at=request.created_at,
            due_at=request.due_at,
            evidence_request_id=request.pk,
            basis={"source": "evidence_request", "request": request.pk},
        )
    deadline.case = case
    if request.status == RequestStatus.FULFILLED:
        deadline_close(
            deadline,
            status=DeadlineStatus.MET,
            actor=actor,
            reason=system_reason(ReasonCode.EVIDENCE_REQUEST_FULFILLED),
        )
    elif request.status == RequestStatus.CANCELLED:
        deadline_close(deadline, status=DeadlineStatus.CANCELLED, actor=actor, reason=request.cancellation_reason or "")
    elif deadline.status == DeadlineStatus.MET:
        deadline_reopen(deadline, actor=actor, reason=system_reason(ReasonCode.EVIDENCE_REQUEST_REOPENED))
    waiting = EvidenceRequest.objects.filter(case_id=case.pk, status=RequestStatus.OPEN).exists()
    if waiting:
        case_wait_start(case=case, waiting_on=WaitingOn.CLIENT, actor=actor, source=WaitSource.EVIDENCE_REQUEST)
    else:
        case_wait_end(case=case, waiting_on=WaitingOn.CLIENT, actor=actor, source=WaitSource.EVIDENCE_REQUEST)


@on_missed(DeadlineKind.CHAT_EVIDENCE_EXPIRY)
def chat_evidence_missed(case: Case) -> None:
    """One order's chat is gone; the next order's clock starts now, so it is reminded of in time."""
    chat_evidence_sync(case, actor=None)
