"""Step 2, assessment: the suspected causes, per case and per order, the merit, the strategy and the recommendation.

The assessment is the agency's own judgement and stays internal: the client sees the fee
quote that follows from it (billing), never the assessment itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import User
from agency.accounts.permissions import require_role
from agency.errors import InvalidInput, InvalidState, NotAllowed
from cases.history import record_case_event
from cases.models import (
    Assessment,
    Case,
    CaseState,
    EventKind,
    FlaggedOrder,
    OrderCause,
    Recommendation,
    SuspectedCause,
)
from cases.permissions import CASE_WORKERS
from cases.selectors import case_for_actor

# The assessment is written while the case is assessed; intake may start it early.
ASSESSMENT_STATES = (CaseState.INTAKE, CaseState.ASSESSMENT)
ASSESSMENT_FIELDS = ("causes", "cause_notes", "merit_score", "strategy", "recommendation")
# Free text kept to a size a person writes; the API enforces the same limits.
TEXT_LIMITS = {"cause_notes": 10_000, "strategy": 10_000}
ORDER_NOTE_LIMIT = 2_000
# One request may set the causes of every order of a large notice, but not unboundedly many.
ORDER_CAUSES_PER_REQUEST = 5_000


def _check(values: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    causes = values.get("causes")
    if causes is not None:
        if not isinstance(causes, list) or not all(isinstance(cause, str) for cause in causes):
            errors["causes"] = [_("Give a list of causes.")]
        else:
            unknown = sorted(set(causes) - set(SuspectedCause.values))
            if unknown:
                errors["causes"] = [_("Unknown causes: %(causes)s.") % {"causes": ", ".join(unknown)}]
            elif len(set(causes)) != len(causes):
                errors["causes"] = [_("A cause is listed twice.")]
    score = values.get("merit_score")
    if score is not None and (not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 100):
        errors["merit_score"] = [_("Give a whole number from 0 to 100.")]
    recommendation = values.get("recommendation")
    if recommendation not in (None, "", *Recommendation.values):
        errors["recommendation"] = [_("Give take or decline.")]
    for name, limit in TEXT_LIMITS.items():
        if name not in values:
            continue
        text = values[name]
        if not isinstance(text, str):
            errors[name] = [_("Give text.")]
        elif len(text) > limit:
            errors[name] = [_("At most %(limit)d characters.") % {"limit": limit}]
    if errors:
        raise InvalidInput(details={"fields": errors})


@transaction.atomic
def assessment_record(*, case_id: int, actor: User, **values: Any) -> Assessment:
    """Create or change the case's assessment; the history keeps each change (old and new values)."""
    require_role(actor, CASE_WORKERS)
    case = case_for_actor(actor=actor, case_id=case_id, lock=True)
    if case.state not in ASSESSMENT_STATES:
        raise InvalidState(
            _("The assessment can be changed only in intake or assessment."), details={"state": case.state}
        )
    unknown = sorted(set(values) - set(ASSESSMENT_FIELDS))
    if unknown:
        raise InvalidInput(details={"fields": {name: [_("This field cannot be changed.")] for name in unknown}})
    _check(values)
    # An explicit null clears a field to its empty value.
    if "recommendation" in values and values["recommendation"] is None:
        values["recommendation"] = ""
    if "causes" in values and values["causes"] is None:
        values["causes"] = []
    for name in TEXT_LIMITS:
        if name in values:
            values[name] = values[name].strip()
    assessment = Assessment.objects.filter(case_id=case.pk).first()
    created = assessment is None
    if assessment is None:
        assessment = Assessment(case=case, assessed_by=actor)
    old = {name: getattr(assessment, name) for name in values} if not created else {}
    for name, value in values.items():
        setattr(assessment, name, value)
    assessment.assessed_by = actor
    assessment.save()
    changed = {name: values[name] for name in values if created or old.get(name) != values[name]}
    if changed:
        record_case_event(
            case=case,
            actor=actor,
            kind=EventKind.ASSESSMENT_RECORDED,
            old_value={name: old[name] for name in changed if name in old} or None,
            new_value=changed,
            # The agency's own judgement: never in the client's timeline (nor sent to integrations).
            client_visible=False,
        )
    return assessment


def assessment_causes(causes: Sequence[str]) -> list[str]:
    return [str(SuspectedCause(cause).label) for cause in causes]


# --- Reading ------------------------------------------------------------------------------


@dataclass
class AssessmentView:
    """What staff read about a case's assessment: the assessment (if any) and the per-order causes."""

    case: Case
    assessment: Assessment | None
    order_causes: list[OrderCause] = field(default_factory=list)


def order_causes_of(case: Case) -> QuerySet[OrderCause]:
    return (
        OrderCause.objects.filter(case_id=case.pk)
        .select_related("order", "updated_by")
        .order_by("order__order_time", "order_id")
    )


def assessment_get(*, user: User, case_id: int) -> AssessmentView:
    """The case's assessment for staff who can see the case (404 otherwise); never for clients."""
    if not user.is_agency_staff:
        raise NotAllowed()
    case = case_for_actor(actor=user, case_id=case_id)
    assessment = Assessment.objects.filter(case_id=case.pk).select_related("assessed_by").first()
    return AssessmentView(case=case, assessment=assessment, order_causes=list(order_causes_of(case)))


