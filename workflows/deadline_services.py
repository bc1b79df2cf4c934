"""Staff actions on deadlines and case waits: the permission and state checks around workflows.deadlines.

``workflows.deadlines`` computes and records; it trusts its caller. The services here are
what the API calls: each checks the actor's role, scopes the case to what the actor can
see (404 otherwise), locks the case row so that two requests on one case take turns, and
refuses what the deadline's kind or state does not allow before it changes anything.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import User
from agency.accounts.permissions import require_role
from agency.errors import InvalidInput, InvalidState, NotAllowed, NotFound
from cases.models import OPEN_STATES, Case, CaseState, SupplementRequest, SupplementStatus
from cases.permissions import ASSIGNERS, CASE_WORKERS
from cases.selectors import case_for_actor
from workflows import deadlines
from workflows.models import CaseWait, Deadline, DeadlineKind, DeadlineStatus, TimeUnit, WaitingOn

# The kinds staff enter, meet and cancel by hand. Every other kind follows the case,
# its evidence or its contacts with the platform, and closes itself.
MANUAL_KINDS = (
    DeadlineKind.PLATFORM_APPEAL_WINDOW,
    DeadlineKind.PLATFORM_SUPPLEMENT,
    DeadlineKind.RECOVERY_CHECK_IN,
)
# Internal clocks a supervisor may give a fixed time by hand (an extension granted inside
# the agency). The chat-evidence and evidence-request deadlines follow the orders and the
# request, which would move them straight back, so nobody moves those here.
SUPERVISOR_MOVABLE_KINDS = (DeadlineKind.STAGE_SLA, DeadlineKind.PLATFORM_FOLLOW_UP)
MAX_BUDGET_AMOUNT = 1000


def _locked_case(actor: User, case_id: int) -> Case:
    return case_for_actor(actor=actor, case_id=case_id, lock=True)


def _require_open_case(case: Case) -> None:
    if case.state not in OPEN_STATES:
        raise InvalidState(
            _("The case is finished (%(state)s): its deadlines and waits can no longer change.")
            % {"state": CaseState(case.state).label},
            details={"state": case.state},
        )


def _locked_deadline(actor: User, deadline_id: int) -> Deadline:
    """The deadline, with its case locked first (the order every deadline writer takes)."""
    case_id = Deadline.objects.filter(pk=deadline_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise NotFound()
    case = _locked_case(actor, case_id)
    deadline = Deadline.objects.select_for_update().get(pk=deadline_id)
    deadline.case = case
    _require_open_case(case)
    return deadline


def _open_supplement_request(deadline: Deadline) -> SupplementRequest | None:
    if deadline.kind != DeadlineKind.PLATFORM_SUPPLEMENT:
        return None
    return SupplementRequest.objects.filter(deadline_id=deadline.pk, status=SupplementStatus.OPEN).first()


def _refuse_for_supplement_request(deadline: Deadline) -> None:
    """A supplement request's deadline closes with the request (answered or cancelled), never alone."""
    request = _open_supplement_request(deadline)
    if request is not None:
        raise InvalidState(
            _("This deadline belongs to a supplement request: answer the request or cancel it instead."),
            details={"supplement_request": request.pk},
        )


def _kinds_list(kinds: tuple[str, ...]) -> str:
    return ", ".join(str(kind) for kind in kinds)


def _closes_itself(kind: str) -> str:
    """Why an automatic deadline cannot be met by hand: what meets it."""
    if kind == DeadlineKind.STAGE_SLA:
        return _("An internal stage SLA is met when the case leaves its stage, not by hand.")
    if kind == DeadlineKind.CLIENT_EVIDENCE_REQUEST:
        return _("This deadline is met when the client has sent everything the evidence request asks for, not by hand.")
    if kind == DeadlineKind.CHAT_EVIDENCE_EXPIRY:
        return _("This deadline is met when chat evidence is on file for every order that needs it, not by hand.")
    return _("This deadline is met when a contact with the platform is logged, not by hand.")


# --- Deadlines -----------------------------------------------------------------------------------


