"""Write-side operations on cases: each checks who may act, changes, and records history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import Role, User
from agency.accounts.permissions import require_role
from agency.errors import Conflict, InvalidInput, InvalidState, NotFound
from agency.organisations.models import Shop
from cases.history import record_case_event
from cases.models import (
    EDITABLE_STATES,
    OPEN_STATES,
    Case,
    CaseState,
    CaseStateSpan,
    EventKind,
    FlaggedOrder,
    OrderResult,
    PlatformRuleProfile,
    ReferenceSequence,
)
from cases.permissions import ASSIGNABLE_ROLES, ASSIGNERS, CASE_EDITORS, CASE_WORKERS
from cases.selectors import case_for_actor
from casework import assignment
from casework.transitions import case_transition, transitions_for
from evidence.checks import checks_recheck_orders
from evidence.deadlines import chat_evidence_sync
from workflows import deadlines


class DuplicateExternalReference(Conflict):
    """The organisation already has a case under this external reference; details.case is its id."""

    code = "duplicate_external_reference"


# Detail fields staff may change while a case is set up (see EDITABLE_STATES).
EDITABLE_FIELDS = (
    "shop",
    "violation_type",
    "severity",
    "notice_received_at",
    "notice_period_start",
    "notice_period_end",
    "penalty_points",
    "restrictions",
    "restrictions_note",
    "appeal_deadline",
)
MAX_ORDERS_PER_REQUEST = 10_000
# Rule profiles hold what every case of a platform follows: administrators correct them.
RULE_PROFILE_EDITORS = (Role.ADMINISTRATOR,)
# Details from which the platform's appeal window is computed.
DEADLINE_FIELDS = {"notice_received_at", "appeal_deadline", "rule_profile"}


def _visible_case(actor: User, case_id: int, *, for_update: bool = False) -> Case:
    return case_for_actor(actor=actor, case_id=case_id, lock=for_update)


def _next_reference(now: dt.datetime) -> str:
    """AP-<year>-<six-digit number>, numbered per year in the agency's time zone."""
    year = timezone.localtime(now).year
    sequence, _created = ReferenceSequence.objects.select_for_update().get_or_create(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"AP-{year}-{sequence.last_number:06d}"


def _rule_profile(platform: str, violation_type: str) -> PlatformRuleProfile:
    profile = PlatformRuleProfile.objects.filter(platform=platform, violation_type=violation_type).first()
    if profile is None:
        raise InvalidInput(
            _("No platform rule profile covers this platform and violation type; an administrator must add one."),
            details={"fields": {"violation_type": [_("No rule profile for this platform and violation type.")]}},
        )
    return profile


def _check_notice_period(start: dt.datetime | None, end: dt.datetime | None) -> None:
    if start and end and end < start:
        raise InvalidInput(details={"fields": {"notice_period_end": [_("The end is before the start.")]}})


@transaction.atomic
def case_create(
    *,
    actor: User,
    shop: Shop,
    violation_type: str,
    notice_received_at: dt.datetime,
    severity: str = "general",
    notice_period_start: dt.datetime | None = None,
    notice_period_end: dt.datetime | None = None,
    penalty_points: int = 0,
    restrictions: list[str] | None = None,
    restrictions_note: str = "",
    appeal_deadline: dt.datetime | None = None,
    flagged_orders: Sequence[Mapping[str, Any]] | None = None,
    external_reference: str = "",
) -> Case:
    """Open a case at intake, optionally with its flagged orders, all or nothing."""
    require_role(actor, CASE_EDITORS)
    _check_notice_period(notice_period_start, notice_period_end)
    external_reference = external_reference.strip()
    _check_external_reference_free(shop.organisation_id, external_reference)
    profile = _rule_profile(shop.platform, violation_type)
    now = timezone.now()
    try:
        # A savepoint, so that losing a race for the external reference can be answered.
        with transaction.atomic():
            case = Case.objects.create(
                reference=_next_reference(now),
                rule_profile=profile,
                appeal_attempt_limit=profile.attempt_limit,
                organisation_id=shop.organisation_id,
                shop=shop,
                violation_type=violation_type,
                severity=severity,
                notice_received_at=notice_received_at,
                notice_period_start=notice_period_start,
                notice_period_end=notice_period_end,
                penalty_points=penalty_points,
                restrictions=list(restrictions or []),
                restrictions_note=restrictions_note,
                appeal_deadline=appeal_deadline,
                external_reference=external_reference,
                created_by=actor,
                created_at=now,
                state_changed_at=now,
            )
    except IntegrityError:
        _check_external_reference_free(shop.organisation_id, external_reference)
        raise
    record_case_event(case=case, actor=actor, kind=EventKind.CREATED, new_value={"reference": case.reference})
    CaseStateSpan.objects.create(case=case, state=case.state, entered_at=now)
    # Its appeal window, its intake SLA and, once orders exist, its chat evidence.
    deadlines.appeal_window_sync(case, actor=actor)
    deadlines.stage_sla_start(case, actor=actor)
    chat_evidence_sync(case, actor=actor)
    if flagged_orders:
        _add_orders(case=case, actor=actor, orders=flagged_orders)
    assignment.auto_assign_at_intake(case=case, actor=actor)
    return case


def _check_external_reference_free(organisation_id: int, external_reference: str) -> None:
    if not external_reference:
        return
    existing = (
        Case.objects.filter(organisation_id=organisation_id, external_reference=external_reference)
        .values_list("pk", flat=True)
        .first()
    )
    if existing is not None:
        raise DuplicateExternalReference(
            _("The organisation already has a case with this external reference."), details={"case": existing}
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Shop):
        return value.pk
    if isinstance(value, dt.datetime | Decimal):
        return value.isoformat() if isinstance(value, dt.datetime) else str(value)
    return value


@transaction.atomic
def case_update_details(*, case_id: int, actor: User, changes: Mapping[str, Any]) -> Case:
    """Correct the notice's details while the case is in intake or assessment."""
    require_role(actor, CASE_EDITORS)
    case = _visible_case(actor, case_id, for_update=True)
    if case.state not in EDITABLE_STATES:
        raise InvalidState(_("Details can be changed only in intake or assessment."), details={"state": case.state})
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise InvalidInput(details={"fields": {name: [_("This field cannot be changed.")] for name in unknown}})
    shop = changes.get("shop")
    if shop is not None and shop.organisation_id != case.organisation_id:
        raise InvalidInput(details={"fields": {"shop": [_("The shop belongs to another organisation.")]}})
    _check_notice_period(
        changes.get("notice_period_start", case.notice_period_start),
        changes.get("notice_period_end", case.notice_period_end),
    )
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name, value in changes.items():
        current = getattr(case, name)
        if current != value:
            old[name] = _jsonable(current)
            new[name] = _jsonable(value)
            setattr(case, name, value)
    if "shop" in new or "violation_type" in new:
        # Another platform or violation means other rules: the limit and the requirements follow.
        profile = _rule_profile(case.shop.platform, case.violation_type)
        if profile.pk != case.rule_profile_id:
            old.update(rule_profile=case.rule_profile_id, appeal_attempt_limit=case.appeal_attempt_limit)
            new.update(rule_profile=profile.pk, appeal_attempt_limit=profile.attempt_limit)
            case.rule_profile = profile
            case.appeal_attempt_limit = profile.attempt_limit
    if new:
        case.save(update_fields=[*new, "updated_at"])
        record_case_event(case=case, actor=actor, kind=EventKind.DETAILS_UPDATED, old_value=old, new_value=new)
        if set(new) & DEADLINE_FIELDS:
            deadlines.appeal_window_sync(case, actor=actor)
        if "rule_profile" in new:
            chat_evidence_sync(case, actor=actor)
    return case


@transaction.atomic
def case_assign(*, case_id: int, actor: User, assignee_id: int | None, reason: str = "") -> Case:
    """A supervisor assigns, reassigns or unassigns a case; the history keeps every change.

    Taking a case from someone (reassigning or unassigning) needs a reason; the first
    assignment may go without one. The new assignee is notified, and their
    ``last_assigned_at`` (a tie-breaker for automatic assignment) moves to now.
    """
    require_role(actor, ASSIGNERS)
    case = _visible_case(actor, case_id, for_update=True)
    if case.state not in OPEN_STATES:
        raise InvalidState(_("A finished case cannot be reassigned."), details={"state": case.state})
    assignee = None
    if assignee_id is not None:
        # An API key's principal may be a supervisor, but it is a program: never an assignee.
        assignee = User.objects.filter(
            pk=assignee_id, is_active=True, role__in=ASSIGNABLE_ROLES, api_key__isnull=True
        ).first()
        if assignee is None:
            raise InvalidInput(details={"fields": {"assignee": [_("Not an active case manager or supervisor.")]}})
    if case.assignee_id == assignee_id:
        return case
    reason = reason.strip()
    if case.assignee_id is not None and not reason:
        raise InvalidInput(
            details={"fields": {"reason": [_("Give a reason for taking the case from its current assignee.")]}}
        )
    old = case.assignee_id
    case.assignee = assignee
    case.save(update_fields=["assignee", "updated_at"])
    event = record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.ASSIGNED,
        old_value={"assignee": old},
        new_value={"assignee": assignee_id},
        reason=reason,
    )
    if assignee is not None:
        User.objects.filter(pk=assignee.pk).update(last_assigned_at=timezone.now())
        assignment.notify_assigned(case=case, assignee=assignee, actor=actor, reason=reason, event_id=event.pk)
    return case


