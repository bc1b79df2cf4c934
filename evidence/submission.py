"""What an appeal attempt carried: the evidence manifest written when ``submit_appeal`` succeeds."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError
from django.utils.translation import gettext as _

from agency.accounts.models import User
from agency.errors import ConditionsUnmet, InvalidState
from cases.models import AppealAttempt, Case
from evidence.models import EvidenceItem
from evidence.rules import EvidenceSnapshot


def _in_flight_refusal(attempt: AppealAttempt) -> InvalidState:
    return InvalidState(
        _("Appeal attempt %(number)d is still with the platform: record its outcome before submitting another.")
        % {"number": attempt.number},
        details={"attempt_in_flight": attempt.number},
    )


def appeal_attempt_record(*, case: Case, actor: User, evidence: EvidenceSnapshot) -> AppealAttempt:
    """Record attempt ``case.appeal_attempts_used`` with exactly the evidence that goes with it.

    Call inside the transaction of the ``submit_appeal`` transition, with the evidence it
    read under lock (evidence.rules.evidence_snapshot with ``lock``) before its guard
    checked the rule: a review or removal cannot land between the rule and this point, so
    the platform never gets an appeal the rule would have refused. Items are then marked
    as submitted: from now on they can be superseded but never removed or replaced.

    The manifest covers what this attempt appeals: case-level items, and the items of
    orders in the appeal that no earlier attempt cleared (a re-appeal does not send the
    cleared orders' evidence again). A platform handles one appeal per violation at a
    time: while an earlier attempt awaits its outcome, nothing is recorded (409); the
    state machine keeps that from happening, and the database refuses it too.
    """
    if not evidence.locked:
        raise ValueError("The manifest needs the evidence read under lock (evidence_snapshot(lock=True)).")
    if evidence.gaps:
        # The submit_appeal guard has refused this already; the manifest never goes out incomplete.
        raise ConditionsUnmet(details={"unmet_conditions": [{"code": "evidence_complete", "details": evidence.gaps}]})
    in_flight = AppealAttempt.objects.filter(case_id=case.pk, decided_at__isnull=True).first()
    if in_flight is not None:
        raise _in_flight_refusal(in_flight)
    items = evidence.manifest_items()
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
        attempt = AppealAttempt.objects.create(
            case=case, number=case.appeal_attempts_used, submitted_by=actor, manifest=manifest
        )
    except IntegrityError as exc:
        # Another submission of this case got there first (one in flight, one per number).
        # The transition's transaction rolls back with this error.
        raise InvalidState(
            _("Another appeal attempt was recorded for this case meanwhile; reload and try again."),
            details={"attempt_in_flight": True},
        ) from exc
    EvidenceItem.objects.filter(pk__in=[item["id"] for item in items], first_submitted_in__isnull=True).update(
        first_submitted_in=attempt
    )
    return attempt
