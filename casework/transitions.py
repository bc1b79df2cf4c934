"""Each state-machine transition, with everything it does across the apps, declared once.

``cases.models.Case`` declares the machine: states, which transition leads from where to
where, who may take it, and the inputs it needs. What a transition *does* beyond moving
the state is declared here, in ``STEPS``, one entry per transition:

- ``guards``: conditions that must hold (casework.guards); all unmet ones are listed;
- ``prepare``: derive the inputs before the guards (record_outcome's per-order results);
- ``apply``: change the case before it is saved (the outcome's totals);
- ``details``: after the save, add to the state change's history row (the attempt);
- ``follow``: right after that row (the per-order outcome rows);
- ``effects``: after the deadlines have followed the state (fees, the recovery plan);
- ``events``: the integration event types the state change adds (integrations.events);
- ``sends_appeal``: the appeal goes to the platform (its deadlines are met, follow-up starts).

``EVERY_TRANSITION`` runs for all of them between ``follow`` and ``effects``: deadlines
follow the state, and a finished case's open supplement requests end. Adding what a
transition does means adding to its entry here and nowhere else (the event types are
registered with integrations when the app is ready: casework.apps).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from agency.accounts.models import User
from agency.errors import ConditionsUnmet, InvalidInput, InvalidState, NotAllowed
from billing.fees import amount_due_update
from cases.history import history_batch, record_case_event
from cases.models import TERMINAL_STATES, Case, CaseState, CaseStateSpan, EventKind, SupplementRequest, SupplementStatus
from cases.selectors import case_for_actor
from casework import appeals, guards
from casework.guards import Guard
from evidence.deadlines import chat_evidence_sync
from evidence.rules import EvidenceSnapshot, evidence_snapshot
from evidence.submission import appeal_attempt_record
from integrations.events import transition_events_register
from integrations.models import EventType
from recovery.services import plan_start
from workflows import deadlines

INPUT_MESSAGES: dict[str, Callable[[], str]] = {
    "reason": lambda: _("A reason must be given."),
    "outcome": lambda: _("The outcome must be given: accepted, partially accepted or rejected."),
}


@dataclass
class Move:
    """One transition being taken: the case (loaded once), who takes it, and what the steps share."""

    case: Case
    actor: User
    name: str
    inputs: dict[str, str]
    order_results: Sequence[Mapping[str, Any]] | None = None
    default_result: str = ""
    outcome_note: str = ""
    # Whether the steps read the evidence under a lock (taking the transition) or not (listing it).
    taking: bool = False
    old_state: str = ""
    history: dict[str, Any] = field(default_factory=dict)
    outcome_plan: appeals.OutcomePlan | None = None
    _evidence: EvidenceSnapshot | None = None

    @property
    def evidence_read(self) -> EvidenceSnapshot | None:
        """The evidence if a guard or step read it, without reading it."""
        return self._evidence

    def evidence(self) -> EvidenceSnapshot:
        """The case's evidence and orders, read once per move (locked when the move is taken)."""
        if self._evidence is None:
            self._evidence = evidence_snapshot(self.case, lock=self.taking)
        return self._evidence


Step = Callable[[Move], None]


@dataclass(frozen=True)
class Steps:
    guards: tuple[Guard, ...] = ()
    prepare: tuple[Step, ...] = ()
    apply: tuple[Step, ...] = ()
    details: tuple[Step, ...] = ()
    follow: tuple[Step, ...] = ()
    effects: tuple[Step, ...] = ()
    events: tuple[str, ...] = ()
    sends_appeal: bool = False


# --- The steps ---------------------------------------------------------------------------------


def _outcome_prepare(move: Move) -> None:
    """record_outcome: the whole attempt's outcome, or per-order results, resolved before the guards."""
    if move.inputs["outcome"] or move.order_results is not None:
        move.outcome_plan = appeals.outcome_resolve(
            case=move.case,
            outcome=move.inputs["outcome"],
            results=move.order_results,
            default_result=move.default_result,
        )
        move.inputs["outcome"] = move.outcome_plan.attempt_outcome


def _outcome_apply(move: Move) -> None:
    if move.outcome_plan is not None:
        appeals.outcome_apply_to_case(move.case, move.outcome_plan)


def _outcome_details(move: Move) -> None:
    plan, case = move.outcome_plan, move.case
    if plan is not None:
        move.history.update(
            outcome=case.outcome,
            attempt=plan.attempt.number,
            attempt_outcome=plan.attempt_outcome,
            orders_cleared=case.orders_cleared,
            orders_upheld=case.orders_upheld,
            points_restored=case.points_restored,
        )


def _outcome_write(move: Move) -> None:
    # After the state change, so that history (and the client's timeline) reads "the
    # platform decided" before the per-order detail.
    if move.outcome_plan is not None:
        appeals.outcome_write(case=move.case, plan=move.outcome_plan, actor=move.actor, note=move.outcome_note)