def _validate_orders(case: Case, orders: Sequence[Mapping[str, Any]]) -> None:
    """Every problem in one answer: duplicates in the request or against the case."""
    if len(orders) > MAX_ORDERS_PER_REQUEST:
        raise InvalidInput(
            details={"fields": {"orders": [_("At most %(n)d orders per request.") % {"n": MAX_ORDERS_PER_REQUEST}]}}
        )
    errors: dict[str, dict[str, list[str]]] = {}
    first_index: dict[str, int] = {}
    for index, order in enumerate(orders):
        order_id = order["platform_order_id"]
        if order_id in first_index:
            errors[str(index)] = {
                "platform_order_id": [
                    _("Repeats the order id of item %(n)d in this request (items count from 0).")
                    % {"n": first_index[order_id]}
                ]
            }
        else:
            first_index[order_id] = index
    existing = set(
        FlaggedOrder.objects.filter(case_id=case.pk, platform_order_id__in=list(first_index)).values_list(
            "platform_order_id", flat=True
        )
    )
    for order_id in existing:
        errors.setdefault(str(first_index[order_id]), {})["platform_order_id"] = [
            _("This order is already on the case.")
        ]
    if errors:
        raise InvalidInput(details={"fields": {"orders": errors}})


def _add_orders(
    *,
    case: Case,
    actor: User,
    orders: Sequence[Mapping[str, Any]],
    kind: EventKind = EventKind.FLAGGED_ORDERS_ADDED,
    event_values: Mapping[str, Any] | None = None,
    validated: bool = False,
) -> list[FlaggedOrder]:
    """Write the orders, bump the case's order count and record one history event of ``kind``.

    The file import (casework/importing.py) checks its rows itself, reporting by spreadsheet
    row, and passes ``validated=True``; ``event_values`` add to the event's new value.
    """
    if not validated:
        _validate_orders(case, orders)
    now = timezone.now()
    rows = [FlaggedOrder(case=case, created_at=now, **dict(order)) for order in orders]
    try:
        with transaction.atomic():
            created = FlaggedOrder.objects.bulk_create(rows, batch_size=1000)
    except IntegrityError as exc:
        # Another request added one of these orders after our check: nothing is written.
        raise Conflict(_("Some of these orders were added by someone else meanwhile.")) from exc
    Case.objects.filter(pk=case.pk).update(
        flagged_order_count=F("flagged_order_count") + len(created),
        open_order_count=F("open_order_count") + len(created),
    )
    record_case_event(
        case=case,
        actor=actor,
        kind=kind,
        new_value={
            "count": len(created),
            "order_ids": [order.platform_order_id for order in created[:20]],
            **(event_values or {}),
        },
    )
    chat_evidence_sync(case, actor=actor)
    return created


