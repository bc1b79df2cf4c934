"""Appeal attempts, the platform's supplement requests, and the outcome decided per order.

An attempt appeals every order that is in the appeal (not excluded) and not already
cleared by an earlier attempt. Recording the outcome gives each of those orders a result
(cleared or upheld) and the points restored for it, and derives:

- the attempt's own outcome, over the orders it appealed;
- the case's outcome, over every order ever decided: all cleared is *accepted*, none
  cleared is *rejected*, anything between is *partially accepted*. An order upheld by an
  earlier attempt and excluded since still counts as upheld: the platform did uphold it.

``outcome_resolve`` checks the input and computes everything without writing, so the
transition service can refuse bad input before it changes the state; ``outcome_write``
then stores it in the same transaction as the state change. A supplement request still
open when the outcome arrives is cancelled there: the platform decided without it.

While an attempt is in flight (the case is submitted) the platform may ask for more
material by a due time of its own: ``supplement_request_create`` records the request with
a ``platform_supplement`` deadline, ``supplement_respond`` records what was sent and meets
the deadline, ``supplement_cancel`` drops a request the platform withdrew.

Lock order everywhere: the case row first (``case_for_actor(lock=True)``), then the
supplement request, its deadline and evidence items.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import User
from agency.accounts.permissions import require_role
from agency.errors import InvalidInput, InvalidState, NotFound
from cases.history import record_case_event
from cases.models import (
    NOT_CLEARED,
    OPEN_STATES,
    AppealAttempt,
    Case,
    CaseState,
    EventKind,
    FlaggedOrder,
    OrderOutcome,
    OrderResult,
    Outcome,
    SupplementRequest,
    SupplementResponse,
    SupplementStatus,
)
from cases.permissions import CASE_WORKERS
from cases.reasons import Reason, ReasonCode, system_reason
from cases.selectors import case_for_actor
from evidence.models import EvidenceItem, ReviewState
from workflows.deadlines import deadline_close, deadline_set
from workflows.models import Deadline, DeadlineKind, DeadlineStatus

# What an outcome given for the whole case means for each order appealed.
RESULT_FOR_OUTCOME = {Outcome.ACCEPTED: OrderResult.CLEARED, Outcome.REJECTED: OrderResult.UPHELD}
# An order in the appeal that no attempt has decided yet.
PENDING = "pending"
PLATFORM_REFERENCE_MAX_LENGTH = AppealAttempt._meta.get_field("platform_reference").max_length or 100
# How far ahead of the server's clock a time the platform gave may be: the typist's clock may run fast.
CLOCK_SKEW = dt.timedelta(minutes=5)
# The results of orders not cleared, as a filter: blank (undecided) or upheld.


@dataclass
class OutcomePlan:
    """Everything an outcome will write, computed before anything is written."""

    attempt: AppealAttempt
    # order id -> (result, points restored, note)
    results: dict[int, tuple[str, int, str]] = field(default_factory=dict)
    attempt_outcome: str = ""
    case_outcome: str = ""
    attempt_cleared: int = 0
    attempt_upheld: int = 0
    attempt_points: int = 0
    case_cleared: int = 0
    case_upheld: int = 0
    case_points: int = 0


def derive_outcome(cleared: int, upheld: int) -> str:
    if cleared and not upheld:
        return Outcome.ACCEPTED
    if cleared:
        return Outcome.PARTIALLY_ACCEPTED
    return Outcome.REJECTED


def attempt_in_flight(case: Case) -> AppealAttempt | None:
    return AppealAttempt.objects.filter(case_id=case.pk, decided_at__isnull=True).first()


def appealed_q() -> Q:
    """The orders an attempt appeals: in the appeal and not cleared by an earlier attempt."""
    return Q(excluded_at__isnull=True, outcome__in=NOT_CLEARED)


def orders_to_appeal(case: Case) -> QuerySet[FlaggedOrder]:
    """The orders the next (or current) attempt appeals."""
    return FlaggedOrder.objects.filter(appealed_q(), case_id=case.pk)


def _field_error(name: str, message: str) -> InvalidInput:
    return InvalidInput(details={"fields": {name: [message]}})


def _whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# --- The outcome -----------------------------------------------------------------------------


@dataclass
class _Orders:
    """The case's orders as the outcome needs them, read with one query."""

    appealed: dict[int, str]  # id -> platform order id, for the orders this attempt appeals
    ids: set[int]  # every order of the case
    by_platform_id: dict[str, int]
    # Over the orders this attempt does not appeal (cleared earlier, or excluded):
    others_cleared: int = 0
    others_upheld: int = 0
    others_points: int = 0


