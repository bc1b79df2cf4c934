"""Fee quotes from the staff side (``billing.services``): proposing, revising, withdrawing, deciding on the
client's behalf, and who is told."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agency.errors import ConditionsUnmet, InvalidState, NotAllowed
from billing import services
from billing.models import FeeQuote, QuoteStatus
from cases.assessment import assessment_record
from cases.models import Case, CaseEvent
from casework import services as case_services
from integrations.api_keys import api_key_create
from integrations.models import OutboxEvent
from workflows.models import Notification

FLAT = {"fee_model": "flat", "amount": "8000.00", "client_note": "Payable on acceptance."}


def quotes_url(case) -> str:
    return f"/api/v1/cases/{case.pk}/quotes/"


def action_url(quote, action: str) -> str:
    return f"/api/v1/quotes/{quote.pk}/{action}/"


@pytest.fixture
def assessed_case(case_in, manager):
    """A Blossom case in assessment, assigned to manager, with an assessment recommending to take it."""
    case = case_in("assessment")
    assessment_record(case_id=case.pk, actor=manager, recommendation="take", merit_score=70)
    return case


def propose(case, actor, **terms):
    values = {"fee_model": "flat", "amount": Decimal("8000"), **terms}
    return services.quote_propose(case_id=case.pk, actor=actor, **values)


# --- Proposing --------------------------------------------------------------------------------


def test_propose_a_flat_quote(api, assessed_case, manager):
    response = api(manager).post(quotes_url(assessed_case), FLAT, format="json")

    assert response.status_code == 201, response.data
    assert response.data["version"] == 1
    assert response.data["status"] == "proposed"
    assert response.data["quoted_total"] == "8000.00"
    assert response.data["currency"] == "CNY"
    assert response.data["proposed_by"]["username"] == "manager"
    event = CaseEvent.objects.filter(case=assessed_case, kind="quote_proposed").get()
    assert event.client_visible is True
    assert event.new_value["amount"] == "8000.00"


def test_per_order_quote_totals_the_orders_in_the_appeal(api, assessed_case, manager):
    response = api(manager).post(
        quotes_url(assessed_case), {"fee_model": "per_order_cleared", "amount": "500"}, format="json"
    )
    assert response.status_code == 201, response.data
    assert response.data["quoted_total"] == "1500.00"  # three orders


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fee_model": "hourly", "amount": "10"}, "fee_model"),
        ({"fee_model": "flat", "amount": "0"}, "amount"),
        ({"fee_model": "flat", "amount": "-5"}, "amount"),
        ({"fee_model": "flat", "amount": "1.234"}, "amount"),
        ({"fee_model": "flat"}, "amount"),
        ({"fee_model": "flat", "amount": "10", "currency": "yuan"}, "currency"),
        ({"fee_model": "flat", "amount": "10", "currency": "cny"}, "currency"),
        ({"fee_model": "per_order_cleared", "amount": "10", "refund_if_failed": True}, "refund_if_failed"),
        ({"fee_model": "per_case_won", "amount": "10", "refund_if_failed": True}, "refund_if_failed"),
    ],
)
def test_invalid_terms_are_400_and_nothing_is_written(api, assessed_case, manager, body, field):
    response = api(manager).post(quotes_url(assessed_case), body, format="json")

    assert response.status_code == 400, response.data
    assert field in response.data["error"]["details"]["fields"]
    assert not FeeQuote.objects.exists()
    assert not Notification.objects.filter(kind="quote_proposed").exists()


def test_refund_is_allowed_on_a_flat_fee(api, assessed_case, manager):
    response = api(manager).post(quotes_url(assessed_case), {**FLAT, "refund_if_failed": True}, format="json")
    assert response.status_code == 201
    assert response.data["refund_if_failed"] is True


@pytest.mark.parametrize("recommendation", [None, "decline", ""])
def test_a_quote_needs_an_assessment_recommending_to_take_the_case(api, case_in, manager, recommendation):
    case = case_in("assessment")
    if recommendation is not None:
        assessment_record(case_id=case.pk, actor=manager, recommendation=recommendation)

    response = api(manager).post(quotes_url(case), FLAT, format="json")

    assert response.status_code == 409
    assert response.data["error"]["details"]["code"] == "assessment_required"
    assert not FeeQuote.objects.exists()


@pytest.mark.parametrize("state", ["intake", "evidence", "resolved", "declined"])
def test_a_quote_is_proposed_only_in_assessment(api, case_in, supervisor, state):
    case = case_in(state)
    response = api(supervisor).post(quotes_url(case), FLAT, format="json")
    assert response.status_code == 409
    assert response.data["error"]["code"] == "invalid_state"


def test_a_revised_quote_withdraws_the_previous_one(api, assessed_case, manager, alice):
    first = propose(assessed_case, manager)
    services.quote_accept(quote_id=first.pk, actor=alice)

    response = api(manager).post(quotes_url(assessed_case), {**FLAT, "amount": "7000"}, format="json")

    assert response.status_code == 201
    assert response.data["version"] == 2
    first.refresh_from_db()
    assert first.status == QuoteStatus.WITHDRAWN
    assert FeeQuote.objects.filter(case=assessed_case, status__in=["proposed", "accepted"]).count() == 1
    withdrawn = CaseEvent.objects.filter(case=assessed_case, kind="quote_withdrawn").get()
    assert withdrawn.new_value["replaced"] is True
    assert withdrawn.client_visible is True


def test_listing_shows_every_version(api, assessed_case, manager, reviewer, django_assert_max_num_queries):
    for amount in ("8000", "7000", "6000"):
        propose(assessed_case, manager, amount=Decimal(amount))

    with django_assert_max_num_queries(6):
        response = api(reviewer).get(quotes_url(assessed_case))

    assert response.status_code == 200
    assert [row["version"] for row in response.data["results"]] == [1, 2, 3]
    assert [row["status"] for row in response.data["results"]] == ["withdrawn", "withdrawn", "proposed"]


# --- Who may ----------------------------------------------------------------------------------


def test_anonymous_is_401(api, assessed_case, manager):
    quote = propose(assessed_case, manager)
    assert api().get(quotes_url(assessed_case)).status_code == 401
    assert api().post(quotes_url(assessed_case), FLAT, format="json").status_code == 401
    for action in ("withdraw", "accept", "reject"):
        assert api().post(action_url(quote, action), {"note": "x"}, format="json").status_code == 401


@pytest.mark.parametrize("name", ["alice", "charlie"])
def test_clients_cannot_use_staff_endpoints(request, api, assessed_case, manager, name):
    user = request.getfixturevalue(name)
    quote = propose(assessed_case, manager)
    assert api(user).get(quotes_url(assessed_case)).status_code == 403
    assert api(user).post(quotes_url(assessed_case), FLAT, format="json").status_code == 403
    for action in ("withdraw", "accept", "reject"):
        response = api(user).post(action_url(quote, action), {"note": "x"}, format="json")
        assert response.status_code == 403
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PROPOSED


@pytest.mark.parametrize("name", ["reviewer", "intake"])
def test_roles_that_do_not_quote_get_403(request, api, assessed_case, manager, name):
    user = request.getfixturevalue(name)
    quote = propose(assessed_case, manager)
    assert api(user).post(quotes_url(assessed_case), FLAT, format="json").status_code == 403
    assert api(user).post(action_url(quote, "withdraw"), {}, format="json").status_code == 403


def test_staff_who_cannot_see_the_case_get_404(api, assessed_case, manager, outsider_manager):
    quote = propose(assessed_case, manager)
    assert api(outsider_manager).get(quotes_url(assessed_case)).status_code == 404
    assert api(outsider_manager).post(quotes_url(assessed_case), FLAT, format="json").status_code == 404
    assert api(outsider_manager).post(action_url(quote, "withdraw"), {}, format="json").status_code == 404
    assert FeeQuote.objects.count() == 1


def test_missing_quote_is_404(api, supervisor, db):
    assert api(supervisor).post("/api/v1/quotes/999999/withdraw/", {}, format="json").status_code == 404
    assert api(supervisor).post("/api/v1/quotes/999999/accept/", {"note": "x"}, format="json").status_code == 404


# --- Withdrawing ------------------------------------------------------------------------------


def test_withdraw_a_proposed_quote(api, assessed_case, manager):
    quote = propose(assessed_case, manager)

    response = api(manager).post(action_url(quote, "withdraw"), {"reason": "Wrong amount."}, format="json")

    assert response.status_code == 200, response.data
    assert response.data["status"] == "withdrawn"
    event = CaseEvent.objects.filter(case=assessed_case, kind="quote_withdrawn").get()
    assert (event.reason, event.new_value["replaced"], event.client_visible) == ("Wrong amount.", False, True)


@pytest.mark.parametrize("decision", ["accept", "reject"])
def test_only_a_proposed_quote_can_be_withdrawn(api, assessed_case, manager, alice, decision):
    quote = propose(assessed_case, manager)
    getattr(services, f"quote_{decision}")(quote_id=quote.pk, actor=alice)

    response = api(manager).post(action_url(quote, "withdraw"), {}, format="json")

    assert response.status_code == 409
    quote.refresh_from_db()
    assert quote.status != QuoteStatus.WITHDRAWN


def test_withdraw_only_in_assessment(assessed_case, manager, supervisor):
    quote = propose(assessed_case, manager)
    case_services.case_transition(case_id=assessed_case.pk, name="decline", actor=supervisor, reason="No.")
    with pytest.raises(InvalidState):
        services.quote_withdraw(quote_id=quote.pk, actor=manager)


# --- Deciding on the client's behalf ----------------------------------------------------------


def test_supervisor_records_acceptance_with_a_note(api, assessed_case, manager, supervisor):
    quote = propose(assessed_case, manager)

    response = api(supervisor).post(action_url(quote, "accept"), {"note": "Agreed by phone."}, format="json")

    assert response.status_code == 200, response.data
    assert response.data["status"] == "accepted"
    assert response.data["decided_by"]["username"] == "supervisor"
    assert response.data["decision_note"] == "Agreed by phone."
    event = CaseEvent.objects.filter(case=assessed_case, kind="quote_accepted").get()
    assert (event.actor, event.reason, event.new_value["on_behalf_of_client"]) == (
        supervisor,
        "Agreed by phone.",
        True,
    )


@pytest.mark.parametrize("action", ["accept", "reject"])
def test_on_behalf_needs_a_note(api, assessed_case, manager, administrator, action):
    quote = propose(assessed_case, manager)

    response = api(administrator).post(action_url(quote, action), {"note": "  "}, format="json")

    assert response.status_code == 400
    assert "note" in response.data["error"]["details"]["fields"]
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PROPOSED


@pytest.mark.parametrize("action", ["accept", "reject"])
def test_case_managers_cannot_decide_for_the_client(api, assessed_case, manager, action):
    quote = propose(assessed_case, manager)
    response = api(manager).post(action_url(quote, action), {"note": "They said yes."}, format="json")
    assert response.status_code == 403


def test_a_decided_quote_cannot_be_decided_again(api, assessed_case, manager, supervisor):
    quote = propose(assessed_case, manager)
    api(supervisor).post(action_url(quote, "reject"), {"note": "Too expensive, by phone."}, format="json")
    response = api(supervisor).post(action_url(quote, "accept"), {"note": "Changed mind."}, format="json")
    assert response.status_code == 409
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.REJECTED


def test_after_a_rejection_a_new_quote_may_be_proposed(assessed_case, manager, alice):
    first = propose(assessed_case, manager)
    services.quote_reject(quote_id=first.pk, actor=alice, note="Too much.")
    second = propose(assessed_case, manager, amount=Decimal("5000"))
    assert second.version == 2
    first.refresh_from_db()
    assert first.status == QuoteStatus.REJECTED


# --- accept_case needs the accepted quote -----------------------------------------------------


def test_accept_case_is_blocked_until_the_quote_is_accepted(api, assessed_case, manager, alice):
    transitions = f"/api/v1/cases/{assessed_case.pk}/transitions/"
    response = api(manager).post(transitions, {"transition": "accept_case"}, format="json")
    assert response.status_code == 400
    assert [c["code"] for c in response.data["error"]["details"]["unmet_conditions"]] == ["quote_accepted"]

    quote = propose(assessed_case, manager)
    with pytest.raises(ConditionsUnmet):
        case_services.case_transition(case_id=assessed_case.pk, name="accept_case", actor=manager)
    services.quote_reject(quote_id=quote.pk, actor=alice)
    with pytest.raises(ConditionsUnmet):
        case_services.case_transition(case_id=assessed_case.pk, name="accept_case", actor=manager)

    accepted = propose(assessed_case, manager)
    services.quote_accept(quote_id=accepted.pk, actor=alice)
    response = api(manager).post(transitions, {"transition": "accept_case"}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["state"] == "evidence"


# --- Notifications ----------------------------------------------------------------------------


def test_proposal_notifies_the_clients_people_only(assessed_case, manager, alice, bob, charlie, administrator):
    bob.is_active = False
    bob.save()
    _key, _plaintext = api_key_create(
        actor=administrator, name="ERP", organisation_id=assessed_case.organisation_id, permission="read"
    )

    quote = propose(assessed_case, manager)

    notes = Notification.objects.filter(kind="quote_proposed")
    assert [n.recipient for n in notes] == [alice]
    assert notes.get().params == {
        "reference": assessed_case.reference,
        "fee_model": "flat",
        "amount": "8000.00",
        "currency": "CNY",
        "quoted_total": "8000.00",
        "refund_if_failed": False,
    }
    assert notes.get().case_id == assessed_case.pk
    assert quote.pk


def test_decision_notifies_the_assignee(assessed_case, manager, supervisor, alice):
    quote = propose(assessed_case, manager)

    services.quote_reject(quote_id=quote.pk, actor=alice, note="Too expensive.")

    note = Notification.objects.get(kind="quote_decided")
    assert note.recipient == manager
    assert note.params == {
        "reference": assessed_case.reference,
        "decision": "rejected",
        "version": 1,
        "note": "Too expensive.",
    }
    assert not Notification.objects.filter(kind="quote_decided", recipient=supervisor).exists()


def test_decision_notifies_supervisors_when_nobody_is_assigned(make_case, blossom_shop, supervisor, alice, manager):
    case = make_case(blossom_shop, assignee=manager)
    case_services.case_transition(case_id=case.pk, name="start_assessment", actor=supervisor)
    assessment_record(case_id=case.pk, actor=supervisor, recommendation="take")
    quote = propose(case, supervisor)
    # The case loses its assignee (a direct update: unassigning is not this test's concern).
    Case.objects.filter(pk=case.pk).update(assignee=None)

    services.quote_accept(quote_id=quote.pk, actor=alice)

    assert [n.recipient for n in Notification.objects.filter(kind="quote_decided")] == [supervisor]


def test_the_person_who_recorded_the_decision_is_not_told_of_it(make_case, blossom_shop, supervisor):
    case = make_case(blossom_shop, assignee=supervisor)
    case_services.case_transition(case_id=case.pk, name="start_assessment", actor=supervisor)
    assessment_record(case_id=case.pk, actor=supervisor, recommendation="take")
    quote = propose(case, supervisor)

    services.quote_accept(quote_id=quote.pk, actor=supervisor, note="By phone.")

    assert not Notification.objects.filter(kind="quote_decided").exists()


# --- Webhook outbox ---------------------------------------------------------------------------


def test_quote_events_reach_the_outbox_without_internal_fields(assessed_case, manager, alice):
    quote = propose(assessed_case, manager, client_note="Thanks")
    services.quote_accept(quote_id=quote.pk, actor=alice, note="OK")

    events = OutboxEvent.objects.filter(case=assessed_case, type__startswith="fee.").order_by("sequence")
    assert [event.type for event in events] == ["fee.quote_proposed", "fee.quote_accepted"]
    for event in events:
        values = event.data["values"]
        assert values["quote"] == quote.pk
        assert "proposed_by" not in values
        assert "decision_note" not in values
        assert "manager" not in str(event.data)


def test_a_rejection_reaches_the_outbox(assessed_case, manager, alice):
    quote = propose(assessed_case, manager)
    services.quote_reject(quote_id=quote.pk, actor=alice)
    assert OutboxEvent.objects.filter(case=assessed_case, type="fee.quote_rejected").count() == 1


def test_service_role_checks(assessed_case, manager, reviewer):
    quote = propose(assessed_case, manager)
    with pytest.raises(NotAllowed):
        services.quote_propose(case_id=assessed_case.pk, actor=reviewer, fee_model="flat", amount=Decimal("1"))
    with pytest.raises(NotAllowed):
        services.quote_accept(quote_id=quote.pk, actor=manager, note="x")
    with pytest.raises(NotAllowed):
        services.quote_withdraw(quote_id=quote.pk, actor=reviewer)