@transaction.atomic
def flagged_orders_add(*, case_id: int, actor: User, orders: Sequence[Mapping[str, Any]]) -> list[FlaggedOrder]:
    """Add one or many flagged orders; if any is invalid, none is added."""
    require_role(actor, CASE_EDITORS)
    case = _visible_case(actor, case_id, for_update=True)
    if case.state not in EDITABLE_STATES:
        raise InvalidState(
            _("Flagged orders can be added only in intake or assessment."), details={"state": case.state}
        )
    return _add_orders(case=case, actor=actor, orders=orders)


@transaction.atomic
def rule_profile_update(*, profile_id: int, actor: User, changes: Mapping[str, Any]) -> PlatformRuleProfile:
    """Administrators correct a platform's rules when the platform changes them."""
    require_role(actor, RULE_PROFILE_EDITORS)
    profile = PlatformRuleProfile.objects.select_for_update().get(pk=profile_id)
    for name, value in changes.items():
        setattr(profile, name, value)
    try:
        profile.full_clean()
    except ValidationError as exc:
        raise InvalidInput(details={"fields": exc.message_dict}) from exc
    profile.save()
    return profile


# What the merchant supplies about an order, which staff may correct while the case is open.
# The rest (the platform's order id, time, amount) is the notice's, recorded as the platform gave it.
ORDER_CORRECTABLE_FIELDS = ("courier", "tracking_number", "buyer_handle")


