"""The outcome recorded per order (``casework.appeals``): derivation, re-appeals, points, bad input,
permissions and the portal view.

Beside tests/casework/test_appeals.py rather than in it: its ``url``, ``submitted`` and ``nothing_written``
differ from that file's and from test_appeals_supplements.py's."""

from __future__ import annotations

from typing import Any

import pytest

from cases.models import AppealAttempt, Case, CaseEvent, EventKind, FlaggedOrder, OrderOutcome
from casework import services
from integrations.models import OutboxEvent
from tests.factories import evidence_item

pytestmark = pytest.mark.django_db


def url(case: Case) -> str:
    return f"/api/v1/cases/{case.pk}/outcome/"


def portal_url(case: Case) -> str:
    return f"/api/v1/portal/cases/{case.pk}/outcome/"


def orders_of(case: Case) -> list[FlaggedOrder]:
    return list(case.flagged_orders.order_by("id"))


@pytest.fixture
def submitted(case_in: Any) -> Case:
    return case_in("submitted", penalty_points=12)


def nothing_written(case: Case) -> None:
    case.refresh_from_db()
    assert case.state == "submitted"
    assert (case.outcome, case.orders_cleared, case.orders_upheld, case.points_restored) == ("", 0, 0, 0)
    assert not OrderOutcome.objects.filter(attempt__case=case).exists()
    assert AppealAttempt.objects.get(case=case).decided_at is None
    assert not FlaggedOrder.objects.filter(case=case).exclude(outcome="").exists()


# --- Derivation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        (["cleared", "cleared", "cleared"], "accepted"),
        (["cleared", "upheld", "upheld"], "partially_accepted"),
        (["upheld", "upheld", "upheld"], "rejected"),
    ],
)
def test_the_case_outcome_is_derived_from_the_orders(api, manager, submitted, results, expected):
    orders = orders_of(submitted)
    body = {
        "results": [
            {"order": order.pk, "result": result, "points_restored": 2 if result == "cleared" else 0}
            for order, result in zip(orders, results, strict=True)
        ],
        "note": "Decided on the platform's portal.",
    }

    response = api(manager).post(url(submitted), body, format="json")

    assert response.status_code == 200, response.data
    cleared = results.count("cleared")
    assert response.data["outcome"] == expected
    assert (response.data["orders_cleared"], response.data["orders_upheld"]) == (cleared, 3 - cleared)
    assert response.data["points_restored"] == 2 * cleared
    submitted.refresh_from_db()
    assert (submitted.state, submitted.outcome, submitted.points_restored) == ("resolved", expected, 2 * cleared)
    attempt = AppealAttempt.objects.get(case=submitted)
    assert (attempt.outcome, attempt.decided_by, attempt.outcome_note) == (
        expected,
        manager,
        "Decided on the platform's portal.",
    )
    assert OrderOutcome.objects.filter(attempt=attempt).count() == 3


def test_orders_may_be_named_by_the_platform_order_id_with_a_default_for_the_rest(api, manager, submitted):
    first, *_rest = orders_of(submitted)

    response = api(manager).post(
        url(submitted),
        {
            "results": [{"platform_order_id": first.platform_order_id, "result": "cleared", "points_restored": 4}],
            "default_result": "upheld",
            "outcome": "partially_accepted",
        },
        format="json",
    )

    assert response.status_code == 200, response.data
    assert dict(FlaggedOrder.objects.filter(case=submitted).values_list("id", "outcome"))[first.pk] == "cleared"
    assert response.data["orders_upheld"] == 2


def test_a_whole_case_outcome_without_per_order_results_decides_every_order(api, manager, submitted):
    response = api(manager).post(url(submitted), {"outcome": "accepted"}, format="json")

    assert response.status_code == 200, response.data
    assert set(FlaggedOrder.objects.filter(case=submitted).values_list("outcome", flat=True)) == {"cleared"}


def test_the_outcome_is_cumulative_over_a_reappeal_and_the_second_manifest_covers_only_upheld_orders(
    api, manager, supervisor, submitted
):
    first, second, third = orders_of(submitted)
    case_item = evidence_item(submitted, order=None, kind="malicious_brushing", uploaded_by=supervisor)
    response = api(manager).post(
        url(submitted),
        {"results": [{"order": first.pk, "result": "cleared", "points_restored": 6}], "default_result": "upheld"},
        format="json",
    )
    assert response.data["outcome"] == "partially_accepted"

    services.case_transition(case_id=submitted.pk, name="reappeal", actor=manager)
    services.case_transition(case_id=submitted.pk, name="submit_appeal", actor=manager)
    second_attempt = AppealAttempt.objects.get(case=submitted, number=2)
    manifest_orders = {entry["order"] for entry in second_attempt.manifest}
    assert manifest_orders == {second.pk, third.pk, None}
    assert case_item.pk in {entry["item"] for entry in second_attempt.manifest}

    response = api(manager).post(
        url(submitted),
        {"results": [{"order": second.pk, "result": "cleared", "points_restored": 3}], "default_result": "cleared"},
        format="json",
    )

    assert response.status_code == 200, response.data
    assert response.data["outcome"] == "accepted"
    assert (response.data["orders_cleared"], response.data["orders_upheld"], response.data["points_restored"]) == (
        3,
        0,
        9,
    )
    assert [(a["number"], a["outcome"]) for a in response.data["attempts"]] == [
        (1, "partially_accepted"),
        (2, "accepted"),
    ]
    # Attempt 2 decided only the orders it appealed; the first order keeps attempt 1's decision.
    assert set(OrderOutcome.objects.filter(attempt=second_attempt).values_list("order_id", flat=True)) == {
        second.pk,
        third.pk,
    }
    assert FlaggedOrder.objects.get(pk=first.pk).points_restored == 6


