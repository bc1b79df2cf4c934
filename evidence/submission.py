"""What an appeal attempt carried: the evidence manifest written when ``submit_appeal`` succeeds."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from agency.accounts.models import User
from agency.errors import ConditionsUnmet
from cases.conditions import evidence_complete
from cases.models import AppealAttempt, Case
from evidence.models import EvidenceItem, ReviewState


def appeal_attempt_record(*, case: Case, actor: User) -> AppealAttempt:
    """Record attempt ``case.appeal_attempts_used`` with exactly the evidence that goes with it.

    Call inside the transaction of the ``submit_appeal`` transition. The items are locked
    (SELECT ... FOR UPDATE) and the evidence rule is checked again under the lock, so a
    review or removal that lands between the guard and this point cannot leave the
    platform with an appeal the rule would have refused. Items are then marked as
    submitted: from now on they can be superseded but never removed or replaced.
    """
    items = list(
        EvidenceItem.objects.active()
        .select_for_update(of=("self",))
        .filter(case_id=case.pk, review_state=ReviewState.ACCEPTED)
        .filter(Q(order__isnull=True) | Q(order__excluded_at__isnull=True))
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
    attempt = AppealAttempt.objects.create(
        case=case, number=case.appeal_attempts_used, submitted_by=actor, manifest=manifest
    )
    EvidenceItem.objects.filter(pk__in=[item["id"] for item in items], first_submitted_in__isnull=True).update(
        first_submitted_in=attempt
    )
    return attempt