def _case_orders(case: Case) -> _Orders:
    rows = FlaggedOrder.objects.filter(case_id=case.pk).values_list(
        "id", "platform_order_id", "excluded_at", "outcome", "points_restored"
    )
    orders = _Orders(appealed={}, ids=set(), by_platform_id={})
    for order_id, platform_order_id, excluded_at, result, points in rows.iterator(chunk_size=5000):
        orders.ids.add(order_id)
        orders.by_platform_id[platform_order_id] = order_id
        if excluded_at is None and result != OrderResult.CLEARED:
            orders.appealed[order_id] = platform_order_id
            continue
        orders.others_cleared += result == OrderResult.CLEARED
        orders.others_upheld += result == OrderResult.UPHELD
        orders.others_points += points
    return orders


def outcome_resolve(
    *,
    case: Case,
    outcome: str = "",
    results: Sequence[Mapping[str, Any]] | None = None,
    default_result: str = "",
) -> OutcomePlan:
    """Check an outcome against the attempt in flight and compute what it will write.

    Give either ``outcome`` alone (accepted: every appealed order cleared; rejected: every
    one upheld; a partial outcome needs per-order results), or ``results``: a list of
    ``{"order": <id>, "result": "cleared"|"upheld", "points_restored": n, "note": ""}``
    (or ``"platform_order_id": "<the platform's order number>"`` instead of ``order``) for
    the orders appealed, with ``default_result`` for those not listed. With ``results``,
    ``outcome`` is an optional cross-check of the derived attempt outcome. Every error is
    reported at once, per entry by its index, and nothing is written.
    """
    attempt = attempt_in_flight(case)
    if attempt is None:
        raise _field_error("outcome", _("No appeal attempt is waiting for an outcome."))
    orders = _case_orders(case)
    plan = OutcomePlan(attempt=attempt)
    if results is None:
        if outcome not in RESULT_FOR_OUTCOME:
            if outcome == Outcome.PARTIALLY_ACCEPTED:
                raise _field_error(
                    "outcome", _("A partial outcome needs the result for each order: give the orders' results.")
                )
            raise _field_error("outcome", _("Give accepted or rejected, or the result for each order."))
        plan.results = {order_id: (RESULT_FOR_OUTCOME[Outcome(outcome)], 0, "") for order_id in orders.appealed}
    else:
        if outcome and outcome not in Outcome.values:
            raise _field_error("outcome", _("The outcome must be given: accepted, partially accepted or rejected."))
        plan.results = _resolve_results(orders, results, default_result)
    if not plan.results:
        raise _field_error("outcome", _("The attempt appealed no orders."))
    plan.attempt_cleared = sum(1 for result, _p, _n in plan.results.values() if result == OrderResult.CLEARED)
    plan.attempt_upheld = len(plan.results) - plan.attempt_cleared
    plan.attempt_points = sum(points for _r, points, _n in plan.results.values())
    plan.attempt_outcome = derive_outcome(plan.attempt_cleared, plan.attempt_upheld)
    if results is not None and outcome and outcome != plan.attempt_outcome:
        raise _field_error(
            "outcome",
            _("The orders' results make the outcome “%(derived)s”; leave the outcome out or correct it.")
            % {"derived": Outcome(plan.attempt_outcome).label},
        )
    # The case: orders decided before keep their result; the appealed ones take this attempt's.
    plan.case_cleared = orders.others_cleared + plan.attempt_cleared
    plan.case_upheld = orders.others_upheld + plan.attempt_upheld
    plan.case_points = orders.others_points + plan.attempt_points
    if plan.case_points > case.penalty_points:
        raise _field_error(
            "points_restored",
            _("More points restored (%(total)d) than the penalty took (%(penalty)d).")
            % {"total": plan.case_points, "penalty": case.penalty_points},
        )
    plan.case_outcome = derive_outcome(plan.case_cleared, plan.case_upheld)
    return plan