def _fee_due(move: Move) -> None:
    amount_due_update(case=move.case, actor=move.actor)


def _attempt_record(move: Move) -> None:
    attempt = appeal_attempt_record(case=move.case, actor=move.actor, evidence=move.evidence())
    move.history.update(attempt=attempt.number, evidence_items=len(attempt.manifest))


def _recovery_plan(move: Move) -> None:
    plan_start(case=move.case, actor=move.actor)


def _deadlines_follow(move: Move) -> None:
    """Meet, cancel and start deadlines as the case moves."""
    case = move.case
    deadlines.state_left(case, actor=move.actor, old_state=move.old_state, appeal_sent=STEPS[move.name].sends_appeal)
    if case.state in TERMINAL_STATES:
        return
    if case.state in deadlines.CHAT_EVIDENCE_STATES:
        chat_evidence_sync(case, actor=move.actor)
    deadlines.stage_sla_start(case, actor=move.actor)


def _supplements_end(move: Move) -> None:
    if move.case.state in TERMINAL_STATES:
        # Their deadlines were just cancelled with the case's; the requests follow.
        SupplementRequest.objects.filter(case_id=move.case.pk, status=SupplementStatus.OPEN).update(
            status=SupplementStatus.CANCELLED
        )


STEPS: dict[str, Steps] = {
    "start_assessment": Steps(guards=(guards.has_assignee, guards.has_flagged_orders)),
    "decline": Steps(),
    "accept_case": Steps(guards=(guards.quote_accepted,)),
    "submit_appeal": Steps(
        guards=(guards.attempts_remain, guards.evidence_complete),
        details=(_attempt_record,),
        events=(EventType.APPEAL_SUBMITTED,),
        sends_appeal=True,
    ),
    "record_outcome": Steps(
        prepare=(_outcome_prepare,),
        apply=(_outcome_apply,),
        details=(_outcome_details,),
        follow=(_outcome_write,),
        effects=(_fee_due,),
        events=(EventType.OUTCOME_RECORDED,),
    ),
    "reappeal": Steps(guards=(guards.outcome_not_accepted, guards.attempts_remain)),
    "start_recovery": Steps(effects=(_recovery_plan,)),
    "close": Steps(guards=(guards.recovery_plan_finished,)),
    "withdraw": Steps(),
}
# What every transition does after its own ``follow`` steps and before its ``effects``.
EVERY_TRANSITION: tuple[Step, ...] = (_deadlines_follow, _supplements_end)


def events_register() -> None:
    """Tell integrations which event types each transition's state change adds (from ``STEPS``)."""
    for name, steps in STEPS.items():
        transition_events_register(name, steps.events)


# --- The machine, read from the model, with the steps ------------------------------------------


@dataclass(frozen=True)
class TransitionSpec:
    name: str
    sources: tuple[str, ...]
    target: str
    permission: Callable[[Case, Any], bool]
    requires: tuple[str, ...]
    label_text: Any
    steps: Steps

    @property
    def label(self) -> str:
        return str(self.label_text)

    def possible_from(self, state: str) -> bool:
        return state in self.sources

    def has_permission(self, case: Case, user: Any) -> bool:
        return bool(self.permission(case, user))

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(getattr(self.permission, "roles", frozenset()))

    def unmet_conditions(self, move: Move, *, with_inputs: bool) -> list[dict[str, Any]]:
        """Every unmet guard (each evaluated once); ``with_inputs``: also every missing input."""
        unmet: list[dict[str, Any]] = []
        for guard in self.steps.guards:
            if not guard.check(move):
                entry: dict[str, Any] = {"code": guard.code, "message": str(guard.message)}
                if guard.explain is not None:
                    entry.update(guard.explain(move))
                unmet.append(entry)
        if with_inputs:
            unmet += [
                {"code": f"{name}_required", "message": INPUT_MESSAGES[name]()}
                for name in self.requires
                if not move.inputs.get(name)
            ]
        return unmet


@cache
def _registry() -> dict[str, TransitionSpec]:
    field_ = Case._meta.get_field("state")
    grouped: dict[str, list[Any]] = {}
    for declared in field_.get_all_transitions(Case):
        grouped.setdefault(declared.name, []).append(declared)
    missing = set(grouped) ^ set(STEPS)
    if missing:
        raise LookupError(f"Transitions declared on Case and in casework.transitions.STEPS differ: {sorted(missing)}")
    registry = {}
    for name, declarations in grouped.items():
        first = declarations[0]
        registry[name] = TransitionSpec(
            name=name,
            sources=tuple(str(d.source) for d in declarations),
            target=str(first.target),
            permission=first.permission,
            requires=tuple(first.custom.get("requires", ())),
            label_text=first.custom.get("label", name),
            steps=STEPS[name],
        )
    return registry


def all_transitions() -> list[TransitionSpec]:
    return list(_registry().values())


def names() -> list[str]:
    return list(_registry())


