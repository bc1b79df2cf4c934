"""Appeal attempts (``casework.appeals``): the list and detail, the platform's reference, the attempt limit
and one attempt in flight. The supplement requests and the outcome, also ``casework.appeals``, are in
test_appeals_supplements.py and test_appeals_outcomes.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from agency.errors import ConditionsUnmet, InvalidState
from cases.models import AppealAttempt, Case, CaseEvent, EventKind, PlatformRuleProfile
from casework import appeals, services

pytestmark = pytest.mark.django_db


def attempts_url(case: Case, number: int | None = None) -> str:
    base = f"/api/v1/cases/{case.pk}/attempts/"
    return base if number is None else f"{base}{number}/"


@pytest.fixture
def submitted(case_in: Any) -> Case:
    return case_in("submitted", penalty_points=12)


def test_the_attempts_list_says_who_submitted_what_and_how_it_ended(api, manager, supervisor, submitted):
    AppealAttempt.objects.filter(case=submitted).update(platform_reference="SS-1")
    services.case_transition(case_id=submitted.pk, name="record_outcome", actor=manager, outcome="rejected")

    response = api(manager).get(attempts_url(submitted))

    assert response.status_code == 200
    (attempt,) = response.data["results"]
    assert attempt["number"] == 1
    assert attempt["submitted_by"]["id"] == supervisor.pk
    assert attempt["decided_by"]["id"] == manager.pk
    assert attempt["platform_reference"] == "SS-1"
    assert attempt["manifest_items"] == len(AppealAttempt.objects.get(case=submitted).manifest) > 0
    assert (attempt["outcome"], attempt["orders_upheld"], attempt["orders_cleared"]) == ("rejected", 3, 0)
    assert "manifest" not in attempt
    assert attempt["supplement_requests"] == []


def test_the_attempt_detail_has_the_manifest_and_the_decision_per_order(api, manager, submitted):
    first = submitted.flagged_orders.order_by("id").first()
    services.case_transition(
        case_id=submitted.pk,
        name="record_outcome",
        actor=manager,
        order_results=[{"order": first.pk, "result": "cleared", "points_restored": 2, "note": "Good slip."}],
        default_result="upheld",
    )

    response = api(manager).get(attempts_url(submitted, 1))

    assert response.status_code == 200
    assert {entry["sha256"] for entry in response.data["manifest"]}
    outcomes = {row["order"]: row for row in response.data["order_outcomes"]}
    assert outcomes[first.pk] == {
        "order": first.pk,
        "platform_order_id": first.platform_order_id,
        "result": "cleared",
        "points_restored": 2,
        "note": "Good slip.",
    }
    assert api(manager).get(attempts_url(submitted, 2)).status_code == 404


def test_case_workers_set_the_platform_reference_with_internal_history(api, manager, alice, submitted):
    response = api(manager).patch(attempts_url(submitted, 1), {"platform_reference": " SS-2026-77 "}, format="json")

    assert response.status_code == 200, response.data
    assert response.data["platform_reference"] == "SS-2026-77"
    event = CaseEvent.objects.filter(case=submitted, kind=EventKind.ATTEMPT_UPDATED).get()
    assert (event.client_visible, event.old_value["platform_reference"], event.new_value["platform_reference"]) == (
        False,
        "",
        "SS-2026-77",
    )
    timeline = api(alice).get(f"/api/v1/portal/cases/{submitted.pk}/timeline/")
    assert EventKind.ATTEMPT_UPDATED not in {entry["kind"] for entry in timeline.data["results"]}
    # The same value again changes nothing and writes no history.
    api(manager).patch(attempts_url(submitted, 1), {"platform_reference": "SS-2026-77"}, format="json")
    assert CaseEvent.objects.filter(case=submitted, kind=EventKind.ATTEMPT_UPDATED).count() == 1


def test_attempt_endpoints_refuse_the_wrong_people(api, submitted, reviewer, intake, outsider_manager, alice):
    body = {"platform_reference": "X"}
    assert api(None).get(attempts_url(submitted)).status_code == 401
    assert api(None).patch(attempts_url(submitted, 1), body, format="json").status_code == 401
    assert api(alice).get(attempts_url(submitted)).status_code == 403
    assert api(reviewer).patch(attempts_url(submitted, 1), body, format="json").status_code == 403
    assert api(intake).patch(attempts_url(submitted, 1), body, format="json").status_code == 403
    assert api(outsider_manager).get(attempts_url(submitted)).status_code == 404
    assert api(outsider_manager).get(attempts_url(submitted, 1)).status_code == 404
    assert api(outsider_manager).patch(attempts_url(submitted, 1), body, format="json").status_code == 404
    assert AppealAttempt.objects.get(case=submitted).platform_reference == ""


def test_a_too_long_reference_is_a_400_and_a_finished_case_is_409(api, manager, supervisor, submitted):
    response = api(manager).patch(attempts_url(submitted, 1), {"platform_reference": "x" * 101}, format="json")
    assert response.status_code == 400
    assert "platform_reference" in response.data["error"]["details"]["fields"]

    services.case_transition(case_id=submitted.pk, name="withdraw", actor=supervisor, reason="The client gave up.")
    response = api(manager).patch(attempts_url(submitted, 1), {"platform_reference": "SS-9"}, format="json")
    assert response.status_code == 409
    assert AppealAttempt.objects.get(case=submitted).platform_reference == ""


@pytest.mark.parametrize("size", [1, 3])
def test_the_attempts_list_takes_a_fixed_number_of_queries(
    api, manager, submitted, django_assert_max_num_queries, size
):
    for _round in range(2):
        services.case_transition(case_id=submitted.pk, name="record_outcome", actor=manager, outcome="rejected")
        services.case_transition(case_id=submitted.pk, name="reappeal", actor=manager)
        Case.objects.filter(pk=submitted.pk).update(appeal_attempt_limit=5)
        services.case_transition(case_id=submitted.pk, name="submit_appeal", actor=manager)
    appeals.supplement_request_create(case_id=submitted.pk, actor=manager, description="Send the slips.")

    # Case, count, attempts, supplement requests, their responses (skipped when a page has no requests).
    with django_assert_max_num_queries(5):
        response = api(manager).get(attempts_url(submitted) + f"?page_size={size}")
    assert len(response.data["results"]) == size


# --- The attempt limit and one attempt in flight ------------------------------------------------


@pytest.mark.parametrize(("limit", "reappeal_possible"), [(1, False), (2, True)])
def test_the_attempt_limit_comes_from_the_rule_profile(case_in, manager, limit, reappeal_possible):
    # Blossom's shop is on Tmall: a platform allowing one appeal, or one allowing a second.
    PlatformRuleProfile.objects.filter(platform="tmall", violation_type="fake_transaction").update(attempt_limit=limit)
    case = case_in("resolved")
    assert case.appeal_attempt_limit == limit

    if not reappeal_possible:
        with pytest.raises(ConditionsUnmet) as raised:
            services.case_transition(case_id=case.pk, name="reappeal", actor=manager)
        assert [c["code"] for c in raised.value.details["unmet_conditions"]] == ["attempts_remain"]
        return
    services.case_transition(case_id=case.pk, name="reappeal", actor=manager)
    services.case_transition(case_id=case.pk, name="submit_appeal", actor=manager)
    services.case_transition(case_id=case.pk, name="record_outcome", actor=manager, outcome="rejected")
    with pytest.raises(ConditionsUnmet):
        services.case_transition(case_id=case.pk, name="reappeal", actor=manager)
    assert AppealAttempt.objects.filter(case=case).count() == 2


def test_submit_is_refused_while_an_attempt_is_in_flight(case_in, manager, supervisor):
    """Unreachable through the state machine; data edited by hand must still not yield two."""
    case = case_in("resolved")
    services.case_transition(case_id=case.pk, name="reappeal", actor=manager)
    AppealAttempt.objects.filter(case=case).update(decided_at=None)
    events_before = CaseEvent.objects.filter(case=case).count()

    with pytest.raises(InvalidState) as raised:
        services.case_transition(case_id=case.pk, name="submit_appeal", actor=manager)

    assert raised.value.details == {"attempt_in_flight": 1}
    case.refresh_from_db()
    assert (case.state, case.appeal_attempts_used) == ("evidence", 1)
    assert AppealAttempt.objects.filter(case=case).count() == 1
    assert CaseEvent.objects.filter(case=case).count() == events_before


def test_submit_over_the_api_answers_409_while_an_attempt_is_in_flight(api, case_in, manager):
    case = case_in("resolved")
    services.case_transition(case_id=case.pk, name="reappeal", actor=manager)
    AppealAttempt.objects.filter(case=case).update(decided_at=None)

    response = api(manager).post(f"/api/v1/cases/{case.pk}/transitions/", {"transition": "submit_appeal"})

    assert response.status_code == 409
    assert response.data["error"]["details"] == {"attempt_in_flight": 1}


def test_the_database_refuses_a_second_attempt_in_flight(submitted, supervisor):
    with pytest.raises(IntegrityError), transaction.atomic():
        AppealAttempt.objects.create(case=submitted, number=2, submitted_by=supervisor)
