"""The assessment (step 2): causes, merit, strategy, recommendation and per-order causes; staff only."""

from __future__ import annotations

import pytest

from agency.errors import InvalidInput, InvalidState, NotAllowed, NotFound
from cases import assessment as service
from cases.models import Assessment, CaseEvent, OrderCause
from integrations.models import OutboxEvent


def url(case) -> str:
    return f"/api/v1/cases/{case.pk}/assessment/"


def causes_url(case) -> str:
    return f"/api/v1/cases/{case.pk}/assessment/order-causes/"


FULL = {
    "causes": ["promotion_misread", "competitor_brushing"],
    "cause_notes": "Double-11 coupon stacking looked like brushing.",
    "merit_score": 72,
    "strategy": "Chat logs for every order; courier screenshots for the 40 largest.",
    "recommendation": "take",
}


# --- Reading and writing the assessment ---------------------------------------------------


def test_get_before_anything_is_recorded(api, case_in, manager):
    case = case_in("assessment")

    response = api(manager).get(url(case))

    assert response.status_code == 200, response.data
    assert response.data["recorded"] is False
    assert response.data["editable"] is True
    assert response.data["causes"] == []
    assert response.data["merit_score"] is None
    assert response.data["order_causes"] == []


def test_put_records_the_assessment_and_history(api, case_in, manager):
    case = case_in("assessment")

    response = api(manager).put(url(case), FULL, format="json")

    assert response.status_code == 200, response.data
    assert response.data["recorded"] is True
    assert response.data["causes"] == FULL["causes"]
    assert len(response.data["causes_display"]) == 2
    assert response.data["merit_score"] == 72
    assert response.data["recommendation"] == "take"
    assert response.data["assessed_by"]["username"] == "manager"
    event = CaseEvent.objects.filter(case=case, kind="assessment_recorded").get()
    assert event.client_visible is False
    assert event.new_value["merit_score"] == 72
    assert event.actor == manager


def test_patch_changes_only_given_fields_and_history_keeps_old_values(api, case_in, manager):
    case = case_in("assessment")
    api(manager).put(url(case), FULL, format="json")

    response = api(manager).patch(url(case), {"merit_score": 40}, format="json")

    assert response.status_code == 200, response.data
    assert response.data["merit_score"] == 40
    assert response.data["strategy"] == FULL["strategy"]
    latest = CaseEvent.objects.filter(case=case, kind="assessment_recorded").latest("id")
    assert latest.old_value == {"merit_score": 72}
    assert latest.new_value == {"merit_score": 40}


def test_put_clears_fields_left_out(api, case_in, manager):
    case = case_in("assessment")
    api(manager).put(url(case), FULL, format="json")

    response = api(manager).put(url(case), {"recommendation": "decline"}, format="json")

    assert response.status_code == 200, response.data
    assert (response.data["causes"], response.data["merit_score"], response.data["strategy"]) == ([], None, "")


def test_unchanged_write_adds_no_history(api, case_in, manager):
    case = case_in("assessment")
    api(manager).put(url(case), FULL, format="json")
    before = CaseEvent.objects.filter(case=case).count()

    api(manager).patch(url(case), {"merit_score": 72}, format="json")

    assert CaseEvent.objects.filter(case=case).count() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"causes": ["space_aliens"]}, "causes"),
        ({"causes": ["unknown", "unknown"]}, "causes"),
        ({"causes": "unknown"}, "causes"),
        ({"merit_score": -1}, "merit_score"),
        ({"merit_score": 101}, "merit_score"),
        ({"merit_score": "high"}, "merit_score"),
        ({"recommendation": "maybe"}, "recommendation"),
    ],
)
def test_invalid_input_is_400_with_the_field_and_nothing_written(api, case_in, manager, body, field):
    case = case_in("assessment")

    response = api(manager).patch(url(case), body, format="json")

    assert response.status_code == 400, response.data
    assert field in response.data["error"]["details"]["fields"]
    assert not Assessment.objects.filter(case=case).exists()
    assert not CaseEvent.objects.filter(case=case, kind="assessment_recorded").exists()


@pytest.mark.parametrize("score", [0, 100])
def test_merit_score_bounds_are_inclusive(case_in, manager, score):
    case = case_in("assessment")
    assert service.assessment_record(case_id=case.pk, actor=manager, merit_score=score).merit_score == score


@pytest.mark.parametrize("score", [-1, 101, True, 50.5])
def test_service_refuses_merit_score_outside_0_to_100(case_in, manager, score):
    case = case_in("assessment")
    with pytest.raises(InvalidInput) as raised:
        service.assessment_record(case_id=case.pk, actor=manager, merit_score=score)
    assert "merit_score" in raised.value.details["fields"]


def test_service_refuses_unknown_fields(case_in, manager):
    case = case_in("assessment")
    with pytest.raises(InvalidInput) as raised:
        service.assessment_record(case_id=case.pk, actor=manager, assessed_by=manager)
    assert "assessed_by" in raised.value.details["fields"]


def test_intake_state_may_be_assessed(api, case_in, manager):
    case = case_in("intake")
    response = api(manager).patch(url(case), {"causes": ["unknown"]}, format="json")
    assert response.status_code == 200, response.data


