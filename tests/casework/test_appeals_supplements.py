"""The platform's supplement requests (``casework.appeals``): recorded with a deadline, answered with
evidence, cancelled, overtaken.

Beside tests/casework/test_appeals.py rather than in it: its ``url``, ``submitted`` and ``nothing_written``
differ from that file's and from test_appeals_outcomes.py's."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from cases.models import Case, CaseEvent, EventKind, SupplementRequest, SupplementResponse
from casework import services
from evidence.models import EvidenceItem
from integrations.models import OutboxEvent
from tests.factories import PNG_HEADER, evidence_item
from workflows.deadlines import deadline_closing_reason
from workflows.models import Deadline, DeadlineKind

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 9, 10, 0, tzinfo=dt.UTC)


def url(case: Case) -> str:
    return f"/api/v1/cases/{case.pk}/supplements/"


@pytest.fixture
def submitted(case_in: Any, time_machine: Any) -> Case:
    time_machine.move_to(NOW - dt.timedelta(hours=3), tick=False)
    case = case_in("submitted", penalty_points=12)
    time_machine.move_to(NOW, tick=False)
    return case


def create(api: Any, user: Any, case: Case, **body: Any) -> Any:
    return api(user).post(url(case), {"description": "Send the signed delivery slips.", **body}, format="json")


def nothing_written(case: Case) -> None:
    assert not SupplementRequest.objects.filter(case=case).exists()
    assert not Deadline.objects.filter(case=case, kind=DeadlineKind.PLATFORM_SUPPLEMENT).exists()
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.SUPPLEMENT_REQUESTED).exists()


# --- Recording a request ----------------------------------------------------------------------


@override_settings(SUPPLEMENT_DEFAULT_HOURS=48)
def test_a_request_without_a_due_time_is_due_the_default_hours_later_with_a_deadline(api, manager, alice, submitted):
    response = create(api, manager, submitted, platform_reference="BC-1")

    assert response.status_code == 201, response.data
    request = SupplementRequest.objects.get(case=submitted)
    assert (request.received_at, request.due_at, request.status) == (NOW, NOW + dt.timedelta(hours=48), "open")
    deadline = request.deadline
    assert (deadline.kind, deadline.due_at, deadline.status) == (
        DeadlineKind.PLATFORM_SUPPLEMENT,
        request.due_at,
        "open",
    )
    assert response.data["deadline"] == deadline.pk
    assert response.data["attempt"] == 1
    event = CaseEvent.objects.get(case=submitted, kind=EventKind.SUPPLEMENT_REQUESTED)
    assert event.client_visible
    # The platform's wording is the agency's working material: not in the event, nor sent out.
    assert "delivery slips" not in str(event.new_value)
    outbox = OutboxEvent.objects.get(case=submitted, type="appeal.supplement_requested")
    assert "delivery slips" not in str(outbox.data)
    timeline = api(alice).get(f"/api/v1/portal/cases/{submitted.pk}/timeline/")
    assert any("more material" in entry["text"] for entry in timeline.data["results"])


def test_the_platform_due_time_and_arrival_are_kept(api, manager, submitted):
    received = NOW - dt.timedelta(hours=1)
    due = NOW + dt.timedelta(hours=20)

    response = create(api, manager, submitted, received_at=received.isoformat(), due_at=due.isoformat())

    assert response.status_code == 201, response.data
    request = SupplementRequest.objects.get(case=submitted)
    assert (request.received_at, request.due_at, request.deadline.due_at) == (received, due, due)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "  "}, "description"),
        ({"due_at": (NOW - dt.timedelta(hours=1)).isoformat()}, "due_at"),
        ({"received_at": (NOW + dt.timedelta(hours=1)).isoformat()}, "received_at"),
        ({"received_at": (NOW - dt.timedelta(hours=5)).isoformat()}, "received_at"),
        ({"platform_reference": "x" * 101}, "platform_reference"),
        ({"due_at": "tomorrow"}, "due_at"),
    ],
)
def test_bad_requests_are_400_naming_the_field(api, manager, submitted, body, field):
    response = create(api, manager, submitted, **body)

    assert response.status_code == 400
    assert field in response.data["error"]["details"]["fields"]
    nothing_written(submitted)


@pytest.mark.parametrize("state", ["evidence", "resolved"])
def test_a_request_outside_submitted_is_409(api, manager, case_in, state):
    case = case_in(state)

    response = create(api, manager, case)

    assert response.status_code == 409
    nothing_written(case)


def test_supplement_permissions(api, submitted, reviewer, intake, outsider_manager, alice, manager):
    assert create(api, None, submitted).status_code == 401
    assert api(None).get(url(submitted)).status_code == 401
    assert create(api, reviewer, submitted).status_code == 403
    assert create(api, alice, submitted).status_code == 403
    assert api(alice).get(url(submitted)).status_code == 403
    assert create(api, outsider_manager, submitted).status_code == 404
    assert api(outsider_manager).get(url(submitted)).status_code == 404
    nothing_written(submitted)
    assert api(reviewer).get(url(submitted)).status_code == 200


@pytest.mark.parametrize("size", [1, 3])
def test_the_list_takes_a_fixed_number_of_queries(api, manager, submitted, django_assert_num_queries, size):
    for index in range(3):
        create(api, manager, submitted, description=f"Request {index}")
    for request in SupplementRequest.objects.filter(case=submitted):
        services_respond(api, manager, request)

    # Case, count, requests (with attempt, author, deadline), responses.
    with django_assert_num_queries(4):
        response = api(manager).get(url(submitted) + f"?page_size={size}")
    assert len(response.data["results"]) == size
    assert response.data["results"][0]["responses"][0]["summary"] == "Sent."


def services_respond(api: Any, user: Any, request: SupplementRequest, **body: Any) -> Any:
    return api(user).post(f"/api/v1/supplements/{request.pk}/responses/", {"summary": "Sent.", **body}, format="json")


# --- Answering ----------------------------------------------------------------------------------


@pytest.fixture
def request_open(api: Any, manager: Any, submitted: Case) -> SupplementRequest:
    create(api, manager, submitted)
    return SupplementRequest.objects.get(case=submitted)


def test_an_answer_with_evidence_meets_the_deadline_and_locks_the_items(api, manager, supervisor, request_open):
    case = request_open.case
    order = case.flagged_orders.order_by("id").first()
    item = evidence_item(
        case,
        order=order,
        kind="signed_delivery",
        uploaded_by=supervisor,
        review_state="pending",
        content=PNG_HEADER + b"new",
    )

    response = services_respond(api, manager, request_open, evidence_items=[item.pk, item.pk])

    assert response.status_code == 201, response.data
    request_open.refresh_from_db()
    assert request_open.status == "answered"
    assert request_open.deadline.status == "met"
    answer = SupplementResponse.objects.get(request=request_open)
    assert answer.manifest == [{"item": item.pk, "order": order.pk, "kind": "signed_delivery", "sha256": item.sha256}]
    assert EvidenceItem.objects.get(pk=item.pk).first_submitted_in.number == 1
    event = CaseEvent.objects.get(case=case, kind=EventKind.SUPPLEMENT_ANSWERED)
    assert (event.client_visible, event.new_value["evidence_items"]) == (True, 1)
    # A further answer is recorded too; the deadline stays met.
    assert services_respond(api, manager, request_open, summary="One more slip.").status_code == 201
    assert SupplementResponse.objects.filter(request=request_open).count() == 2


def test_an_answer_needs_a_summary_and_usable_items_of_the_case(
    api, manager, supervisor, make_case, blossom_shop, request_open
):
    case = request_open.case
    order = case.flagged_orders.order_by("id").first()
    removed = evidence_item(case, order=order, kind="chat_log", uploaded_by=supervisor, content=b"gone")
    EvidenceItem.objects.filter(pk=removed.pk).update(removed_at=timezone.now(), removal_reason="Wrong file.")
    rejected = evidence_item(
        case,
        order=order,
        kind="chat_log",
        uploaded_by=supervisor,
        review_state="rejected",
        content=PNG_HEADER + b"blur",
    )
    other_case = make_case(blossom_shop, orders=1)
    foreign = evidence_item(other_case, order=None, kind="malicious_brushing", uploaded_by=supervisor)

    response = services_respond(
        api, manager, request_open, summary=" ", evidence_items=[removed.pk, rejected.pk, foreign.pk]
    )

    assert response.status_code == 400
    fields = response.data["error"]["details"]["fields"]
    assert set(fields) == {"summary", "evidence_items"}
    assert set(fields["evidence_items"]) == {str(removed.pk), str(rejected.pk), str(foreign.pk)}
    request_open.refresh_from_db()
    assert (request_open.status, request_open.deadline.status) == ("open", "open")
    assert not SupplementResponse.objects.exists()


def test_answer_and_cancel_permissions(api, request_open, reviewer, outsider_manager, alice, charlie):
    answer_url = f"/api/v1/supplements/{request_open.pk}/responses/"
    cancel_url = f"/api/v1/supplements/{request_open.pk}/cancel/"
    for target, body in [(answer_url, {"summary": "Sent."}), (cancel_url, {"reason": "Withdrawn."})]:
        assert api(None).post(target, body, format="json").status_code == 401
        assert api(reviewer).post(target, body, format="json").status_code == 403
        assert api(alice).post(target, body, format="json").status_code == 403
        assert api(charlie).post(target, body, format="json").status_code == 403
        assert api(outsider_manager).post(target, body, format="json").status_code == 404
    assert api(reviewer).post("/api/v1/supplements/999999/responses/", {"summary": "x"}).status_code == 403
    request_open.refresh_from_db()
    assert request_open.status == "open"


# --- Cancelling, and the outcome overtaking a request -------------------------------------------


def test_a_cancelled_request_cancels_its_deadline_and_takes_no_answer(api, manager, request_open):
    cancel_url = f"/api/v1/supplements/{request_open.pk}/cancel/"
    assert api(manager).post(cancel_url, {"reason": " "}, format="json").status_code == 400

    response = api(manager).post(cancel_url, {"reason": "The platform withdrew it."}, format="json")

    assert response.status_code == 200, response.data
    assert response.data["status"] == "cancelled"
    request_open.refresh_from_db()
    assert (request_open.deadline.status, request_open.deadline.closing_reason) == (
        "cancelled",
        "The platform withdrew it.",
    )
    assert api(manager).post(cancel_url, {"reason": "Again."}, format="json").status_code == 409
    assert services_respond(api, manager, request_open).status_code == 409


def test_the_outcome_cancels_an_open_request_and_its_deadline(api, manager, request_open):
    case = request_open.case

    response = api(manager).post(f"/api/v1/cases/{case.pk}/outcome/", {"outcome": "accepted"}, format="json")

    assert response.status_code == 200, response.data
    request_open.refresh_from_db()
    assert request_open.status == "cancelled"
    assert request_open.deadline.status == "cancelled"
    assert request_open.deadline.closing_reason_code == "supplement_overtaken"
    assert deadline_closing_reason(request_open.deadline) == "The platform decided before the supplement was answered."
    # Decided: the request can no longer be answered, nor a new one recorded.
    assert services_respond(api, manager, request_open).status_code == 409
    assert create(api, manager, case).status_code == 409


def test_an_answered_request_stays_answered_when_the_outcome_arrives(api, manager, request_open):
    services_respond(api, manager, request_open)

    services.case_transition(case_id=request_open.case_id, name="record_outcome", actor=manager, outcome="rejected")

    request_open.refresh_from_db()
    assert (request_open.status, request_open.deadline.status) == ("answered", "met")


def test_the_attempt_lists_its_supplement_requests(api, manager, request_open):
    services_respond(api, manager, request_open)

    response = api(manager).get(f"/api/v1/cases/{request_open.case_id}/attempts/1/")

    (listed,) = response.data["supplement_requests"]
    assert (listed["id"], listed["status"], len(listed["responses"])) == (request_open.pk, "answered", 1)


def test_withdrawing_a_submitted_case_cancels_its_open_supplement_requests(api, manager, supervisor, submitted):
    assert create(api, manager, submitted).status_code == 201

    services.case_transition(case_id=submitted.pk, name="withdraw", actor=supervisor, reason="Settled.")

    request = SupplementRequest.objects.get(case=submitted)
    assert request.status == "cancelled"
    assert request.deadline.status == "cancelled"


# --- The deadline endpoints leave a request's deadline to the request ---------------------------


def test_a_requests_deadline_cannot_be_met_or_cancelled_on_its_own(api, manager, supervisor, submitted):
    assert create(api, manager, submitted).status_code == 201
    request = SupplementRequest.objects.get(case=submitted)

    met = api(manager).post(f"/api/v1/deadlines/{request.deadline_id}/met/", {}, format="json")
    cancelled = api(supervisor).post(
        f"/api/v1/deadlines/{request.deadline_id}/cancel/", {"reason": "Not needed."}, format="json"
    )

    for response in (met, cancelled):
        assert response.status_code == 409, response.data
        assert response.data["error"]["details"] == {"supplement_request": request.pk}
    request.refresh_from_db()
    assert (request.status, request.deadline.status) == ("open", "open")


def test_moving_a_requests_deadline_moves_the_request_too(api, manager, submitted):
    assert create(api, manager, submitted).status_code == 201
    request = SupplementRequest.objects.get(case=submitted)
    later = request.due_at + dt.timedelta(days=2)

    response = api(manager).post(
        f"/api/v1/deadlines/{request.deadline_id}/move/",
        {"due_at": later.isoformat(), "reason": "The platform gave two more days."},
        format="json",
    )

    assert response.status_code == 200, response.data
    request.refresh_from_db()
    assert request.due_at == request.deadline.due_at == later