def _entry_order(entry: Mapping[str, Any], orders: _Orders) -> tuple[int | None, dict[str, list[str]]]:
    """The order an entry names (by id or by the platform's order number), or the field errors."""
    order_id = entry.get("order")
    platform_order_id = entry.get("platform_order_id")
    not_appealed = _("This order is not one the attempt appealed: it is excluded or was cleared before.")
    if order_id is not None:
        if not _whole_number(order_id) or order_id not in orders.ids:
            return None, {"order": [_("No flagged order of this case has this id.")]}
        if platform_order_id not in (None, "") and orders.by_platform_id.get(str(platform_order_id)) != order_id:
            return None, {"platform_order_id": [_("This names a different order than “order”.")]}
        if order_id not in orders.appealed:
            return None, {"order": [not_appealed]}
        return order_id, {}
    if platform_order_id in (None, ""):
        return None, {"order": [_("Name the order by its id (order) or by platform_order_id.")]}
    found = orders.by_platform_id.get(str(platform_order_id))
    if found is None:
        return None, {"platform_order_id": [_("No flagged order of this case has this platform order id.")]}
    if found not in orders.appealed:
        return None, {"platform_order_id": [not_appealed]}
    return found, {}


def _resolve_results(
    orders: _Orders, results: Sequence[Mapping[str, Any]], default_result: str
) -> dict[int, tuple[str, int, str]]:
    errors: dict[str, dict[str, list[str]]] = {}
    resolved: dict[int, tuple[str, int, str]] = {}
    for index, entry in enumerate(results):
        if not isinstance(entry, Mapping):
            errors[str(index)] = {"non_field_errors": [_("Each result is an object with the order and its result.")]}
            continue
        order_id, entry_errors = _entry_order(entry, orders)
        if order_id is not None and order_id in resolved:
            entry_errors["order"] = [_("This order is listed twice.")]
        result = entry.get("result")
        points = entry.get("points_restored", 0)
        points = 0 if points is None else points
        if result not in OrderResult.values:
            entry_errors["result"] = [_("Give cleared or upheld.")]
        if not _whole_number(points):
            entry_errors["points_restored"] = [_("Give a whole number, 0 or more.")]
        elif result == OrderResult.UPHELD and points:
            entry_errors["points_restored"] = [_("An upheld order restores no points.")]
        if entry_errors or order_id is None:
            errors[str(index)] = entry_errors
            continue
        resolved[order_id] = (str(result), points, str(entry.get("note", "") or "").strip())
    fields: dict[str, Any] = {}
    details: dict[str, Any] = {}
    if errors:
        fields["results"] = errors
    if default_result and default_result not in OrderResult.values:
        fields["default_result"] = [_("Give cleared or upheld.")]
    missing = [order_id for order_id in orders.appealed if order_id not in resolved]
    if missing and not errors and default_result not in OrderResult.values:
        fields.setdefault(
            "default_result",
            [
                _("%(count)d appealed orders have no result: list them or give a default result.")
                % {"count": len(missing)}
            ],
        )
        details["orders_without_result"] = [orders.appealed[order_id] for order_id in missing[:50]]
    if fields:
        raise InvalidInput(details={"fields": fields, **details})
    for order_id in missing:
        resolved[order_id] = (default_result, 0, "")
    return resolved


def outcome_apply_to_case(case: Case, plan: OutcomePlan) -> None:
    """Set the case's derived outcome fields in memory; the transition saves them."""
    case.outcome = plan.case_outcome
    case.outcome_at = timezone.now()
    case.orders_cleared = plan.case_cleared
    case.orders_upheld = plan.case_upheld
    case.points_restored = plan.case_points