@pytest.mark.parametrize("state", ["evidence", "submitted", "resolved", "closed", "declined", "withdrawn"])
def test_writes_after_assessment_are_409_but_reads_still_work(api, case_in, supervisor, state):
    case = case_in(state)

    assert api(supervisor).patch(url(case), {"merit_score": 10}, format="json").status_code == 409
    assert api(supervisor).post(causes_url(case), {"orders": []}, format="json").status_code in (400, 409)
    order = case.flagged_orders.first()
    response = api(supervisor).post(
        causes_url(case), {"orders": [{"order": order.pk, "cause": "unknown"}]}, format="json"
    )
    assert response.status_code == 409
    assert response.data["error"]["code"] == "invalid_state"
    read = api(supervisor).get(url(case))
    assert read.status_code == 200
    assert read.data["editable"] is False


# --- Who may read and write -------------------------------------------------------------------


def test_anonymous_is_401(api, case_in):
    case = case_in("assessment")
    assert api().get(url(case)).status_code == 401
    assert api().put(url(case), FULL, format="json").status_code == 401
    assert api().post(causes_url(case), {"orders": []}, format="json").status_code == 401


@pytest.mark.parametrize("client_name", ["alice", "charlie"])
def test_clients_are_refused_the_staff_endpoint(request, api, case_in, client_name):
    user = request.getfixturevalue(client_name)
    case = case_in("assessment")
    assert api(user).get(url(case)).status_code == 403
    assert api(user).patch(url(case), {"merit_score": 1}, format="json").status_code == 403
    assert api(user).post(causes_url(case), {"orders": []}, format="json").status_code == 403


@pytest.mark.parametrize("name", ["reviewer", "intake"])
def test_staff_who_see_the_case_may_read_but_only_case_workers_write(request, api, case_in, manager, name):
    user = request.getfixturevalue(name)
    case = case_in("intake")  # intake specialists see the intake queue
    api(manager).put(url(case), FULL, format="json")

    assert api(user).get(url(case)).status_code == 200
    response = api(user).patch(url(case), {"merit_score": 1}, format="json")
    assert response.status_code == 403
    assert response.data["error"]["code"] == "permission_denied"
    order = case.flagged_orders.first()
    response = api(user).post(causes_url(case), {"orders": [{"order": order.pk, "cause": "unknown"}]}, format="json")
    assert response.status_code == 403
    assert Assessment.objects.get(case=case).merit_score == 72


@pytest.mark.parametrize("name", ["teammate", "supervisor", "administrator"])
def test_case_workers_who_see_the_case_write(request, api, case_in, name):
    user = request.getfixturevalue(name)
    case = case_in("assessment")
    assert api(user).patch(url(case), {"merit_score": 5}, format="json").status_code == 200


def test_staff_who_cannot_see_the_case_get_404(api, case_in, outsider_manager):
    case = case_in("assessment")
    assert api(outsider_manager).get(url(case)).status_code == 404
    assert api(outsider_manager).patch(url(case), {"merit_score": 5}, format="json").status_code == 404
    order = case.flagged_orders.first()
    response = api(outsider_manager).post(
        causes_url(case), {"orders": [{"order": order.pk, "cause": "unknown"}]}, format="json"
    )
    assert response.status_code == 404
    assert not OrderCause.objects.exists()


def test_missing_case_is_404(api, supervisor, db):
    assert api(supervisor).get("/api/v1/cases/999999/assessment/").status_code == 404


def test_service_refuses_a_client(case_in, alice):
    case = case_in("assessment")
    with pytest.raises(NotAllowed):
        service.assessment_get(user=alice, case_id=case.pk)
    with pytest.raises(NotAllowed):
        service.assessment_record(case_id=case.pk, actor=alice, merit_score=1)


# --- Per-order causes -------------------------------------------------------------------------


def test_set_causes_for_many_orders(api, case_in, manager):
    case = case_in("assessment")
    first, second, third = case.flagged_orders.order_by("pk")

    response = api(manager).post(
        causes_url(case),
        {
            "orders": [
                {"order": first.pk, "cause": "competitor_brushing", "note": "Buyer accounts made the same day."},
                {"order": second.pk, "cause": "employee_error"},
            ]
        },
        format="json",
    )

    assert response.status_code == 200, response.data
    listed = {row["order"]: row for row in response.data["order_causes"]}
    assert set(listed) == {first.pk, second.pk}
    assert listed[first.pk]["cause"] == "competitor_brushing"
    assert listed[first.pk]["note"] == "Buyer accounts made the same day."
    assert listed[first.pk]["platform_order_id"] == first.platform_order_id
    assert listed[second.pk]["updated_by"]["username"] == "manager"
    event = CaseEvent.objects.filter(case=case, kind="assessment_recorded").get()
    assert event.client_visible is False
    assert [row["order"] for row in event.new_value["order_causes"]] == [first.pk, second.pk]
    assert third.pk not in listed


