"""The case's transitions (``casework.services.case_transition`` over the machine ``casework.transitions``
reads): every state x every transition, roles x transitions, guards; two transitions of one case at the same
moment (exactly one wins, the other gets 409); and the time spent in each state (one span per stay, written
beside every transition, and the backfill from history)."""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.db import connections
from django.utils import timezone

from agency.errors import ConditionsUnmet, InvalidState, NotAllowed
from cases.models import Case, CaseEvent, CaseState, CaseStateSpan
from casework import services
from tests.conftest import agree_fee, requires_postgres
from tests.recovery.helpers import waive_recovery_plan

# Written out from the specification, not derived from the code, so a change to the
# machine that the specification does not allow fails here.
SOURCES = {
    "start_assessment": {"intake"},
    "decline": {"intake", "assessment"},
    "accept_case": {"assessment"},
    "submit_appeal": {"evidence"},
    "record_outcome": {"submitted"},
    "reappeal": {"resolved"},
    "start_recovery": {"resolved"},
    "close": {"resolved", "reputation_recovery"},
    "withdraw": {"intake", "assessment", "evidence", "submitted", "resolved", "reputation_recovery"},
}
TARGETS = {
    "start_assessment": "assessment",
    "decline": "declined",
    "accept_case": "evidence",
    "submit_appeal": "submitted",
    "record_outcome": "resolved",
    "reappeal": "evidence",
    "start_recovery": "reputation_recovery",
    "close": "closed",
    "withdraw": "withdrawn",
}
INPUTS: dict[str, dict[str, Any]] = {
    "decline": {"reason": "Genuine violation; no grounds to appeal."},
    "record_outcome": {"outcome": "rejected"},
    "withdraw": {"reason": "Client settled directly."},
}
# Roles that may take each transition (the client is the case's own client user).
ALLOWED_ROLES = {
    "start_assessment": {"intake", "manager", "supervisor", "administrator"},
    "decline": {"manager", "supervisor", "administrator"},
    "accept_case": {"manager", "supervisor", "administrator"},
    "submit_appeal": {"manager", "supervisor", "administrator"},
    "record_outcome": {"manager", "supervisor", "administrator"},
    "reappeal": {"manager", "supervisor", "administrator"},
    "start_recovery": {"manager", "supervisor", "administrator"},
    "close": {"manager", "supervisor", "administrator"},
    "withdraw": {"alice", "supervisor", "administrator"},
}
ACTORS = ["intake", "manager", "reviewer", "supervisor", "administrator", "alice"]
# A source state from which each transition's guards hold for the case_in fixture.
STAGING_STATE = {
    "start_assessment": "intake",
    "decline": "assessment",
    "accept_case": "assessment",
    "submit_appeal": "evidence",
    "record_outcome": "submitted",
    "reappeal": "resolved",
    "start_recovery": "resolved",
    "close": "reputation_recovery",
    "withdraw": "submitted",
}


def transition_url(case: Case) -> str:
    return f"/api/v1/cases/{case.pk}/transitions/"


@pytest.mark.parametrize("name", sorted(SOURCES))
@pytest.mark.parametrize("state", [state.value for state in CaseState])
def test_every_state_by_every_transition(api, supervisor, case_in, state, name):
    case = case_in(state)
    if name == "accept_case" and state == "assessment":
        # accept_case needs the client's accepted quote (billing); agree it first.
        agree_fee(case, supervisor=supervisor)
    if name == "close" and state == "reputation_recovery":
        # close from reputation recovery needs the recovery plan finished or waived.
        waive_recovery_plan(case, supervisor=supervisor)
    events_before = CaseEvent.objects.filter(case=case).count()
    state_events_before = CaseEvent.objects.filter(case=case, kind="state_changed").count()

    response = api(supervisor).post(transition_url(case), {"transition": name, **INPUTS.get(name, {})})

    case.refresh_from_db()
    if state in SOURCES[name]:
        assert response.status_code == 200, response.data
        assert response.data["state"] == TARGETS[name]
        assert case.state == TARGETS[name]
        # One state change; the deadlines that follow the case write their own rows beside it.
        assert CaseEvent.objects.filter(case=case, kind="state_changed").count() == state_events_before + 1
        event = CaseEvent.objects.filter(case=case, kind="state_changed").latest("id")
        assert (event.kind, event.old_value, event.new_value["state"]) == (
            "state_changed",
            {"state": state},
            case.state,
        )
        assert event.actor == supervisor
    else:
        assert response.status_code == 409, response.data
        assert response.data["error"]["code"] == "invalid_state"
        assert case.state == state
        assert CaseEvent.objects.filter(case=case).count() == events_before