def outcome_write(*, case: Case, plan: OutcomePlan, actor: User, note: str = "") -> AppealAttempt:
    """Store the per-order results and close the attempt; call in the transition's transaction.

    Also cancels the attempt's supplement requests still open (the platform decided
    without them) and writes ORDER_OUTCOMES_RECORDED: the STATE_CHANGED row carries the
    case's totals for integrations, this one tells the client, in the timeline, how this
    attempt went order by order (counts only; per-order notes stay internal).
    """
    attempt = plan.attempt
    OrderOutcome.objects.bulk_create(
        [
            OrderOutcome(attempt=attempt, order_id=order_id, result=result, points_restored=points, note=order_note)
            for order_id, (result, points, order_note) in plan.results.items()
        ],
        batch_size=1000,
    )
    by_result: dict[tuple[str, int], list[int]] = {}
    for order_id, (result, points, _note) in plan.results.items():
        by_result.setdefault((result, points), []).append(order_id)
    for (result, points), order_ids in by_result.items():
        FlaggedOrder.objects.filter(pk__in=order_ids).update(outcome=result, points_restored=points)
    # The appealed orders were all open; the cleared ones no longer are.
    Case.objects.filter(pk=case.pk).update(open_order_count=F("open_order_count") - plan.attempt_cleared)
    attempt.decided_at = case.outcome_at or timezone.now()
    attempt.decided_by = actor
    attempt.outcome = plan.attempt_outcome
    attempt.orders_cleared = plan.attempt_cleared
    attempt.orders_upheld = plan.attempt_upheld
    attempt.points_restored = plan.attempt_points
    attempt.outcome_note = note.strip()
    attempt.save(
        update_fields=[
            "decided_at",
            "decided_by",
            "outcome",
            "orders_cleared",
            "orders_upheld",
            "points_restored",
            "outcome_note",
        ]
    )
    supplements_cancel_open(case=case, attempt=attempt, actor=actor)
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.ORDER_OUTCOMES_RECORDED,
        new_value={
            "attempt": attempt.number,
            "outcome": attempt.outcome,
            "orders_cleared": attempt.orders_cleared,
            "orders_upheld": attempt.orders_upheld,
            "points_restored": attempt.points_restored,
        },
        client_visible=True,
    )
    return attempt


# --- Attempts --------------------------------------------------------------------------------


def _require_open_case(case: Case) -> None:
    if case.state not in OPEN_STATES:
        raise InvalidState(
            _("The case is finished (%(state)s) and can no longer change.") % {"state": CaseState(case.state).label},
            details={"state": case.state},
        )


def _supplements_prefetch() -> Prefetch[Any]:
    return Prefetch(
        "supplement_requests",
        queryset=SupplementRequest.objects.select_related("created_by", "deadline").prefetch_related(
            Prefetch("responses", queryset=SupplementResponse.objects.select_related("responded_by"))
        ),
    )


def attempt_list(*, case: Case) -> QuerySet[AppealAttempt]:
    """The case's attempts, first to last, with their supplement requests and the responses."""
    return (
        AppealAttempt.objects.filter(case_id=case.pk)
        .select_related("submitted_by", "decided_by")
        .prefetch_related(_supplements_prefetch())
        .order_by("number")
    )


def attempt_get(*, case: Case, number: int) -> AppealAttempt:
    attempt = (
        attempt_list(case=case)
        .prefetch_related(Prefetch("order_outcomes", queryset=OrderOutcome.objects.select_related("order")))
        .filter(number=number)
        .first()
    )
    if attempt is None:
        raise NotFound()
    return attempt


@transaction.atomic
def attempt_update(*, case_id: int, number: int, actor: User, platform_reference: str) -> AppealAttempt:
    """Set (or correct) the number the platform gave the appeal; case workers only, the history keeps the old one."""
    require_role(actor, CASE_WORKERS)
    case = case_for_actor(actor=actor, case_id=case_id, lock=True)
    attempt = AppealAttempt.objects.select_for_update().filter(case_id=case.pk, number=number).first()
    if attempt is None:
        raise NotFound()
    _require_open_case(case)
    reference = platform_reference.strip()
    if len(reference) > PLATFORM_REFERENCE_MAX_LENGTH:
        raise _field_error("platform_reference", _("The platform's reference is too long."))
    if reference == attempt.platform_reference:
        return attempt
    old = attempt.platform_reference
    attempt.platform_reference = reference
    attempt.save(update_fields=["platform_reference"])
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.ATTEMPT_UPDATED,
        old_value={"attempt": attempt.number, "platform_reference": old},
        new_value={"attempt": attempt.number, "platform_reference": reference},
        client_visible=False,
    )
    return attempt