@transaction.atomic
def flagged_order_update(*, case_id: int, order_id: int, actor: User, changes: Mapping[str, Any]) -> FlaggedOrder:
    """Correct an order's courier, tracking number or buyer handle while the case is open.

    These are what the merchant supplies, and they can be wrong or change (a parcel sent
    again under a new tracking number). The platform's order id, order time and amount
    stay as the notice gave them: they cannot be changed here. The same people who add
    orders may correct them (``flagged_orders_add``), on any open case (409 once it is
    finished); each value must fit the model's field. One history row (details updated)
    names the order and keeps the old and new values; the order's evidence is compared
    with it again (evidence.checks), in the same transaction, so no item keeps a finding
    against a value that is gone.
    """
    require_role(actor, CASE_EDITORS)
    case = _visible_case(actor, case_id, for_update=True)
    order = FlaggedOrder.objects.select_for_update().filter(case_id=case.pk, pk=order_id).first()
    if order is None:
        raise NotFound()
    if case.state not in OPEN_STATES:
        raise InvalidState(_("The orders of a finished case cannot be changed."), details={"state": case.state})
    problems: dict[str, list[str]] = {
        name: [_("This field cannot be changed.")] for name in sorted(set(changes) - set(ORDER_CORRECTABLE_FIELDS))
    }
    for name in ORDER_CORRECTABLE_FIELDS:
        if name in changes:
            try:
                cast("models.Field[Any, Any]", FlaggedOrder._meta.get_field(name)).clean(changes[name], order)
            except ValidationError as exc:
                problems[name] = list(exc.messages)
    if problems:
        raise InvalidInput(details={"fields": problems})
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name in ORDER_CORRECTABLE_FIELDS:
        if name in changes and changes[name] != getattr(order, name):
            old[name], new[name] = getattr(order, name), changes[name]
            setattr(order, name, changes[name])
    if not new:
        return order
    order.save(update_fields=list(new))
    named = {"order": order.pk, "platform_order_id": order.platform_order_id}
    record_case_event(
        case=case, actor=actor, kind=EventKind.DETAILS_UPDATED, old_value={**named, **old}, new_value={**named, **new}
    )
    checks_recheck_orders([order.pk])
    return order


# An order may leave or rejoin the appeal while the appeal is being prepared, not while
# the platform is reviewing it; after an outcome it may change before a second appeal.
EXCLUSION_STATES = (CaseState.INTAKE, CaseState.ASSESSMENT, CaseState.EVIDENCE, CaseState.RESOLVED)


@transaction.atomic
def flagged_order_set_excluded(
    *, case_id: int, order_id: int, actor: User, excluded: bool, reason: str = ""
) -> FlaggedOrder:
    """Leave an order out of the appeal (a reason is required), or bring it back."""
    require_role(actor, CASE_WORKERS)
    case = _visible_case(actor, case_id, for_update=True)
    order = FlaggedOrder.objects.select_for_update().filter(case_id=case.pk, pk=order_id).first()
    if order is None:
        raise NotFound()
    if case.state not in EXCLUSION_STATES:
        raise InvalidState(
            _("Orders can be excluded or included only before the appeal is submitted or after its outcome."),
            details={"state": case.state},
        )
    reason = reason.strip()
    if excluded and not reason:
        raise InvalidInput(details={"fields": {"reason": [_("Say why the order is left out of the appeal.")]}})
    if (order.excluded_at is not None) == excluded:
        return order
    if excluded:
        order.excluded_at, order.excluded_by, order.exclusion_reason = timezone.now(), actor, reason
    else:
        order.excluded_at, order.excluded_by, order.exclusion_reason = None, None, ""
    order.save(update_fields=["excluded_at", "excluded_by", "exclusion_reason"])
    if order.outcome != OrderResult.CLEARED:
        # A cleared order is no longer open work, whether it is in the appeal or not.
        change = -1 if excluded else 1
        Case.objects.filter(pk=case.pk).update(open_order_count=F("open_order_count") + change)
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.ORDER_EXCLUDED if excluded else EventKind.ORDER_INCLUDED,
        new_value={"order": order.pk, "platform_order_id": order.platform_order_id},
        reason=reason,
    )
    chat_evidence_sync(case, actor=actor)
    return order


__all__ = [
    "CaseState",
    "case_assign",
    "case_create",
    "case_transition",
    "case_update_details",
    "flagged_order_set_excluded",
    "flagged_order_update",
    "flagged_orders_add",
    "transitions_for",
]