def test_an_order_upheld_then_excluded_still_counts_as_upheld(api, manager, submitted):
    first, _second, third = orders_of(submitted)
    api(manager).post(
        url(submitted),
        {"results": [{"order": first.pk, "result": "cleared"}], "default_result": "upheld"},
        format="json",
    )
    services.case_transition(case_id=submitted.pk, name="reappeal", actor=manager)
    services.flagged_order_set_excluded(
        case_id=submitted.pk, order_id=third.pk, actor=manager, excluded=True, reason="The merchant admits it."
    )
    services.case_transition(case_id=submitted.pk, name="submit_appeal", actor=manager)

    response = api(manager).post(url(submitted), {"outcome": "accepted"}, format="json")

    assert response.status_code == 200, response.data
    assert response.data["outcome"] == "partially_accepted"
    assert (response.data["orders_cleared"], response.data["orders_upheld"]) == (2, 1)
    assert AppealAttempt.objects.get(case=submitted, number=2).outcome == "accepted"


def test_the_outcome_writes_a_client_visible_per_order_summary(api, manager, alice, submitted):
    first = orders_of(submitted)[0]
    api(manager).post(
        url(submitted),
        {
            "results": [{"order": first.pk, "result": "cleared", "points_restored": 2, "note": "Reviewer was kind."}],
            "default_result": "upheld",
        },
        format="json",
    )

    event = CaseEvent.objects.get(case=submitted, kind=EventKind.ORDER_OUTCOMES_RECORDED)
    assert event.client_visible
    assert event.new_value == {
        "attempt": 1,
        "outcome": "partially_accepted",
        "orders_cleared": 1,
        "orders_upheld": 2,
        "points_restored": 2,
    }
    timeline = api(alice).get(f"/api/v1/portal/cases/{submitted.pk}/timeline/")
    texts = [entry["text"] for entry in timeline.data["results"]]
    assert any("1 cleared, 2 upheld" in text for text in texts)
    assert not any("kind" in text for text in texts)
    outcome_event = OutboxEvent.objects.get(case=submitted, type="appeal.outcome_recorded")
    assert outcome_event.data["values"]["orders_cleared"] == 1
    assert "Reviewer was kind." not in str(outcome_event.data)


# --- Bad input: 400 with field names, nothing written ----------------------------------------


def bad_bodies(orders: list[FlaggedOrder], other: FlaggedOrder) -> list[tuple[dict[str, Any], list[str]]]:
    first, second, _third = orders
    return [
        (
            {"results": [{"order": 999999999, "result": "cleared"}], "default_result": "upheld"},
            ["results", "0", "order"],
        ),
        (
            {"results": [{"order": other.pk, "result": "cleared"}], "default_result": "upheld"},
            ["results", "0", "order"],
        ),
        (
            {"results": [{"platform_order_id": "nope", "result": "cleared"}], "default_result": "upheld"},
            ["results", "0", "platform_order_id"],
        ),
        (
            {
                "results": [{"order": first.pk, "platform_order_id": second.platform_order_id, "result": "cleared"}],
                "default_result": "upheld",
            },
            ["results", "0", "platform_order_id"],
        ),
        (
            {
                "results": [{"order": first.pk, "result": "cleared"}, {"order": first.pk, "result": "upheld"}],
                "default_result": "upheld",
            },
            ["results", "1", "order"],
        ),
        ({"results": [{"order": first.pk, "result": "maybe"}], "default_result": "upheld"}, ["results", "0", "result"]),
        (
            {"results": [{"order": first.pk, "result": "cleared", "points_restored": -1}], "default_result": "upheld"},
            ["results", "0", "points_restored"],
        ),
        (
            {"results": [{"order": first.pk, "result": "upheld", "points_restored": 2}], "default_result": "upheld"},
            ["results", "0", "points_restored"],
        ),
        ({"results": [{"result": "cleared"}], "default_result": "upheld"}, ["results", "0", "order"]),
        ({"results": [{"order": first.pk, "result": "cleared"}]}, ["default_result"]),
        ({"outcome": "partially_accepted"}, ["outcome"]),
        (
            {"results": [{"order": first.pk, "result": "cleared"}], "default_result": "upheld", "outcome": "accepted"},
            ["outcome"],
        ),
        (
            {"results": [{"order": first.pk, "result": "cleared", "points_restored": 13}], "default_result": "upheld"},
            ["points_restored"],
        ),
        (
            {
                "results": [
                    {"order": first.pk, "result": "cleared", "points_restored": 7},
                    {"order": second.pk, "result": "cleared", "points_restored": 6},
                ],
                "default_result": "upheld",
            },
            ["points_restored"],
        ),
    ]