# --- Supplement requests ---------------------------------------------------------------------


def supplement_list(*, case: Case) -> QuerySet[SupplementRequest]:
    return (
        SupplementRequest.objects.filter(case_id=case.pk)
        .select_related("attempt", "created_by", "deadline")
        .prefetch_related(Prefetch("responses", queryset=SupplementResponse.objects.select_related("responded_by")))
        .order_by("received_at", "id")
    )


def _attempt_under_review(case: Case) -> AppealAttempt:
    attempt = attempt_in_flight(case) if case.state == CaseState.SUBMITTED else None
    if attempt is None:
        raise InvalidState(
            _("The platform asks for more material only while it reviews an appeal: the case is not submitted."),
            details={"state": case.state},
        )
    return attempt


def _shown(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


@transaction.atomic
def supplement_request_create(
    *,
    case_id: int,
    actor: User,
    description: str,
    received_at: dt.datetime | None = None,
    due_at: dt.datetime | None = None,
    platform_reference: str = "",
) -> SupplementRequest:
    """Record the platform's request for more material on the attempt in flight (409 if none).

    ``received_at`` defaults to now; ``due_at`` to ``received_at`` plus
    SUPPLEMENT_DEFAULT_HOURS. A ``platform_supplement`` deadline at that fixed time is
    set and linked; it runs whatever the case waits on, as the platform's clocks do.
    """
    require_role(actor, CASE_WORKERS)
    case = case_for_actor(actor=actor, case_id=case_id, lock=True)
    attempt = _attempt_under_review(case)
    now = timezone.now()
    description = description.strip()
    platform_reference = platform_reference.strip()
    received_at = received_at or now
    fields: dict[str, list[str]] = {}
    if not description:
        fields["description"] = [_("Say what the platform asked for.")]
    if len(platform_reference) > PLATFORM_REFERENCE_MAX_LENGTH:
        fields["platform_reference"] = [_("The platform's reference is too long.")]
    if timezone.is_naive(received_at):
        fields["received_at"] = [_("Give the time with its time zone.")]
    elif received_at > now + CLOCK_SKEW:
        fields["received_at"] = [_("The request cannot have arrived in the future.")]
    elif received_at < attempt.submitted_at:
        fields["received_at"] = [
            _("The request cannot have arrived before the appeal was submitted (%(time)s).")
            % {"time": _shown(attempt.submitted_at)}
        ]
    default_hours = None
    if due_at is None:
        default_hours = settings.SUPPLEMENT_DEFAULT_HOURS
        due_at = received_at + dt.timedelta(hours=default_hours)
    elif timezone.is_naive(due_at):
        fields["due_at"] = [_("Give the time with its time zone.")]
    elif "received_at" not in fields and due_at <= received_at:
        fields["due_at"] = [_("The due time must be after the request arrived.")]
    if fields:
        raise InvalidInput(details={"fields": fields})
    request = SupplementRequest.objects.create(
        case=case,
        attempt=attempt,
        received_at=received_at,
        description=description,
        due_at=due_at,
        platform_reference=platform_reference,
        created_by=actor,
        created_at=now,
    )
    request.deadline = deadline_set(
        case=case,
        kind=DeadlineKind.PLATFORM_SUPPLEMENT,
        actor=actor,
        starts_at=received_at,
        due_at=due_at,
        note=description,
        basis={"source": "supplement_request", "supplement": request.pk, "default_hours": default_hours},
    )
    request.save(update_fields=["deadline"])
    # The platform's wording is not repeated to the client or to integrations: it is
    # written for the agency, which acts on it (casework.timeline says so in plain words).
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.SUPPLEMENT_REQUESTED,
        new_value={
            "supplement": request.pk,
            "attempt": attempt.number,
            "received_at": received_at,
            "due_at": due_at,
            "platform_reference": platform_reference,
        },
        client_visible=True,
    )
    return request