def _basis_errors(
    *,
    due_at: dt.datetime | None,
    amount: int | None,
    unit: str,
    starts_at: dt.datetime | None,
    now: dt.datetime,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    budget_given = amount is not None or bool(unit)
    if due_at is None and not budget_given:
        errors["due_at"] = [_("Give either a due time, or an amount and a unit.")]
        return errors
    if due_at is not None and budget_given:
        errors["due_at"] = [_("Give either a due time, or an amount and a unit, not both.")]
        return errors
    if due_at is not None:
        if due_at <= now:
            errors["due_at"] = [_("The due time must be in the future.")]
        if starts_at is not None:
            errors["starts_at"] = [_("A start time applies only to an amount and a unit.")]
        return errors
    if amount is None:
        errors["amount"] = [_("Give the amount with the unit.")]
    elif not 1 <= amount <= MAX_BUDGET_AMOUNT:
        errors["amount"] = [_("The amount must be between 1 and %(max)d.") % {"max": MAX_BUDGET_AMOUNT}]
    if not unit:
        errors["unit"] = [_("Give the unit with the amount.")]
    elif unit not in TimeUnit.values:
        errors["unit"] = [_("Unknown unit. Known units: %(units)s.") % {"units": ", ".join(TimeUnit.values)}]
    return errors


@transaction.atomic
def deadline_create(
    *,
    case_id: int,
    actor: User,
    kind: str,
    due_at: dt.datetime | None = None,
    amount: int | None = None,
    unit: str = "",
    starts_at: dt.datetime | None = None,
    title: str = "",
    note: str = "",
) -> Deadline:
    """Enter a deadline staff learn about from outside: a fixed ``due_at``, or ``amount`` ``unit`` from ``starts_at``.

    Only the kinds in MANUAL_KINDS; ``starts_at`` defaults to now. A case has one open
    appeal window at a time: a second one is refused (409) in favour of moving the first.
    """
    require_role(actor, CASE_WORKERS)
    case = _locked_case(actor, case_id)
    _require_open_case(case)
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if kind not in MANUAL_KINDS:
        errors["kind"] = [
            _("Staff enter only these kinds by hand: %(kinds)s. The others are kept by the system.")
            % {"kinds": _kinds_list(MANUAL_KINDS)}
        ]
    errors.update(_basis_errors(due_at=due_at, amount=amount, unit=unit, starts_at=starts_at, now=now))
    if errors:
        raise InvalidInput(details={"fields": errors})
    if kind == DeadlineKind.PLATFORM_APPEAL_WINDOW:
        existing = Deadline.objects.filter(case_id=case.pk, kind=kind, status=DeadlineStatus.OPEN).first()
        if existing is not None:
            raise InvalidState(
                _("The case already has an open appeal window. Move that one to the platform's time instead."),
                details={"deadline": existing.pk, "move": f"/api/v1/deadlines/{existing.pk}/move/"},
            )
    return deadlines.deadline_set(
        case=case,
        kind=kind,
        actor=actor,
        starts_at=now if due_at is not None or starts_at is None else starts_at,
        amount=amount,
        unit=unit if amount is not None else "",
        due_at=due_at,
        title=title.strip(),
        note=note.strip(),
        basis={"source": "staff"},
    )


@transaction.atomic
def deadline_move_to(*, deadline_id: int, actor: User, due_at: dt.datetime, reason: str) -> Deadline:
    """Give an open deadline a new fixed due time (a platform's extension, a corrected notice), with a reason.

    Case workers move the kinds they enter; supervisors may also move internal clocks.
    """
    require_role(actor, CASE_WORKERS)
    deadline = _locked_deadline(actor, deadline_id)
    if deadline.kind in (DeadlineKind.CHAT_EVIDENCE_EXPIRY, DeadlineKind.CLIENT_EVIDENCE_REQUEST):
        raise InvalidState(
            _("This deadline follows the case's orders and evidence requests; change those instead."),
            details={"kind": deadline.kind},
        )
    if deadline.kind not in MANUAL_KINDS and actor.role not in ASSIGNERS:
        raise NotAllowed(_("Only supervisors can move an internal clock."))
    if deadline.status != DeadlineStatus.OPEN:
        raise InvalidState(_("Only an open deadline can be moved."), details={"status": deadline.status})
    errors: dict[str, list[str]] = {}
    if not reason.strip():
        errors["reason"] = [_("Say why the deadline moves.")]
    if due_at <= timezone.now():
        errors["due_at"] = [_("The due time must be in the future.")]
    if errors:
        raise InvalidInput(details={"fields": errors})
    deadlines.deadline_move(deadline, due_at=due_at, actor=actor, reason=reason.strip())
    request = _open_supplement_request(deadline)
    if request is not None:
        # The platform gave more time: the request says the same due time as its deadline.
        SupplementRequest.objects.filter(pk=request.pk).update(due_at=due_at)
    return deadline


@transaction.atomic
def deadline_mark_met(*, deadline_id: int, actor: User, reason: str = "") -> Deadline:
    """Record that a hand-entered deadline was met; a missed one is recorded as met late.

    Automatic kinds are refused (409): they are met by what they wait for.
    """
    require_role(actor, CASE_WORKERS)
    deadline = _locked_deadline(actor, deadline_id)
    if deadline.kind not in MANUAL_KINDS:
        raise InvalidState(
            _closes_itself(deadline.kind),
            details={"kind": deadline.kind},
        )
    _refuse_for_supplement_request(deadline)
    unmet_miss = deadline.status == DeadlineStatus.MISSED and deadline.met_at is None
    if deadline.status != DeadlineStatus.OPEN and not unmet_miss:
        raise InvalidState(_("This deadline is already closed."), details={"status": deadline.status})
    deadlines.deadline_close(deadline, status=DeadlineStatus.MET, actor=actor, reason=reason.strip())
    return deadline


@transaction.atomic
def deadline_cancel(*, deadline_id: int, actor: User, reason: str) -> Deadline:
    """Cancel an open deadline that no longer applies, with a reason.

    Case workers cancel the kinds they enter; supervisors and administrators may cancel any.
    """
    require_role(actor, CASE_WORKERS)
    deadline = _locked_deadline(actor, deadline_id)
    if deadline.kind not in MANUAL_KINDS and actor.role not in ASSIGNERS:
        raise NotAllowed(_("Only supervisors can cancel a deadline the system keeps."))
    if deadline.status != DeadlineStatus.OPEN:
        raise InvalidState(_("Only an open deadline can be cancelled."), details={"status": deadline.status})
    _refuse_for_supplement_request(deadline)
    if not reason.strip():
        raise InvalidInput(details={"fields": {"reason": [_("Say why the deadline is cancelled.")]}})
    deadlines.deadline_close(deadline, status=DeadlineStatus.CANCELLED, actor=actor, reason=reason.strip())
    return deadline


# --- Waiting on the client or the platform -------------------------------------------------------


def _check_party(waiting_on: str) -> None:
    if waiting_on not in WaitingOn.values:
        reason = _("Choose one of: %(parties)s.") % {"parties": ", ".join(WaitingOn.values)}
        raise InvalidInput(details={"fields": {"waiting_on": [reason]}})


@transaction.atomic
def case_wait_add(*, case_id: int, actor: User, waiting_on: str, note: str = "") -> CaseWait:
    """Start waiting on the client or the platform: the case's internal clocks pause (409 if already waiting)."""
    require_role(actor, CASE_WORKERS)
    _check_party(waiting_on)
    case = _locked_case(actor, case_id)
    _require_open_case(case)
    wait = deadlines.case_wait_start(case=case, waiting_on=waiting_on, actor=actor, note=note.strip())
    if wait is None:
        message = (
            _("The case is already waiting on the client.")
            if waiting_on == WaitingOn.CLIENT
            else _("The case is already waiting on the platform.")
        )
        raise InvalidState(message, details={"waiting_on": waiting_on})
    return wait


@transaction.atomic
def case_wait_stop(*, case_id: int, actor: User, waiting_on: str, note: str = "") -> CaseWait:
    """Stop waiting on a party: paused clocks run again with the time they had left (409 if not waiting)."""
    require_role(actor, CASE_WORKERS)
    _check_party(waiting_on)
    case = _locked_case(actor, case_id)
    _require_open_case(case)
    wait = deadlines.case_wait_end(case=case, waiting_on=waiting_on, actor=actor, note=note.strip())
    if wait is None:
        message = (
            _("The case is not waiting on the client.")
            if waiting_on == WaitingOn.CLIENT
            else _("The case is not waiting on the platform.")
        )
        raise InvalidState(message, details={"waiting_on": waiting_on})
    return wait