@pytest.mark.parametrize("index", range(14))
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_written(
    api, manager, make_case, blossom_shop, submitted, index
):
    other = make_case(blossom_shop, orders=1).flagged_orders.get()
    body, path = bad_bodies(orders_of(submitted), other)[index]
    events_before = CaseEvent.objects.filter(case=submitted).count()

    response = api(manager).post(url(submitted), body, format="json")

    assert response.status_code == 400, response.data
    found: Any = response.data["error"]["details"]["fields"]
    for key in path:
        assert key in found, (path, response.data)
        found = found[key]
    nothing_written(submitted)
    assert CaseEvent.objects.filter(case=submitted).count() == events_before


def test_a_missing_default_lists_the_orders_without_a_result(api, manager, submitted):
    first, second, third = orders_of(submitted)

    response = api(manager).post(url(submitted), {"results": [{"order": first.pk, "result": "cleared"}]}, format="json")

    assert set(response.data["error"]["details"]["orders_without_result"]) == {
        second.platform_order_id,
        third.platform_order_id,
    }


# --- State and permissions --------------------------------------------------------------------


@pytest.mark.parametrize("state", ["evidence", "resolved"])
def test_recording_an_outcome_outside_submitted_is_409(api, manager, case_in, state):
    case = case_in(state)

    response = api(manager).post(url(case), {"outcome": "accepted"}, format="json")

    assert response.status_code == 409


def test_expected_state_is_checked(api, manager, submitted):
    response = api(manager).post(url(submitted), {"outcome": "accepted", "expected_state": "evidence"}, format="json")

    assert response.status_code == 409
    nothing_written(submitted)


def test_outcome_permissions(api, submitted, reviewer, outsider_manager, alice):
    body = {"outcome": "accepted"}
    assert api(None).post(url(submitted), body, format="json").status_code == 401
    assert api(None).get(url(submitted)).status_code == 401
    assert api(reviewer).post(url(submitted), body, format="json").status_code == 403
    assert api(alice).get(url(submitted)).status_code == 403
    assert api(outsider_manager).post(url(submitted), body, format="json").status_code == 404
    assert api(outsider_manager).get(url(submitted)).status_code == 404
    assert api(reviewer).get(url(submitted)).status_code == 200
    nothing_written(submitted)


def test_the_summary_counts_pending_and_under_review_orders(api, manager, submitted):
    response = api(manager).get(url(submitted))

    assert response.status_code == 200
    assert (response.data["orders_pending"], response.data["orders_under_review"], response.data["outcome"]) == (
        3,
        3,
        "",
    )
    assert response.data["attempts"][0]["decided_at"] is None


# --- The client's view ------------------------------------------------------------------------


def test_the_client_sees_per_order_results_without_notes_or_staff(api, manager, alice, submitted):
    first, second, third = orders_of(submitted)
    AppealAttempt.objects.filter(case=submitted).update(platform_reference="SS-2026-001")
    api(manager).post(
        url(submitted),
        {
            "results": [{"order": first.pk, "result": "cleared", "points_restored": 2, "note": "Internal: lucky."}],
            "default_result": "upheld",
            "note": "Internal attempt note.",
        },
        format="json",
    )

    response = api(alice).get(portal_url(submitted))

    assert response.status_code == 200
    assert response.data["outcome"] == "partially_accepted"
    assert sorted(response.data["orders"], key=lambda row: row["platform_order_id"]) == [
        {"platform_order_id": first.platform_order_id, "result": "cleared", "points_restored": 2},
        {"platform_order_id": second.platform_order_id, "result": "upheld", "points_restored": 0},
        {"platform_order_id": third.platform_order_id, "result": "upheld", "points_restored": 0},
    ]
    assert response.data["attempts"][0]["platform_reference"] == "SS-2026-001"
    text = str(response.data)
    assert "Internal" not in text
    assert manager.username not in text
    assert "decided_by" not in text
    assert "note" not in text


def test_portal_outcome_permissions(api, submitted, charlie, manager):
    assert api(None).get(portal_url(submitted)).status_code == 401
    assert api(manager).get(portal_url(submitted)).status_code == 403
    assert api(charlie).get(portal_url(submitted)).status_code == 404
