"""Correcting a flagged order (``PATCH /cases/{id}/orders/{order_id}/``, ``casework.services.flagged_order_update``):
what may change and when, the history row, the order's evidence checked again, and who may do it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agency.accounts.models import User
from cases.models import Case, CaseEvent, FlaggedOrder
from evidence import checks
from evidence.models import EvidenceCheck
from tests.factories import evidence_item

pytestmark = pytest.mark.django_db


def url(case: Case, order: FlaggedOrder | int) -> str:
    order_id = order if isinstance(order, int) else order.pk
    return f"/api/v1/cases/{case.pk}/orders/{order_id}/"


def first_orders(case: Case) -> list[FlaggedOrder]:
    return list(case.flagged_orders.order_by("id"))


def done_check(case: Case, order: FlaggedOrder, by: User, kind: str) -> EvidenceCheck:
    """An item of the order whose check a worker has finished."""
    item = evidence_item(case, order=order, kind=kind, uploaded_by=by, review_state="pending")
    return EvidenceCheck.objects.create(item=item, state="done", outcome="mismatch", checked_at=timezone.now())


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The checks whose tasks are sent once the transaction commits (no worker, no OCR, in these tests)."""
    ids: list[int] = []
    monkeypatch.setattr(checks, "_send", lambda check_ids: ids.extend(check_ids))
    return ids


def test_correcting_the_tracking_number_records_it_and_checks_the_evidence_again(
    api: Callable[..., APIClient],
    case_in: Callable[..., Case],
    manager: User,
    sent: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    case = case_in("evidence", with_evidence=False)
    order, other = first_orders(case)[:2]
    slip, chat = done_check(case, order, manager, "shipping_slip"), done_check(case, order, manager, "chat_log")
    untouched = done_check(case, other, manager, "shipping_slip")
    old_tracking = order.tracking_number

    with django_capture_on_commit_callbacks(execute=True):
        response = api(manager).patch(
            url(case, order), {"tracking_number": "YT7700000000001", "courier": order.courier}, format="json"
        )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["tracking_number"], body["courier"]) == (order.pk, "YT7700000000001", "SF Express")
    assert body["platform_order_id"] == order.platform_order_id
    order.refresh_from_db()
    assert order.tracking_number == "YT7700000000001"
    # One history row naming the order, with only what changed.
    event = CaseEvent.objects.filter(case=case, kind="details_updated").get()
    named = {"order": order.pk, "platform_order_id": order.platform_order_id}
    assert event.old_value == {**named, "tracking_number": old_tracking}
    assert event.new_value == {**named, "tracking_number": "YT7700000000001"}
    assert event.actor_id == manager.pk
    assert not event.client_visible
    # The order's items are compared again (queued, a new generation); the other order's are not.
    for check in (slip, chat, untouched):
        check.refresh_from_db()
    assert [(c.state, c.generation) for c in (slip, chat)] == [("queued", 2), ("queued", 2)]
    assert (untouched.state, untouched.generation) == ("done", 1)
    assert sorted(sent) == sorted([slip.pk, chat.pk])


def test_every_supplied_field_can_be_corrected_and_blanked(
    api: Callable[..., APIClient], case_in: Callable[..., Case], intake: User
) -> None:
    case = case_in("intake")
    order = first_orders(case)[0]

    # The intake specialist who opened the case adds orders, so corrects them too.
    response = api(intake).patch(
        url(case, order), {"courier": " 中通快递 ", "tracking_number": "", "buyer_handle": "tb_buyer_9"}, format="json"
    )

    assert response.status_code == 200, response.json()
    order.refresh_from_db()
    assert (order.courier, order.tracking_number, order.buyer_handle) == ("中通快递", "", "tb_buyer_9")


