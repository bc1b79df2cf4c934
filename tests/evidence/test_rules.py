"""Evidence completeness (``evidence.rules``): per order and per case, the submit rule, exclusions, and the
order list's evidence and urgency. The manifest an attempt records is tests/evidence/test_submission.py's."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agency.errors import ConditionsUnmet, InvalidState, NotAllowed, NotFound
from cases.models import AppealAttempt, CaseEvent
from casework import services
from evidence.rules import evidence_gaps, evidence_summary
from tests.evidence.helpers import PHYSICAL, VIRTUAL, give
from tests.factories import evidence_item


def test_summary_counts_complete_incomplete_excluded_and_missing_kinds(evidence_case, supervisor):
    first, second, third = evidence_case.flagged_orders.all()
    give(evidence_case, first, PHYSICAL, supervisor)
    give(evidence_case, second, PHYSICAL[:2], supervisor)
    services.flagged_order_set_excluded(
        case_id=evidence_case.pk, order_id=third.pk, actor=supervisor, excluded=True, reason="Genuine."
    )

    summary = evidence_summary(evidence_case)

    assert summary.as_dict() == {
        "orders_total": 3,
        "orders_complete": 1,
        "orders_incomplete": 1,
        "orders_excluded": 1,
        "missing_by_kind": {"signed_delivery": 1, "courier_tracking": 1},
    }


@pytest.mark.parametrize("state", ["pending", "rejected"])
def test_only_accepted_evidence_counts(evidence_case, supervisor, state):
    order = evidence_case.flagged_orders.first()
    give(evidence_case, order, PHYSICAL, supervisor, review_state=state)

    assert evidence_summary(evidence_case).orders_complete == 0


def test_removed_and_superseded_evidence_does_not_count(evidence_case, supervisor):
    order = evidence_case.flagged_orders.first()
    items = give(evidence_case, order, PHYSICAL, supervisor)
    items[0].removed_at = timezone.now()
    items[0].save()
    newer = evidence_item(evidence_case, order=order, kind="shipping_slip", uploaded_by=supervisor, content=b"x")
    items[1].superseded_by = newer
    items[1].save()

    status = evidence_summary(evidence_case)

    # chat_log removed -> missing; shipping slip superseded by an accepted newer one -> present.
    assert status.missing_by_kind == {"chat_log": 3, "shipping_slip": 2, "signed_delivery": 2, "courier_tracking": 2}


def test_virtual_goods_need_their_own_kinds(make_case, blossom_shop, supervisor):
    case = make_case(blossom_shop, orders=1)
    order = case.flagged_orders.get()
    order.goods_type = "virtual"
    order.save()

    assert evidence_summary(case).missing_by_kind == {"delivery_record": 1, "customer_confirmation": 1}
    give(case, order, VIRTUAL, supervisor)
    assert evidence_gaps(case) == []


def test_requirements_follow_the_profile_when_it_is_corrected(evidence_case, supervisor):
    for order in evidence_case.flagged_orders.all():
        give(evidence_case, order, PHYSICAL, supervisor)
    assert evidence_gaps(evidence_case) == []

    profile = evidence_case.rule_profile
    profile.required_evidence = {"physical": [*PHYSICAL, "payment_record"], "virtual": VIRTUAL}
    profile.save()
    evidence_case.refresh_from_db()

    assert evidence_gaps(evidence_case) == [{"kind": "payment_record", "orders": 3}]


def test_summary_costs_the_same_queries_for_any_number_of_orders(make_case, blossom_shop, supervisor):
    counts = []
    for orders in (5, 60):
        case = make_case(blossom_shop, orders=orders)
        with CaptureQueriesContext(connection) as queries:
            evidence_summary(case)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_submit_lists_how_many_orders_and_which_kinds_are_missing(api, evidence_case, supervisor):
    first = evidence_case.flagged_orders.first()
    give(evidence_case, first, PHYSICAL[:3], supervisor)

    response = api(supervisor).post(f"/api/v1/cases/{evidence_case.pk}/transitions/", {"transition": "submit_appeal"})

    assert response.status_code == 400
    [unmet] = response.data["error"]["details"]["unmet_conditions"]
    assert unmet["code"] == "evidence_complete"
    assert unmet["details"] == {
        "orders_incomplete": 3,
        "missing_by_kind": {"chat_log": 2, "shipping_slip": 2, "signed_delivery": 2, "courier_tracking": 3},
    }
    assert "3" in unmet["message"]
    assert "Chat log with the buyer (2)" in unmet["message"]
    evidence_case.refresh_from_db()
    assert (evidence_case.state, evidence_case.appeal_attempts_used) == ("evidence", 0)
    assert not AppealAttempt.objects.filter(case=evidence_case).exists()


def test_the_transition_list_shows_the_same_unmet_evidence(api, evidence_case, supervisor):
    response = api(supervisor).get(f"/api/v1/cases/{evidence_case.pk}/transitions/")

    submit = next(t for t in response.data if t["name"] == "submit_appeal")
    assert submit["unmet_conditions"][0]["details"]["orders_incomplete"] == 3


def test_an_appeal_with_every_order_excluded_is_refused(evidence_case, supervisor):
    for order in evidence_case.flagged_orders.all():
        services.flagged_order_set_excluded(
            case_id=evidence_case.pk, order_id=order.pk, actor=supervisor, excluded=True, reason="Genuine."
        )

    with pytest.raises(ConditionsUnmet) as caught:
        services.case_transition(case_id=evidence_case.pk, name="submit_appeal", actor=supervisor)

    assert "excluded" in caught.value.details["unmet_conditions"][0]["message"]


# --- Exclusion ---------------------------------------------------------------------------


def test_exclude_and_include_over_the_api_with_history(api, evidence_case, manager):
    order = evidence_case.flagged_orders.first()
    base = f"/api/v1/cases/{evidence_case.pk}/orders/{order.pk}"

    missing_reason = api(manager).post(f"{base}/exclude/", {})
    excluded = api(manager).post(f"{base}/exclude/", {"reason": "The merchant admits this one."})
    included = api(manager).post(f"{base}/include/", {})

    assert missing_reason.status_code == 400
    assert "reason" in missing_reason.data["error"]["details"]["fields"]
    assert excluded.status_code == 200
    assert excluded.data["excluded"] is True
    assert excluded.data["exclusion_reason"] == "The merchant admits this one."
    assert included.status_code == 200
    assert included.data["excluded"] is False
    kinds = list(CaseEvent.objects.filter(case=evidence_case, kind__startswith="order_").values_list("kind", flat=True))
    assert kinds[-2:] == ["order_excluded", "order_included"]


def test_exclusion_is_refused_while_the_platform_reviews(case_in, supervisor):
    case = case_in("submitted")

    with pytest.raises(InvalidState):
        services.flagged_order_set_excluded(
            case_id=case.pk, order_id=case.flagged_orders.first().pk, actor=supervisor, excluded=True, reason="x"
        )


def test_exclusion_answers_only_those_allowed(
    api, evidence_case, alice, charlie, reviewer, manager, outsider_manager, make_case, blossom_shop
):
    order = evidence_case.flagged_orders.first()
    url = f"/api/v1/cases/{evidence_case.pk}/orders/{order.pk}/exclude/"
    other_case = make_case(blossom_shop, assignee=manager)
    other_order = other_case.flagged_orders.first()

    assert api().post(url, {"reason": "x"}).status_code == 401
    assert api(alice).post(url, {"reason": "x"}).status_code == 403
    assert api(charlie).post(url, {"reason": "x"}).status_code == 403
    assert api(outsider_manager).post(url, {"reason": "x"}).status_code == 404
    assert api(reviewer).post(url, {"reason": "x"}).status_code == 403
    # An order of another case, through this case's path, is not found.
    with pytest.raises(NotFound):
        services.flagged_order_set_excluded(
            case_id=evidence_case.pk, order_id=other_order.pk, actor=manager, excluded=True, reason="x"
        )
    with pytest.raises(NotAllowed):
        services.flagged_order_set_excluded(
            case_id=evidence_case.pk, order_id=order.pk, actor=reviewer, excluded=True, reason="x"
        )


# --- The order list and the case's evidence status -------------------------------------


def test_order_list_shows_each_orders_evidence(api, evidence_case, manager, supervisor):
    first = evidence_case.flagged_orders.first()
    give(evidence_case, first, PHYSICAL[:2], supervisor)
    evidence_item(evidence_case, order=first, kind="signed_delivery", uploaded_by=supervisor, review_state="pending")

    response = api(manager).get(f"/api/v1/cases/{evidence_case.pk}/orders/")

    row = next(r for r in response.data["results"] if r["id"] == first.pk)
    assert row["evidence"]["complete"] is False
    assert row["evidence"]["accepted_kinds"] == ["chat_log", "shipping_slip"]
    assert row["evidence"]["pending_kinds"] == ["signed_delivery"]
    assert row["evidence"]["missing_kinds"] == ["signed_delivery", "courier_tracking"]


def test_order_list_filters_by_completeness_exclusion_and_missing_kind(api, evidence_case, manager, supervisor):
    first, second, third = evidence_case.flagged_orders.all()
    give(evidence_case, first, PHYSICAL, supervisor)
    give(evidence_case, second, PHYSICAL[1:], supervisor)
    services.flagged_order_set_excluded(
        case_id=evidence_case.pk, order_id=third.pk, actor=manager, excluded=True, reason="Genuine."
    )
    url = f"/api/v1/cases/{evidence_case.pk}/orders/"

    def ids(query):
        response = api(manager).get(f"{url}?{query}")
        assert response.status_code == 200, response.data
        return [row["id"] for row in response.data["results"]]

    assert ids("complete=true") == [first.pk]
    assert ids("complete=false") == [second.pk]
    assert ids("excluded=true") == [third.pk]
    assert ids("missing_kind=chat_log") == [second.pk]
    bad = api(manager).get(f"{url}?missing_kind=selfie")
    assert bad.status_code == 400
    assert "missing_kind" in bad.data["error"]["details"]["fields"]


def test_chat_evidence_urgency_filter_and_case_deadline(api, make_case, blossom_shop, manager, supervisor):
    now = timezone.now()
    case = make_case(blossom_shop, orders=0, assignee=manager)
    # Order times 74, 70, 40 and 80 days ago: deadlines in 1, 5 and 35 days, and one already past.
    ages = {"A": 74, "B": 70, "C": 40, "D": 80}
    services.flagged_orders_add(
        case_id=case.pk,
        actor=supervisor,
        orders=[
            {"platform_order_id": name, "order_time": now - dt.timedelta(days=days), "amount": "10.00"}
            for name, days in ages.items()
        ],
    )
    orders = {o.platform_order_id: o for o in case.flagged_orders.all()}
    # B's chat log is secured (pending review is enough), so B is not urgent any more.
    evidence_item(case, order=orders["B"], kind="chat_log", uploaded_by=supervisor, review_state="pending")
    url = f"/api/v1/cases/{case.pk}/orders/?chat_evidence_due_within=10"

    rows = api(manager).get(url).data["results"]
    detail = api(manager).get(f"/api/v1/cases/{case.pk}/").data

    assert [row["platform_order_id"] for row in rows] == ["A"]
    chat = detail["evidence"]["chat_evidence"]
    assert chat["orders_missing"] == 2
    assert chat["orders_past_deadline"] == 1
    assert parse_datetime(chat["next_deadline"]) == orders["A"].order_time + dt.timedelta(days=75)
    with time_machine.travel(now + dt.timedelta(days=2)):
        later = api(manager).get(url).data["results"]
    # Two days later A's deadline has passed and C is still 33 days away.
    assert later == []


def test_case_detail_shows_the_evidence_summary(api, evidence_case, manager):
    evidence = api(manager).get(f"/api/v1/cases/{evidence_case.pk}/").data["evidence"]

    assert evidence["orders_total"] == 3
    assert evidence["orders_incomplete"] == 3
    assert evidence["missing_by_kind"]["chat_log"] == 3
