"""What an appeal attempt carried: the evidence manifest written when ``submit_appeal`` succeeds."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from agency.accounts.models import User
from agency.errors import ConditionsUnmet, InvalidState
from cases.models import AppealAttempt, Case, OrderResult
from casework.conditions import evidence_complete
from evidence.models import EvidenceItem, ReviewState

# The orders an attempt appeals: in the appeal and not cleared by an earlier attempt (as
# casework.appeals.appealed_q, seen from an evidence item).
APPEALED_ORDER = Q(order__excluded_at__isnull=True, order__outcome__in=("", OrderResult.UPHELD))


def _in_flight_refusal(attempt: AppealAttempt) -> InvalidState:
    return InvalidState(
        _("Appeal attempt %(number)d is still with the platform: record its outcome before submitting another.")
        % {"number": attempt.number},
        details={"attempt_in_flight": attempt.number},
    )


def appeal_attempt_record(*, case: Case, actor: User) -> AppealAttempt:
    """Record attempt ``case.appeal_attempts_used`` with exactly the evidence that goes with it.

    Call inside the transaction of the ``submit_appeal`` transition. The items are locked
    (SELECT ... FOR UPDATE) and the evidence rule is checked again under the lock, so a
    review or removal that lands between the guard and this point cannot leave the
    platform with an appeal the rule would have refused. Items are then marked as
    submitted: from now on they can be superseded but never removed or replaced.

    The manifest covers what this attempt appeals: case-level items, and the items of
    orders in the appeal that no earlier attempt cleared (a re-appeal does not send the
    cleared orders' evidence again). A platform handles one appeal per violation at a
    time: while an earlier attempt awaits its outcome, nothing is recorded (409); the
    state machine keeps that from happening, and the database refuses it too.
    """
    in_flight = AppealAttempt.objects.filter(case_id=case.pk, decided_at__isnull=True).first()
    if in_flight is not None:
        raise _in_flight_refusal(in_flight)
    items = list(
        EvidenceItem.objects.active()
        .select_for_update(of=("self",))
        .filter(case_id=case.pk, review_state=ReviewState.ACCEPTED)
        .filter(Q(order__isnull=True) | APPEALED_ORDER)
        .order_by("order_id", "kind", "id")
        .values("id", "order_id", "kind", "sha256", "size", "original_name")
    )
    if not evidence_complete(case):
        unmet = {"code": evidence_complete.code, "message": str(evidence_complete.message)}
        if evidence_complete.explain is not None:
            unmet.update(evidence_complete.explain(case))
        raise ConditionsUnmet(details={"unmet_conditions": [unmet]})
    manifest: list[dict[str, Any]] = [
        {
            "item": item["id"],
            "order": item["order_id"],
            "kind": item["kind"],
            "sha256": item["sha256"],
            "size": item["size"],
            "original_name": item["original_name"],
        }
        for item in items
    ]
    try:
        with transaction.atomic():
            attempt = AppealAttempt.objects.create(
                case=case, number=case.appeal_attempts_used, submitted_by=actor, manifest=manifest
            )
    except IntegrityError as exc:
        # Another submission of this case got there first (one in flight, one per number).
        raise InvalidState(
            _("Another appeal attempt was recorded for this case meanwhile; reload and try again."),
            details={"attempt_in_flight": True},
        ) from exc
    EvidenceItem.objects.filter(pk__in=[item["id"] for item in items], first_submitted_in__isnull=True).update(
        first_submitted_in=attempt
    )
    return attempt