def _locked_supplement(actor: User, supplement_id: int) -> tuple[Case, SupplementRequest]:
    """The request, with its case locked first (404 if the case is not visible to the actor)."""
    case_id = SupplementRequest.objects.filter(pk=supplement_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise NotFound()
    case = case_for_actor(actor=actor, case_id=case_id, lock=True)
    request = SupplementRequest.objects.select_for_update().select_related("attempt").get(pk=supplement_id)
    return case, request


def _close_deadline(case: Case, request: SupplementRequest, *, status: str, actor: User, reason: Reason) -> None:
    if request.deadline_id is None:
        return
    deadline = Deadline.objects.select_for_update().get(pk=request.deadline_id)
    deadline.case = case
    deadline_close(deadline, status=status, actor=actor, reason=reason)


def _evidence_manifest(case: Case, item_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The items sent with an answer, locked and checked: the case's, not removed, superseded or rejected."""
    wanted = list(dict.fromkeys(item_ids))
    items = {
        item.pk: item
        for item in EvidenceItem.objects.select_for_update(of=("self",)).filter(pk__in=wanted, case_id=case.pk)
    }
    problems: dict[str, list[str]] = {}
    for item_id in wanted:
        item = items.get(item_id)
        if item is None:
            problems[str(item_id)] = [_("No evidence item of this case has this id.")]
        elif item.removed_at is not None:
            problems[str(item_id)] = [_("This item was removed.")]
        elif item.superseded_by_id is not None:
            problems[str(item_id)] = [_("This item was superseded by a newer one; send that one.")]
        elif item.review_state == ReviewState.REJECTED:
            problems[str(item_id)] = [_("This item was rejected in review and cannot be used.")]
    if problems:
        raise InvalidInput(details={"fields": {"evidence_items": problems}})
    return [
        {
            "item": items[item_id].pk,
            "order": items[item_id].order_id,
            "kind": items[item_id].kind,
            "sha256": items[item_id].sha256,
        }
        for item_id in wanted
    ]


@transaction.atomic
def supplement_respond(
    *, supplement_id: int, actor: User, summary: str, evidence_items: Sequence[int] = ()
) -> SupplementResponse:
    """Record what was sent to the platform in answer; the request is answered and its deadline met.

    A further answer to a request already answered is recorded too (the platform may want
    one more thing); a cancelled request, or one whose attempt is decided, takes none (409).
    Items sent go to the platform, so they are locked like those of a submitted appeal.
    """
    require_role(actor, CASE_WORKERS)
    case, request = _locked_supplement(actor, supplement_id)
    if request.status == SupplementStatus.CANCELLED:
        raise InvalidState(_("This supplement request was cancelled."), details={"status": request.status})
    if case.state != CaseState.SUBMITTED or request.attempt.decided_at is not None:
        raise InvalidState(
            _("The platform has decided on this appeal; the request can no longer be answered."),
            details={"state": case.state},
        )
    summary = summary.strip()
    fields: dict[str, Any] = {}
    if not summary:
        fields["summary"] = [_("Say what was sent to the platform.")]
    try:
        manifest = _evidence_manifest(case, evidence_items)
    except InvalidInput as exc:
        fields.update(exc.details["fields"])
    if fields:
        raise InvalidInput(details={"fields": fields})
    response = SupplementResponse.objects.create(
        request=request, responded_by=actor, summary=summary, manifest=manifest
    )
    EvidenceItem.objects.filter(pk__in=[entry["item"] for entry in manifest], first_submitted_in__isnull=True).update(
        first_submitted_in=request.attempt
    )
    if request.status != SupplementStatus.ANSWERED:
        request.status = SupplementStatus.ANSWERED
        request.save(update_fields=["status"])
    _close_deadline(
        case, request, status=DeadlineStatus.MET, actor=actor, reason=system_reason(ReasonCode.SUPPLEMENT_SENT)
    )
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.SUPPLEMENT_ANSWERED,
        new_value={
            "supplement": request.pk,
            "attempt": request.attempt.number,
            "response": response.pk,
            "evidence_items": len(manifest),
        },
        client_visible=True,
    )
    return response


@transaction.atomic
def supplement_cancel(*, supplement_id: int, actor: User, reason: str) -> SupplementRequest:
    """Drop an open request (the platform withdrew it, or it was entered by mistake); its deadline is cancelled."""
    require_role(actor, CASE_WORKERS)
    case, request = _locked_supplement(actor, supplement_id)
    _require_open_case(case)
    if request.status != SupplementStatus.OPEN:
        raise InvalidState(_("Only an open supplement request can be cancelled."), details={"status": request.status})
    reason = reason.strip()
    if not reason:
        raise _field_error("reason", _("Say why the request is cancelled."))
    request.status = SupplementStatus.CANCELLED
    request.save(update_fields=["status"])
    _close_deadline(case, request, status=DeadlineStatus.CANCELLED, actor=actor, reason=reason)
    return request


def supplements_cancel_open(*, case: Case, attempt: AppealAttempt, actor: User) -> int:
    """The outcome arrived while the platform still waited for material: those requests are moot.

    Refusing the outcome instead would leave the agency unable to record a decision the
    platform has made; marking the deadline met would claim material was sent. So the
    request and its deadline are cancelled, with a reason that says why.
    """
    open_requests = list(
        SupplementRequest.objects.select_for_update().filter(attempt_id=attempt.pk, status=SupplementStatus.OPEN)
    )
    for request in open_requests:
        request.status = SupplementStatus.CANCELLED
        request.save(update_fields=["status"])
        _close_deadline(
            case,
            request,
            status=DeadlineStatus.CANCELLED,
            actor=actor,
            reason=system_reason(ReasonCode.SUPPLEMENT_OVERTAKEN),
        )
    return len(open_requests)


# --- The outcome, read back ------------------------------------------------------------------


def outcome_summary(*, case: Case) -> dict[str, Any]:
    """The case's outcome in numbers: orders cleared, upheld, pending (never decided), points, per attempt.

    ``orders_under_review`` are the orders the attempt in flight appeals (0 when none is):
    an order upheld before and appealed again is both upheld (its latest decision) and
    under review.
    """
    counts = FlaggedOrder.objects.filter(case_id=case.pk).aggregate(
        cleared=Count("id", filter=Q(outcome=OrderResult.CLEARED)),
        upheld=Count("id", filter=Q(outcome=OrderResult.UPHELD)),
        pending=Count("id", filter=Q(excluded_at__isnull=True, outcome="")),
        in_appeal=Count("id", filter=appealed_q()),
        points=Sum("points_restored"),
    )
    attempts = list(
        AppealAttempt.objects.filter(case_id=case.pk)
        .order_by("number")
        .values(
            "number",
            "platform_reference",
            "submitted_at",
            "decided_at",
            "outcome",
            "orders_cleared",
            "orders_upheld",
            "points_restored",
        )
    )
    in_flight = any(attempt["decided_at"] is None for attempt in attempts)
    return {
        "outcome": case.outcome,
        "outcome_at": case.outcome_at,
        "penalty_points": case.penalty_points,
        "orders_cleared": counts["cleared"],
        "orders_upheld": counts["upheld"],
        "orders_pending": counts["pending"],
        "orders_under_review": counts["in_appeal"] if in_flight and case.state == CaseState.SUBMITTED else 0,
        "points_restored": counts["points"] or 0,
        "attempts_used": case.appeal_attempts_used,
        "attempt_limit": case.appeal_attempt_limit,
        "attempts": attempts,
    }


def outcome_orders(*, case: Case) -> QuerySet[FlaggedOrder]:
    """Every order in the appeal or decided on, with its latest result (blank: pending)."""
    return (
        FlaggedOrder.objects.filter(case_id=case.pk)
        .filter(Q(excluded_at__isnull=True) | ~Q(outcome=""))
        .only("id", "platform_order_id", "outcome", "points_restored", "excluded_at", "order_time")
        .order_by("order_time", "id")
    )
