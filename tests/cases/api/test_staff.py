"""The staff case API (``cases.api.staff``, its list filtered by ``cases.api.filters``): create, read, update,
list, orders, assignment, history, and access."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Case, CaseEvent, FlaggedOrder
from casework import services
from tests.cases.helpers import NOTICE, create_payload, jsonable_order
from tests.factories import ShopFactory, order_data

# --- Create ------------------------------------------------------------------------------


def test_intake_creates_case_with_orders(api, intake, blossom_shop):
    payload = create_payload(blossom_shop, flagged_orders=[jsonable_order(i) for i in range(200)])

    response = api(intake).post("/api/v1/cases/", payload, format="json")

    assert response.status_code == 201, response.data
    body = response.data
    assert re.fullmatch(r"AP-2026-\d{6}", body["reference"])
    assert body["state"] == "intake"
    assert body["organisation"]["id"] == blossom_shop.organisation_id
    assert body["flagged_order_count"] == 200
    assert body["appeal_attempt_limit"] == 2
    assert body["created_by"]["username"] == "intake"
    case = Case.objects.get(pk=body["id"])
    assert case.notice_received_at == dt.datetime.fromisoformat(NOTICE)
    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    # No case manager has the Tmall skill, so the case waits for a supervisor, and says so.
    assert [kind for kind in kinds if not kind.startswith("deadline_")] == [
        "created",
        "flagged_orders_added",
        "auto_assignment_failed",
    ]
    # The platform's appeal window, the intake SLA and the chat-evidence deadline were set.
    assert kinds.count("deadline_set") == 3


def test_references_are_sequential_per_year(api, intake, blossom_shop):
    first = api(intake).post("/api/v1/cases/", create_payload(blossom_shop), format="json").data["reference"]
    second = api(intake).post("/api/v1/cases/", create_payload(blossom_shop), format="json").data["reference"]

    assert int(second.rsplit("-", 1)[1]) == int(first.rsplit("-", 1)[1]) + 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"violation_type": "rudeness"}, "violation_type"),
        ({"notice_received_at": "yesterday"}, "notice_received_at"),
        ({"penalty_points": -1}, "penalty_points"),
        ({"restrictions": ["public_shaming"]}, "restrictions"),
        ({"shop": 999999}, "shop"),
        ({"notice_period_end": "2026-08-01T00:00:00+08:00"}, "notice_period_end"),
    ],
)
def test_create_rejects_bad_fields_and_writes_nothing(api, intake, blossom_shop, overrides, field):
    response = api(intake).post("/api/v1/cases/", create_payload(blossom_shop, **overrides), format="json")

    assert response.status_code == 400
    assert response.data["error"]["code"] == "invalid"
    assert field in response.data["error"]["details"]["fields"]
    assert Case.objects.count() == 0


def test_create_with_one_bad_order_writes_nothing(api, intake, blossom_shop):
    orders = [jsonable_order(i) for i in range(5)]
    orders[3]["amount"] = "-5.00"
    orders.append(jsonable_order(1))  # duplicate of order 1

    response = api(intake).post("/api/v1/cases/", create_payload(blossom_shop, flagged_orders=orders), format="json")

    assert response.status_code == 400
    assert "flagged_orders" in response.data["error"]["details"]["fields"]
    assert (Case.objects.count(), FlaggedOrder.objects.count(), CaseEvent.objects.count()) == (0, 0, 0)


def test_duplicate_orders_in_create_are_reported_by_index(api, intake, blossom_shop):
    orders = [jsonable_order(0), jsonable_order(1), jsonable_order(0)]

    response = api(intake).post("/api/v1/cases/", create_payload(blossom_shop, flagged_orders=orders), format="json")

    assert response.status_code == 400
    assert response.data["error"]["details"]["fields"]["orders"] == {
        "2": {"platform_order_id": ["Repeats the order id of item 0 in this request (items count from 0)."]}
    }
    assert Case.objects.count() == 0


@pytest.mark.parametrize("actor", ["reviewer", "alice"])
def test_create_refused_for_roles_without_intake_rights(api, request, blossom_shop, actor):
    response = api(request.getfixturevalue(actor)).post("/api/v1/cases/", create_payload(blossom_shop), format="json")

    assert response.status_code == 403
    assert Case.objects.count() == 0


# --- Read and update ---------------------------------------------------------------------


def test_detail_shows_the_notice(api, manager, case_in):
    case = case_in("assessment")

    response = api(manager).get(f"/api/v1/cases/{case.pk}/")

    assert response.status_code == 200
    assert response.data["reference"] == case.reference
    assert response.data["assignee"]["username"] == "manager"
    assert response.data["flagged_order_count"] == 3


def test_update_details_in_intake_records_old_and_new(api, manager, case_in):
    case = case_in("intake")

    response = api(manager).patch(f"/api/v1/cases/{case.pk}/", {"penalty_points": 48, "severity": "serious"})

    assert response.status_code == 200, response.data
    assert response.data["penalty_points"] == 48
    event = CaseEvent.objects.filter(case=case).latest("id")
    assert event.kind == "details_updated"
    assert event.old_value == {"penalty_points": 0, "severity": "general"}
    assert event.new_value == {"penalty_points": 48, "severity": "serious"}
    assert event.actor == manager


def test_update_with_no_change_writes_no_history(api, manager, case_in):
    case = case_in("intake")
    before = CaseEvent.objects.filter(case=case).count()

    response = api(manager).patch(f"/api/v1/cases/{case.pk}/", {"penalty_points": 0})

    assert response.status_code == 200
    assert CaseEvent.objects.filter(case=case).count() == before


@pytest.mark.parametrize("state", ["evidence", "submitted", "closed", "withdrawn"])
def test_update_refused_after_assessment(api, supervisor, case_in, state):
    case = case_in(state)

    response = api(supervisor).patch(f"/api/v1/cases/{case.pk}/", {"penalty_points": 48})

    assert response.status_code == 409
    case.refresh_from_db()
    assert case.penalty_points == 0


def test_update_refuses_a_shop_of_another_organisation(api, supervisor, case_in, star_shop):
    case = case_in("intake")

    response = api(supervisor).patch(f"/api/v1/cases/{case.pk}/", {"shop": star_shop.pk})

    assert response.status_code == 400
    assert "shop" in response.data["error"]["details"]["fields"]
    case.refresh_from_db()
    assert case.shop_id != star_shop.pk


def test_reviewer_cannot_update(api, reviewer, case_in):
    case = case_in("intake")

    response = api(reviewer).patch(f"/api/v1/cases/{case.pk}/", {"penalty_points": 48})

    assert response.status_code == 403


# --- Flagged orders ----------------------------------------------------------------------


def test_add_one_order(api, manager, case_in):
    case = case_in("assessment")

    response = api(manager).post(f"/api/v1/cases/{case.pk}/orders/", jsonable_order(50), format="json")

    assert response.status_code == 201, response.data
    assert response.data["platform_order_id"] == order_data(50)["platform_order_id"]
    assert case.flagged_orders.count() == 4


def test_add_many_orders_all_or_nothing(api, manager, case_in):
    case = case_in("intake")
    good = [jsonable_order(i) for i in range(10, 20)]

    bad = [*good, jsonable_order(0)]  # order 0 is already on the case
    refused = api(manager).post(f"/api/v1/cases/{case.pk}/orders/bulk/", {"orders": bad}, format="json")
    accepted = api(manager).post(f"/api/v1/cases/{case.pk}/orders/bulk/", {"orders": good}, format="json")

    assert refused.status_code == 400
    assert refused.data["error"]["details"]["fields"]["orders"] == {
        "10": {"platform_order_id": ["This order is already on the case."]}
    }
    assert accepted.status_code == 201
    assert len(accepted.data) == 10
    assert case.flagged_orders.count() == 13
    # The stored count follows the rows, and the refused request did not move it.
    assert api(manager).get(f"/api/v1/cases/{case.pk}/").data["flagged_order_count"] == 13
    added = CaseEvent.objects.filter(case=case, kind="flagged_orders_added").latest("id")
    assert added.new_value["count"] == 10


def test_orders_cannot_be_added_once_evidence_starts(api, manager, case_in):
    case = case_in("evidence")

    response = api(manager).post(f"/api/v1/cases/{case.pk}/orders/", jsonable_order(77), format="json")

    assert response.status_code == 409
    assert case.flagged_orders.count() == 3


def test_order_list_is_paginated(api, manager, case_in):
    case = case_in("intake", orders=25)

    response = api(manager).get(f"/api/v1/cases/{case.pk}/orders/?page_size=10")

    assert response.status_code == 200
    assert response.data["count"] == 25
    assert len(response.data["results"]) == 10


# --- Assignment and history ----------------------------------------------------------------


def test_supervisor_reassigns_with_reason(api, supervisor, teammate, case_in):
    case = case_in("assessment")

    response = api(supervisor).post(
        f"/api/v1/cases/{case.pk}/assign/", {"assignee": teammate.pk, "reason": "Manager on leave."}
    )

    assert response.status_code == 200
    assert response.data["assignee"]["username"] == "teammate"
    event = CaseEvent.objects.filter(case=case, kind="assigned").latest("id")
    assert (event.reason, event.new_value, event.actor) == ("Manager on leave.", {"assignee": teammate.pk}, supervisor)


@pytest.mark.parametrize("actor", ["manager", "intake", "reviewer"])
def test_only_supervisors_assign(api, request, case_in, teammate, actor):
    case = case_in("assessment")

    response = api(request.getfixturevalue(actor)).post(f"/api/v1/cases/{case.pk}/assign/", {"assignee": teammate.pk})

    assert response.status_code in (403, 404)
    case.refresh_from_db()
    assert case.assignee.username == "manager"


@pytest.mark.parametrize("assignee", ["alice", "reviewer"])
def test_assignee_must_be_a_case_manager_or_supervisor(api, request, supervisor, case_in, assignee):
    case = case_in("intake")

    response = api(supervisor).post(
        f"/api/v1/cases/{case.pk}/assign/", {"assignee": request.getfixturevalue(assignee).pk}
    )

    assert response.status_code == 400
    assert "assignee" in response.data["error"]["details"]["fields"]


def test_finished_case_cannot_be_reassigned(api, supervisor, teammate, case_in):
    case = case_in("closed")

    response = api(supervisor).post(f"/api/v1/cases/{case.pk}/assign/", {"assignee": teammate.pk})

    assert response.status_code == 409


def test_history_lists_every_change_in_order(api, manager, case_in):
    case = case_in("submitted")

    response = api(manager).get(f"/api/v1/cases/{case.pk}/events/")

    assert response.status_code == 200
    rows = [
        (e["kind"], (e["new_value"] or {}).get("state"))
        for e in response.data["results"]
        if not e["kind"].startswith("deadline_")
    ]
    assert rows == [
        ("created", None),
        ("flagged_orders_added", None),
        ("auto_assignment_failed", None),
        ("assigned", None),
        ("state_changed", "assessment"),
        ("assessment_recorded", None),
        ("quote_proposed", None),
        ("quote_accepted", None),
        ("state_changed", "evidence"),
        ("state_changed", "submitted"),
    ]


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_history_cannot_be_edited_through_the_api(api, supervisor, case_in, method):
    case = case_in("intake")
    event = CaseEvent.objects.filter(case=case).first()
    before = list(CaseEvent.objects.filter(case=case).values_list("id", "reason"))

    response = getattr(api(supervisor), method)(f"/api/v1/cases/{case.pk}/events/{event.pk}/", {"reason": "x"})

    assert response.status_code in (404, 405)
    assert list(CaseEvent.objects.filter(case=case).values_list("id", "reason")) == before


# --- List, filters, ordering -----------------------------------------------------------------


@pytest.fixture
def mixed_cases(make_case, blossom_shop, star, manager, outsider_manager, supervisor):
    jd_shop = ShopFactory(organisation=star, platform="jd", name="Star JD Flagship", platform_shop_id="JD-777")
    first = make_case(blossom_shop, assignee=manager)
    second = make_case(jd_shop, assignee=outsider_manager, violation_type="counterfeit")
    third = make_case(blossom_shop)

    services.case_transition(case_id=first.pk, name="start_assessment", actor=supervisor)
    return first, second, third


def refs(response):
    return [row["reference"] for row in response.data["results"]]


def test_list_filters(api, supervisor, manager, mixed_cases):
    first, second, third = mixed_cases
    client = api(supervisor)

    assert refs(client.get("/api/v1/cases/?state=assessment")) == [first.reference]
    assert set(refs(client.get("/api/v1/cases/?state=intake"))) == {second.reference, third.reference}
    assert refs(client.get(f"/api/v1/cases/?assignee={manager.pk}")) == [first.reference]
    assert refs(client.get("/api/v1/cases/?unassigned=true")) == [third.reference]
    assert refs(client.get("/api/v1/cases/?platform=jd")) == [second.reference]
    assert refs(client.get(f"/api/v1/cases/?organisation={second.organisation_id}")) == [second.reference]
    assert refs(client.get("/api/v1/cases/?violation_type=counterfeit")) == [second.reference]


def test_text_search_on_reference_shop_and_order(api, supervisor, mixed_cases):
    first, second, _third = mixed_cases
    client = api(supervisor)
    FlaggedOrder.objects.create(case=second, platform_order_id="4455667788", order_time=timezone.now(), amount="1.00")

    assert refs(client.get(f"/api/v1/cases/?q={first.reference}")) == [first.reference]
    assert refs(client.get("/api/v1/cases/?q=star jd")) == [second.reference]
    assert refs(client.get("/api/v1/cases/?q=JD-777")) == [second.reference]
    assert refs(client.get("/api/v1/cases/?q=4455667788")) == [second.reference]
    assert refs(client.get("/api/v1/cases/?q=nothing-like-this")) == []


def test_list_ordering(api, supervisor, mixed_cases):
    first, second, third = mixed_cases
    client = api(supervisor)

    assert refs(client.get("/api/v1/cases/?ordering=reference")) == [first.reference, second.reference, third.reference]
    assert refs(client.get("/api/v1/cases/?ordering=-reference")) == [
        third.reference,
        second.reference,
        first.reference,
    ]


def test_invalid_filter_value_is_a_field_error(api, supervisor, mixed_cases):
    response = api(supervisor).get("/api/v1/cases/?state=limbo")

    assert response.status_code == 400
    assert "state" in response.data["error"]["details"]["fields"]


def test_case_manager_sees_own_and_team_cases_only(api, manager, teammate, outsider_manager, mixed_cases):
    first, second, _third = mixed_cases

    assert refs(api(manager).get("/api/v1/cases/")) == [first.reference]
    assert refs(api(teammate).get("/api/v1/cases/")) == [first.reference]
    assert refs(api(outsider_manager).get("/api/v1/cases/")) == [second.reference]


def test_intake_sees_the_intake_queue_and_own_cases(api, intake, mixed_cases):
    _first, second, third = mixed_cases

    # All three were opened by ``intake``; a case opened by someone else shows only in intake.
    assert set(refs(api(intake).get("/api/v1/cases/"))) == {c.reference for c in mixed_cases}
    assert {second.reference, third.reference} <= set(refs(api(intake).get("/api/v1/cases/?state=intake")))


def test_intake_does_not_see_others_cases_after_intake(api, make_case, blossom_shop, supervisor, intake, manager):
    case = make_case(blossom_shop, actor=supervisor, assignee=manager)
    assert api(intake).get(f"/api/v1/cases/{case.pk}/").status_code == 200

    services.case_transition(case_id=case.pk, name="start_assessment", actor=supervisor)

    assert api(intake).get(f"/api/v1/cases/{case.pk}/").status_code == 404


@pytest.mark.parametrize("page_size", [10, 100])
def test_list_query_count_does_not_grow_with_page_size(api, supervisor, make_case, blossom_shop, manager, page_size):
    for _ in range(101):
        make_case(blossom_shop, orders=1, assignee=manager)
    client = api(supervisor)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/cases/?page_size={page_size}")

    assert response.status_code == 200
    assert len(response.data["results"]) == page_size
    # One COUNT for the paginator and one SELECT with its joins and subquery.
    assert len(queries) == 2, [q["sql"] for q in queries]


# --- Access: anonymous, clients, staff without access ------------------------------------------

STAFF_CASE_ENDPOINTS = [
    ("get", "/api/v1/cases/{id}/"),
    ("patch", "/api/v1/cases/{id}/"),
    ("get", "/api/v1/cases/{id}/transitions/"),
    ("post", "/api/v1/cases/{id}/transitions/"),
    ("post", "/api/v1/cases/{id}/assign/"),
    ("get", "/api/v1/cases/{id}/events/"),
    ("get", "/api/v1/cases/{id}/orders/"),
    ("post", "/api/v1/cases/{id}/orders/"),
    ("post", "/api/v1/cases/{id}/orders/bulk/"),
]
BODIES = {
    "post": {"transition": "withdraw", "reason": "x", "assignee": None, "orders": []},
    "patch": {"penalty_points": 99},
}


@pytest.mark.parametrize(("method", "path"), STAFF_CASE_ENDPOINTS)
def test_anonymous_gets_401(api, case_in, method, path):
    case = case_in("intake")

    response = getattr(api(), method)(path.format(id=case.pk), BODIES.get(method), format="json")

    assert response.status_code == 401
    assert response.data["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path"), STAFF_CASE_ENDPOINTS)
@pytest.mark.parametrize("client_user", ["alice", "charlie"])
def test_client_users_get_403_whether_or_not_the_case_is_theirs(api, request, case_in, client_user, method, path):
    case = case_in("intake")
    client = api(request.getfixturevalue(client_user))

    real = getattr(client, method)(path.format(id=case.pk), BODIES.get(method), format="json")
    missing = getattr(client, method)(path.format(id=999999), BODIES.get(method), format="json")

    assert real.status_code == missing.status_code == 403
    assert real.data == missing.data
    case.refresh_from_db()
    assert (case.state, case.penalty_points) == ("intake", 0)


@pytest.mark.parametrize(("method", "path"), STAFF_CASE_ENDPOINTS)
def test_staff_of_another_team_gets_404(api, outsider_manager, case_in, method, path):
    case = case_in("assessment")

    response = getattr(api(outsider_manager), method)(path.format(id=case.pk), BODIES.get(method), format="json")

    assert response.status_code == 404
    assert response.data["error"]["code"] == "not_found"
    case.refresh_from_db()
    assert (case.state, case.penalty_points) == ("assessment", 0)


def test_list_for_client_and_anonymous(api, alice, case_in):
    case_in("intake")

    assert api().get("/api/v1/cases/").status_code == 401
    assert api(alice).get("/api/v1/cases/").status_code == 403
    assert api(alice).post("/api/v1/cases/", {}, format="json").status_code == 403


@pytest.mark.parametrize("page_size", [10, 100])
def test_event_and_order_lists_query_count_does_not_grow(api, manager, case_in, supervisor, page_size):
    case = case_in("intake", orders=120)
    for _ in range(60):
        services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=None, reason="Rebalancing.")
        services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=manager.pk)
    client = api(manager)

    # The case (scoped), the paginator's COUNT and the page: no query per row; the order
    # list adds one query for the evidence status of the whole page.
    for path, expected in ((f"/api/v1/cases/{case.pk}/events/", 3), (f"/api/v1/cases/{case.pk}/orders/", 4)):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{path}?page_size={page_size}")
        assert len(response.data["results"]) == page_size
        assert len(queries) == expected, [q["sql"] for q in queries]