@pytest.mark.parametrize("actor_name", ACTORS)
@pytest.mark.parametrize("name", sorted(SOURCES))
def test_roles_by_transitions(request, case_in, alice, intake, reviewer, administrator, name, actor_name):
    actor = request.getfixturevalue(actor_name)
    case = case_in(STAGING_STATE[name])
    if name == "accept_case":
        agree_fee(case, supervisor=request.getfixturevalue("supervisor"))
    if name == "close":
        # close from reputation recovery needs the recovery plan finished or waived.
        waive_recovery_plan(case, supervisor=request.getfixturevalue("supervisor"))

    def take() -> Case:
        return services.case_transition(case_id=case.pk, name=name, actor=actor, **INPUTS.get(name, {}))

    if actor_name in ALLOWED_ROLES[name]:
        assert take().state == TARGETS[name]
    else:
        with pytest.raises(NotAllowed):
            take()
        case.refresh_from_db()
        assert case.state == STAGING_STATE[name]


@pytest.mark.parametrize("actor_name", ["intake", "manager", "reviewer", "supervisor", "administrator"])
@pytest.mark.parametrize("name", sorted(SOURCES))
def test_roles_by_transitions_over_the_api(api, request, case_in, reviewer, administrator, name, actor_name):
    actor = request.getfixturevalue(actor_name)
    case = case_in(STAGING_STATE[name])
    if name == "accept_case":
        agree_fee(case, supervisor=request.getfixturevalue("supervisor"))
    if name == "close":
        # close from reputation recovery needs the recovery plan finished or waived.
        waive_recovery_plan(case, supervisor=request.getfixturevalue("supervisor"))

    response = api(actor).post(transition_url(case), {"transition": name, **INPUTS.get(name, {})})

    expected = 200 if actor_name in ALLOWED_ROLES[name] else 403
    assert response.status_code == expected, response.data
    if expected == 403:
        assert response.data["error"]["code"] == "permission_denied"


def test_start_assessment_lists_every_unmet_condition(api, make_case, blossom_shop, supervisor):
    case = make_case(blossom_shop, orders=0)

    response = api(supervisor).post(transition_url(case), {"transition": "start_assessment"})

    assert response.status_code == 400
    assert response.data["error"]["code"] == "conditions_unmet"
    codes = [c["code"] for c in response.data["error"]["details"]["unmet_conditions"]]
    assert codes == ["has_assignee", "has_flagged_orders"]
    case.refresh_from_db()
    assert case.state == "intake"


@pytest.mark.parametrize(
    ("state", "name", "missing"),
    [
        ("intake", "decline", "reason_required"),
        ("assessment", "decline", "reason_required"),
        ("submitted", "record_outcome", "outcome_required"),
        ("evidence", "withdraw", "reason_required"),
    ],
)
def test_required_inputs_are_unmet_conditions(api, case_in, supervisor, state, name, missing):
    case = case_in(state)

    response = api(supervisor).post(transition_url(case), {"transition": name, "reason": "   "})

    assert response.status_code == 400
    assert [c["code"] for c in response.data["error"]["details"]["unmet_conditions"]] == [missing]


def test_outcome_must_be_a_known_value(api, case_in, supervisor):
    case = case_in("submitted")

    response = api(supervisor).post(transition_url(case), {"transition": "record_outcome", "outcome": "won"})

    assert response.status_code == 400
    assert "outcome" in response.data["error"]["details"]["fields"]


def test_unknown_transition_is_a_field_error(api, case_in, supervisor):
    case = case_in("intake")

    response = api(supervisor).post(transition_url(case), {"transition": "teleport"})

    assert response.status_code == 400
    assert "transition" in response.data["error"]["details"]["fields"]