def get(name: str) -> TransitionSpec:
    try:
        return _registry()[name]
    except KeyError:
        raise InvalidInput(
            details={"fields": {"transition": [_("Unknown transition '%(name)s'.") % {"name": name}]}}
        ) from None


# --- Taking a transition -----------------------------------------------------------------------


def _state_span_move(case: Case, entered_at: Any) -> None:
    """Close the span of the state the case left and open one for the state it entered.

    The open span began when the case entered its state (``entered_at``, the case's
    ``state_changed_at`` before this move), so it is closed without reading it first.
    """
    now = case.state_changed_at
    CaseStateSpan.objects.filter(case_id=case.pk, left_at__isnull=True).update(
        left_at=now, seconds=max(0, int((now - entered_at).total_seconds()))
    )
    CaseStateSpan.objects.create(case=case, state=case.state, entered_at=now)


def case_transition(
    *,
    case_id: int,
    name: str,
    actor: User,
    reason: str = "",
    outcome: str = "",
    expected_state: str = "",
    order_results: Sequence[Mapping[str, Any]] | None = None,
    default_result: str = "",
    outcome_note: str = "",
) -> Case:
    """Take one state-machine transition, or explain exactly why it cannot be taken.

    1. Load the case through the actor's scope (404 if they cannot see it), once, with
       what the answer shows (cases.selectors.case_get's relations), its row locked.
    2. Refuse a transition name the machine does not know (400), a role without
       permission (403), a state it cannot leave by this transition or a case that moved
       on since the caller looked (409), and unmet guards or missing inputs (400, all of
       them listed). ``record_outcome`` takes ``outcome`` for the whole attempt, or
       ``order_results`` (with ``default_result``) per order; the case's outcome is
       derived (casework.appeals).
    3. Move the state, save, write the history row and run the transition's steps, in one
       transaction; the history rows they record are written together at the end.

    Two requests for one case take turns: the second waits for the first's row lock and
    is then judged against the state the first left (send ``expected_state`` to be
    refused instead when the case moved on). ConcurrentTransitionMixin's conditional
    UPDATE stays as the backstop should a write ever reach the case without that lock.

    The returned case carries ``evidence_read`` (evidence.rules.EvidenceSnapshot, or None)
    when the steps read the evidence, so the answer does not read it again.
    """
    spec = get(name)
    with transaction.atomic(), history_batch():
        case = case_for_actor(actor=actor, case_id=case_id, lock=True, related=True)
        if expected_state and case.state != expected_state:
            raise InvalidState(
                _("The case is no longer in the state you expected."),
                details={"state": case.state, "expected_state": expected_state},
            )
        if not spec.has_permission(case, actor):
            raise NotAllowed()
        if not spec.possible_from(case.state):
            raise InvalidState(
                _("“%(action)s” is not possible while the case is in the state “%(state)s”.")
                % {"action": spec.label, "state": CaseState(case.state).label},
                details={"state": case.state, "allowed_from": list(spec.sources)},
            )
        move = Move(
            case=case,
            actor=actor,
            name=name,
            inputs={"reason": reason.strip(), "outcome": outcome},
            order_results=order_results,
            default_result=default_result,
            outcome_note=outcome_note,
            taking=True,
        )
        steps = spec.steps
        for step in steps.prepare:
            step(move)
        unmet = spec.unmet_conditions(move, with_inputs=True)
        if unmet:
            raise ConditionsUnmet(details={"unmet_conditions": unmet})

        move.old_state, entered_at = case.state, case.state_changed_at
        getattr(case, name)(**{key: move.inputs[key] for key in spec.requires})
        case.state_changed_at = timezone.now()
        for step in steps.apply:
            step(move)
        try:
            case.save(update_fields=Case.TRANSITION_FIELDS)
        except ConcurrentTransition as exc:
            raise InvalidState(_("The case changed while this request was processed; reload and try again.")) from exc
        move.history = {"state": case.state, "transition": name}
        _state_span_move(case, entered_at)
        for step in steps.details:
            step(move)
        record_case_event(
            case=case,
            actor=actor,
            kind=EventKind.STATE_CHANGED,
            old_value={"state": move.old_state},
            new_value=move.history,
            reason=move.inputs["reason"],
        )
        for step in (*steps.follow, *EVERY_TRANSITION, *steps.effects):
            step(move)
    case.evidence_read = move.evidence_read  # type: ignore[attr-defined]
    return case


def transitions_for(*, case: Case, actor: User) -> list[dict[str, Any]]:
    """The transitions ``actor`` may take from the case's state now, with what is unmet."""
    available = []
    for spec in all_transitions():
        if spec.possible_from(case.state) and spec.has_permission(case, actor):
            move = Move(case=case, actor=actor, name=spec.name, inputs={})
            available.append(
                {
                    "name": spec.name,
                    "label": spec.label,
                    "target": spec.target,
                    "requires": list(spec.requires),
                    "unmet_conditions": spec.unmet_conditions(move, with_inputs=False),
                }
            )
    return available