def test_change_and_clear_an_orders_cause(case_in, manager):
    case = case_in("assessment")
    first, second, _third = case.flagged_orders.order_by("pk")
    service.order_causes_set(
        case_id=case.pk,
        actor=manager,
        entries=[{"order": first.pk, "cause": "unknown"}, {"order": second.pk, "cause": "unknown"}],
    )

    service.order_causes_set(
        case_id=case.pk,
        actor=manager,
        entries=[{"order": first.pk, "cause": "genuine_violation", "note": "Admitted."}, {"order": second.pk}],
    )

    assert list(OrderCause.objects.values_list("order_id", "cause", "note")) == [
        (first.pk, "genuine_violation", "Admitted.")
    ]
    event = CaseEvent.objects.filter(case=case, kind="assessment_recorded").latest("id")
    assert event.old_value["order_causes"][1]["cause"] == "unknown"
    assert event.new_value["order_causes"][1]["cause"] == ""


def test_setting_the_same_causes_again_writes_no_history(case_in, manager):
    case = case_in("assessment")
    order = case.flagged_orders.first()
    entries = [{"order": order.pk, "cause": "unknown", "note": "n"}]
    service.order_causes_set(case_id=case.pk, actor=manager, entries=entries)
    before = CaseEvent.objects.filter(case=case).count()

    service.order_causes_set(case_id=case.pk, actor=manager, entries=entries)

    assert CaseEvent.objects.filter(case=case).count() == before


def test_invalid_entries_are_reported_by_index_and_nothing_is_written(api, case_in, make_case, star_shop, manager):
    case = case_in("assessment")
    other = make_case(star_shop, orders=1)
    first, second, third = case.flagged_orders.order_by("pk")

    response = api(manager).post(
        causes_url(case),
        {
            "orders": [
                {"order": first.pk, "cause": "unknown"},
                {"order": other.flagged_orders.get().pk, "cause": "unknown"},
                {"order": second.pk, "cause": "bad_luck"},
                {"order": first.pk, "cause": "unknown"},
                {"order": third.pk, "cause": "", "note": "a note without a cause"},
            ]
        },
        format="json",
    )

    assert response.status_code == 400, response.data
    errors = response.data["error"]["details"]["fields"]["orders"]
    assert set(errors) == {"1", "2", "3", "4"}
    assert "order" in errors["1"]
    assert "cause" in errors["2"]
    assert "order" in errors["3"]
    assert "note" in errors["4"]
    assert not OrderCause.objects.exists()
    assert not CaseEvent.objects.filter(case=case, kind="assessment_recorded").exists()


def test_malformed_entries_are_reported_by_index(api, case_in, manager):
    case = case_in("assessment")
    response = api(manager).post(
        causes_url(case), {"orders": [{"cause": "unknown"}, {"order": "x", "cause": "unknown"}]}, format="json"
    )
    assert response.status_code == 400
    # DRF keys the errors by int; in JSON they are the same strings the service uses.
    assert set(response.json()["error"]["details"]["fields"]["orders"]) == {"0", "1"}


def test_an_empty_list_is_400(api, case_in, manager):
    case = case_in("assessment")
    response = api(manager).post(causes_url(case), {"orders": []}, format="json")
    assert response.status_code == 400
    assert "orders" in response.data["error"]["details"]["fields"]


def test_service_refuses_in_the_wrong_state_and_for_the_wrong_role(case_in, manager, reviewer, outsider_manager):
    case = case_in("evidence")
    order = case.flagged_orders.first()
    with pytest.raises(InvalidState):
        service.order_causes_set(case_id=case.pk, actor=manager, entries=[{"order": order.pk, "cause": "unknown"}])
    with pytest.raises(NotAllowed):
        service.order_causes_set(case_id=case.pk, actor=reviewer, entries=[{"order": order.pk, "cause": "unknown"}])
    with pytest.raises(NotFound):
        service.order_causes_set(
            case_id=case.pk, actor=outsider_manager, entries=[{"order": order.pk, "cause": "unknown"}]
        )


def test_assessment_read_query_count_does_not_grow_with_orders(api, case_in, manager, django_assert_max_num_queries):
    case = case_in("assessment", orders=12)
    service.order_causes_set(
        case_id=case.pk,
        actor=manager,
        entries=[{"order": order.pk, "cause": "unknown"} for order in case.flagged_orders.all()],
    )
    with django_assert_max_num_queries(8):
        response = api(manager).get(url(case))
    assert len(response.data["order_causes"]) == 12


# --- Never outside the agency -----------------------------------------------------------------


def test_assessment_is_never_in_an_outbox_event(api, case_in, manager, supervisor):
    case = case_in("assessment")
    secret = "SECRET-ASSESSMENT-TEXT"
    api(manager).put(url(case), {**FULL, "cause_notes": secret, "strategy": secret}, format="json")
    order = case.flagged_orders.first()
    api(manager).post(
        causes_url(case),
        {"orders": [{"order": order.pk, "cause": "competitor_brushing", "note": secret}]},
        format="json",
    )

    for event in OutboxEvent.objects.filter(case=case):
        text = str(event.data)
        assert secret not in text
        assert "competitor_brushing" not in text
        assert "merit_score" not in text