def test_the_same_values_change_nothing(
    api: Callable[..., APIClient], case_in: Callable[..., Case], manager: User, sent: list[int]
) -> None:
    case = case_in("evidence", with_evidence=False)
    order = first_orders(case)[0]
    check = done_check(case, order, manager, "shipping_slip")

    response = api(manager).patch(url(case, order), {"tracking_number": order.tracking_number}, format="json")
    empty = api(manager).patch(url(case, order), {}, format="json")

    assert response.status_code == empty.status_code == 200
    assert not CaseEvent.objects.filter(case=case, kind="details_updated").exists()
    check.refresh_from_db()
    assert (check.state, check.generation) == ("done", 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tracking_number": "S" * 101}, "tracking_number"),
        ({"courier": "c" * 101}, "courier"),
        ({"buyer_handle": "b" * 151}, "buyer_handle"),
        ({"tracking_number": None}, "tracking_number"),
        ({"platform_order_id": "3999"}, "platform_order_id"),
        ({"order_time": "2026-11-01T10:00:00+08:00"}, "order_time"),
        ({"amount": "1.00", "courier": "ZTO"}, "amount"),
    ],
)
def test_bad_or_fixed_fields_are_refused_by_name(
    api: Callable[..., APIClient], case_in: Callable[..., Case], manager: User, body: dict[str, Any], field: str
) -> None:
    case = case_in("evidence", with_evidence=False)
    order = first_orders(case)[0]
    before = FlaggedOrder.objects.filter(pk=order.pk).values().get()

    response = api(manager).patch(url(case, order), body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["details"]["fields"]) == [field]
    assert FlaggedOrder.objects.filter(pk=order.pk).values().get() == before
    assert not CaseEvent.objects.filter(case=case, kind="details_updated").exists()


@pytest.mark.parametrize("state", ["submitted", "resolved"])
def test_an_order_can_be_corrected_while_the_case_is_open(
    api: Callable[..., APIClient], case_in: Callable[..., Case], supervisor: User, state: str
) -> None:
    case = case_in(state)
    order = first_orders(case)[0]

    response = api(supervisor).patch(url(case, order), {"tracking_number": "JD0000000001"}, format="json")

    assert response.status_code == 200


@pytest.mark.parametrize("state", ["closed", "declined", "withdrawn"])
def test_a_finished_case_is_409(
    api: Callable[..., APIClient], case_in: Callable[..., Case], supervisor: User, state: str
) -> None:
    case = case_in(state)
    order = first_orders(case)[0]

    response = api(supervisor).patch(url(case, order), {"tracking_number": "JD0000000001"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"
    order.refresh_from_db()
    assert order.tracking_number != "JD0000000001"


def test_who_may_correct(
    api: Callable[..., APIClient],
    case_in: Callable[..., Case],
    make_case: Callable[..., Case],
    star_shop: Any,
    reviewer: User,
    outsider_manager: User,
    manager: User,
    alice: User,
    charlie: User,
) -> None:
    case = case_in("evidence", with_evidence=False)
    order = first_orders(case)[0]
    elsewhere = first_orders(make_case(star_shop, assignee=outsider_manager))[0]
    body = {"tracking_number": "JD0000000001"}

    def patch(user: User | None, path: str) -> Any:
        return api(user).patch(path, body, format="json")

    # Evidence reviewers see the case but do not edit orders.
    assert patch(reviewer, url(case, order)).status_code == 403
    # Clients never reach staff endpoints, theirs or not; the portal has no such endpoint.
    assert patch(alice, url(case, order)).status_code == 403
    assert patch(charlie, url(case, order)).status_code == 403
    assert patch(alice, f"/api/v1/portal/cases/{case.pk}/orders/{order.pk}/").status_code == 404
    assert patch(None, url(case, order)).status_code == 401
    # A case the caller cannot see, an order of another case, an order that does not exist.
    assert patch(outsider_manager, url(case, order)).status_code == 404
    assert patch(manager, url(case, elsewhere)).status_code == 404
    assert patch(manager, url(case, 999999)).status_code == 404
    order.refresh_from_db()
    elsewhere.refresh_from_db()
    assert "JD0000000001" not in (order.tracking_number, elsewhere.tracking_number)
    assert not CaseEvent.objects.filter(kind="details_updated").exists()