def test_second_appeal_then_attempt_limit(case_in, supervisor):
    """Default limit 2: one re-appeal is possible, a third submission is not."""
    case = case_in("resolved")
    assert (case.appeal_attempts_used, case.outcome) == (1, "rejected")

    for name, inputs in [
        ("reappeal", {}),
        ("submit_appeal", {}),
        ("record_outcome", {}),
    ]:
        if name == "record_outcome":
            # A partial outcome is given per order: the first cleared, the rest upheld.
            first = case.flagged_orders.order_by("id").first()
            inputs = {"order_results": [{"order": first.pk, "result": "cleared"}], "default_result": "upheld"}
        case = services.case_transition(case_id=case.pk, name=name, actor=supervisor, **inputs)
    assert (case.state, case.appeal_attempts_used, case.outcome) == ("resolved", 2, "partially_accepted")

    with pytest.raises(ConditionsUnmet) as raised:
        services.case_transition(case_id=case.pk, name="reappeal", actor=supervisor)
    assert [c["code"] for c in raised.value.details["unmet_conditions"]] == ["attempts_remain"]


def test_no_reappeal_after_acceptance(case_in, supervisor):
    case = case_in("submitted")
    services.case_transition(case_id=case.pk, name="record_outcome", actor=supervisor, outcome="accepted")

    with pytest.raises(ConditionsUnmet) as raised:
        services.case_transition(case_id=case.pk, name="reappeal", actor=supervisor)

    assert [c["code"] for c in raised.value.details["unmet_conditions"]] == ["outcome_not_accepted"]


def test_submit_appeal_refused_when_no_attempts_remain(case_in, supervisor):
    case = case_in("evidence")
    Case.objects.filter(pk=case.pk).update(appeal_attempt_limit=0)

    with pytest.raises(ConditionsUnmet) as raised:
        services.case_transition(case_id=case.pk, name="submit_appeal", actor=supervisor)

    assert [c["code"] for c in raised.value.details["unmet_conditions"]] == ["attempts_remain"]


def test_expected_state_mismatch_is_a_conflict(api, case_in, supervisor):
    case = case_in("assessment")

    response = api(supervisor).post(transition_url(case), {"transition": "accept_case", "expected_state": "intake"})

    assert response.status_code == 409
    assert response.data["error"]["details"] == {"state": "assessment", "expected_state": "intake"}


def test_available_transitions_with_unmet_conditions(api, make_case, blossom_shop, supervisor):
    case = make_case(blossom_shop, orders=0)

    response = api(supervisor).get(transition_url(case))

    assert response.status_code == 200
    by_name = {t["name"]: t for t in response.data}
    assert set(by_name) == {"start_assessment", "decline", "withdraw"}
    assert [c["code"] for c in by_name["start_assessment"]["unmet_conditions"]] == [
        "has_assignee",
        "has_flagged_orders",
    ]
    assert by_name["decline"] == {
        "name": "decline",
        "label": "Decline",
        "target": "declined",
        "requires": ["reason"],
        "unmet_conditions": [],
    }


def test_reviewer_sees_no_transitions(api, case_in, reviewer):
    case = case_in("assessment")

    response = api(reviewer).get(transition_url(case))

    assert response.status_code == 200
    assert response.data == []


def test_state_cannot_be_set_by_hand(case_in):
    case = case_in("intake")

    with pytest.raises(AttributeError):
        case.state = "closed"


def test_transition_failure_changes_nothing(case_in, supervisor):
    case = case_in("intake")
    before = list(CaseEvent.objects.filter(case=case).values_list("id", flat=True))

    with pytest.raises(InvalidState):
        services.case_transition(case_id=case.pk, name="close", actor=supervisor)

    case.refresh_from_db()
    assert case.state == "intake"
    assert list(CaseEvent.objects.filter(case=case).values_list("id", flat=True)) == before