# --- Per-order causes ---------------------------------------------------------------------


def _order_cause_errors(
    entries: Sequence[Mapping[str, Any]], orders: Mapping[int, str]
) -> tuple[dict[str, dict[str, list[str]]], dict[int, tuple[str, str]]]:
    """Check each entry against the case's orders; errors are keyed by the entry's index."""
    errors: dict[str, dict[str, list[str]]] = {}
    wanted: dict[int, tuple[str, str]] = {}
    for index, entry in enumerate(entries):
        entry_errors: dict[str, list[str]] = {}
        order_id = entry.get("order")
        cause = entry.get("cause") or ""
        note = entry.get("note") or ""
        if isinstance(order_id, bool) or not isinstance(order_id, int) or order_id not in orders:
            entry_errors["order"] = [_("This order is not one of the case's flagged orders.")]
        elif order_id in wanted:
            entry_errors["order"] = [_("This order is listed twice.")]
        if not isinstance(cause, str) or (cause and cause not in SuspectedCause.values):
            entry_errors["cause"] = [
                _("Unknown cause; give one of: %(causes)s, or leave it empty to clear the order's cause.")
                % {"causes": ", ".join(SuspectedCause.values)}
            ]
        if not isinstance(note, str):
            entry_errors["note"] = [_("Give text.")]
        elif len(note) > ORDER_NOTE_LIMIT:
            entry_errors["note"] = [_("At most %(limit)d characters.") % {"limit": ORDER_NOTE_LIMIT}]
        elif note.strip() and not cause:
            entry_errors["note"] = [_("A note needs a cause; to clear the order's cause, leave both empty.")]
        if entry_errors:
            errors[str(index)] = entry_errors
        elif isinstance(order_id, int):
            wanted[order_id] = (str(cause), str(note).strip())
    return errors, wanted


@transaction.atomic
def order_causes_set(*, case_id: int, actor: User, entries: Sequence[Mapping[str, Any]]) -> list[OrderCause]:
    """Set or clear the suspected cause (and its note) of one or many of the case's orders.

    Each entry is ``{"order": <flagged order id>, "cause": <SuspectedCause code or "">,
    "note": ""}``; an empty cause clears the order's own cause (the case's causes then
    apply to it). All or nothing: any invalid entry is reported with its index, and
    nothing is written. One history row lists every order whose cause changed.
    """
    require_role(actor, CASE_WORKERS)
    case = case_for_actor(actor=actor, case_id=case_id, lock=True)
    if case.state not in ASSESSMENT_STATES:
        raise InvalidState(
            _("The assessment can be changed only in intake or assessment."), details={"state": case.state}
        )
    if not entries:
        raise InvalidInput(details={"fields": {"orders": [_("Give at least one order.")]}})
    if len(entries) > ORDER_CAUSES_PER_REQUEST:
        raise InvalidInput(
            details={
                "fields": {"orders": [_("At most %(limit)d orders at a time.") % {"limit": ORDER_CAUSES_PER_REQUEST}]}
            }
        )
    requested = [entry.get("order") for entry in entries if isinstance(entry.get("order"), int)]
    orders = dict(FlaggedOrder.objects.filter(case_id=case.pk, pk__in=requested).values_list("id", "platform_order_id"))
    errors, wanted = _order_cause_errors(entries, orders)
    if errors:
        raise InvalidInput(details={"fields": {"orders": errors}})

    # The case row is locked, so no other writer changes these rows meanwhile.
    existing = {row.order_id: row for row in OrderCause.objects.filter(case_id=case.pk, order_id__in=list(wanted))}
    now = timezone.now()
    to_create: list[OrderCause] = []
    to_update: list[OrderCause] = []
    to_delete: list[int] = []
    old_values: list[dict[str, Any]] = []
    new_values: list[dict[str, Any]] = []
    for order_id, (cause, note) in wanted.items():
        row = existing.get(order_id)
        before = {"cause": row.cause, "note": row.note} if row is not None else {"cause": "", "note": ""}
        if before == {"cause": cause, "note": note}:
            continue
        label = {"order": order_id, "platform_order_id": orders[order_id]}
        old_values.append({**label, **before})
        new_values.append({**label, "cause": cause, "note": note})
        if not cause:
            if row is not None:
                to_delete.append(row.pk)
        elif row is None:
            to_create.append(
                OrderCause(order_id=order_id, case=case, cause=cause, note=note, updated_by=actor, updated_at=now)
            )
        else:
            row.cause, row.note, row.updated_by, row.updated_at = cause, note, actor, now
            to_update.append(row)
    if to_delete:
        OrderCause.objects.filter(pk__in=to_delete).delete()
    if to_create:
        OrderCause.objects.bulk_create(to_create, batch_size=1000)
    if to_update:
        # bulk_update does not apply auto_now, so updated_at is set above and listed here.
        OrderCause.objects.bulk_update(to_update, ["cause", "note", "updated_by", "updated_at"], batch_size=1000)
    if new_values:
        record_case_event(
            case=case,
            actor=actor,
            kind=EventKind.ASSESSMENT_RECORDED,
            old_value={"order_causes": old_values},
            new_value={"order_causes": new_values},
            client_visible=False,
        )
    return list(order_causes_of(case).filter(order_id__in=list(wanted)))
