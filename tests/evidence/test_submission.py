"""What an appeal attempt carried (``evidence.submission``): the evidence manifest written when ``submit_appeal``
succeeds, and the lock on what went in."""

from __future__ import annotations

import pytest

from agency.errors import ConditionsUnmet
from cases.models import AppealAttempt, CaseEvent
from casework import services
from evidence.models import EvidenceItem
from evidence.rules import evidence_snapshot
from evidence.submission import appeal_attempt_record
from tests.evidence.helpers import PHYSICAL, give
from tests.factories import evidence_item


def test_submit_records_exactly_the_evidence_that_went_in(api, evidence_case, supervisor):
    first, second, third = evidence_case.flagged_orders.all()
    sent = give(evidence_case, first, PHYSICAL, supervisor) + give(evidence_case, second, PHYSICAL, supervisor)
    services.flagged_order_set_excluded(
        case_id=evidence_case.pk, order_id=third.pk, actor=supervisor, excluded=True, reason="Admitted."
    )
    left_out = give(evidence_case, third, PHYSICAL[:1], supervisor)[0]
    pending = evidence_item(
        evidence_case, order=first, kind="payment_record", uploaded_by=supervisor, review_state="pending"
    )
    case_level = evidence_item(evidence_case, order=None, kind="malicious_brushing", uploaded_by=supervisor)

    response = api(supervisor).post(f"/api/v1/cases/{evidence_case.pk}/transitions/", {"transition": "submit_appeal"})

    assert response.status_code == 200, response.data
    attempt = AppealAttempt.objects.get(case=evidence_case)
    assert attempt.number == 1
    assert attempt.submitted_by == supervisor
    included = {entry["item"]: entry["sha256"] for entry in attempt.manifest}
    assert included == {item.pk: item.sha256 for item in [*sent, case_level]}
    locked = set(EvidenceItem.objects.filter(first_submitted_in=attempt).values_list("pk", flat=True))
    assert locked == set(included)
    assert left_out.pk not in locked
    assert pending.pk not in locked
    event = CaseEvent.objects.filter(case=evidence_case, kind="state_changed").latest("id")
    assert (event.new_value["attempt"], event.new_value["evidence_items"]) == (1, 9)


def test_a_second_attempt_keeps_the_first_attempts_lock(case_in, supervisor):
    case = case_in("resolved")
    first_attempt = AppealAttempt.objects.get(case=case)
    services.case_transition(case_id=case.pk, name="reappeal", actor=supervisor)
    order = case.flagged_orders.first()
    old = EvidenceItem.objects.get(order=order, kind="chat_log")
    newer = evidence_item(case, order=order, kind="chat_log", uploaded_by=supervisor, content=b"a fuller chat log")
    old.superseded_by = newer
    old.save()

    services.case_transition(case_id=case.pk, name="submit_appeal", actor=supervisor)

    second = AppealAttempt.objects.get(case=case, number=2)
    items = {entry["item"] for entry in second.manifest}
    assert newer.pk in items
    assert old.pk not in items
    assert old.pk in {entry["item"] for entry in first_attempt.manifest}
    old.refresh_from_db()
    newer.refresh_from_db()
    assert (old.first_submitted_in, newer.first_submitted_in) == (first_attempt, second)


def test_the_manifest_is_built_only_from_evidence_read_under_lock_and_complete(case_in, supervisor):
    complete = case_in("evidence")
    with pytest.raises(ValueError, match="under lock"):
        appeal_attempt_record(case=complete, actor=supervisor, evidence=evidence_snapshot(complete))

    lacking = case_in("evidence", with_evidence=False)
    with pytest.raises(ConditionsUnmet):
        appeal_attempt_record(case=lacking, actor=supervisor, evidence=evidence_snapshot(lacking, lock=True))
    assert not AppealAttempt.objects.filter(case__in=[complete, lacking]).exists()