@requires_postgres
# serialized_rollback: the flush after each transactional test would otherwise take the
# rule profiles the data migrations seed with it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("accept_case", {}), ("accept_case", {})),
        (("accept_case", {}), ("decline", {"reason": "No grounds."})),
    ],
)
def test_concurrent_transitions_one_wins(api, supervisor, manager, case_in, first, second):
    case = case_in("assessment")
    # accept_case needs the client's accepted quote (billing).
    agree_fee(case, supervisor=supervisor)
    events_before = CaseEvent.objects.filter(case=case, kind="state_changed").count()

    # Both requests start together. The transition locks the case's row when it reads it,
    # so the second waits for the first to commit and then finds the case moved on; a
    # request that read it unlocked first would be caught by the optimistic check on save.
    both_ready = threading.Barrier(2, timeout=10)
    responses: dict[str, int] = {}
    bodies: dict[str, dict] = {}

    def attempt(label, name, inputs, user):
        try:
            client = api(user)
            both_ready.wait()
            response = client.post(
                f"/api/v1/cases/{case.pk}/transitions/", {"transition": name, **inputs}, format="json"
            )
            responses[label], bodies[label] = response.status_code, response.data
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=attempt, args=("a", *first, supervisor)),
        threading.Thread(target=attempt, args=("b", *second, manager)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(responses.values()) == [200, 409]
    case.refresh_from_db()
    winner, loser = (first, "b") if responses["a"] == 200 else (second, "a")
    message = bodies[loser]["error"]["message"]
    assert "changed while this request was processed" in message or "is not possible while the case is in" in message
    assert case.state == {"accept_case": "evidence", "decline": "declined"}[winner[0]]
    new_events = CaseEvent.objects.filter(case=case, kind="state_changed").count() - events_before
    assert new_events == 1


backfill = importlib.import_module("cases.migrations.0009_backfill_state_spans").backfill


def _spans(case):
    return list(CaseStateSpan.objects.filter(case=case).order_by("entered_at", "id").values_list("state", "seconds"))


def test_a_new_case_has_one_open_span_in_intake(make_case, blossom_shop):
    case = make_case(blossom_shop)

    span = CaseStateSpan.objects.get(case=case)
    assert (span.state, span.left_at, span.seconds) == (CaseState.INTAKE, None, None)
    assert span.entered_at == case.created_at


def test_each_transition_closes_the_stay_and_opens_the_next(make_case, blossom_shop, manager, supervisor):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        case = make_case(blossom_shop, assignee=manager)
        clock.shift(dt.timedelta(hours=5))
        services.case_transition(case_id=case.pk, name="start_assessment", actor=supervisor)
        clock.shift(dt.timedelta(hours=30))
        agree_fee(case, supervisor=supervisor)
        services.case_transition(case_id=case.pk, name="accept_case", actor=supervisor)

    assert _spans(case) == [
        (CaseState.INTAKE, 5 * 3600),
        (CaseState.ASSESSMENT, 30 * 3600),
        (CaseState.EVIDENCE, None),
    ]
    assert CaseStateSpan.objects.filter(case=case, left_at__isnull=True).count() == 1


def test_a_refused_transition_writes_no_span(make_case, blossom_shop, manager, supervisor):
    case = make_case(blossom_shop, assignee=manager)
    services.case_transition(case_id=case.pk, name="start_assessment", actor=supervisor)
    before = _spans(case)

    with pytest.raises(ConditionsUnmet):  # no accepted fee quote yet
        services.case_transition(case_id=case.pk, name="accept_case", actor=supervisor)

    assert _spans(case) == before


def test_the_backfill_rebuilds_the_same_spans_from_history(make_case, blossom_shop, manager, supervisor):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        case = make_case(blossom_shop, assignee=manager)
        clock.shift(dt.timedelta(hours=2))
        services.case_transition(case_id=case.pk, name="start_assessment", actor=supervisor)
        clock.shift(dt.timedelta(hours=3))
        services.case_transition(case_id=case.pk, name="decline", actor=supervisor, reason="Genuine violation.")
    written = _spans(case)
    CaseStateSpan.objects.filter(case=case).delete()

    backfill(apps, None)

    assert (
        _spans(case)
        == written
        == [
            (CaseState.INTAKE, 2 * 3600),
            (CaseState.ASSESSMENT, 3 * 3600),
            (CaseState.DECLINED, None),
        ]
    )
