"""The evidence checks over the API: the check and its findings on the staff item, the text read from a file
(staff and portal), the staff list filtered and sorted by check, accepting every matching item at once, the
case's check counts, and the check rules; the portal never shows a check."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agency.accounts.models import User
from agency.organisations.models import Shop
from cases.models import Case, CaseEvent, FlaggedOrder
from evidence import checks
from evidence.models import EvidenceCheck, EvidenceCheckRule, EvidenceFinding, EvidenceItem
from tests.evidence.samples import png, post_upload
from tests.factories import evidence_item

pytestmark = pytest.mark.django_db

TEXT = "中通快递 ZTO\n运单号 75312345678901\f签收时间 2026-11-03 14:20\n"


@pytest.fixture
def orders(case: Case) -> list[FlaggedOrder]:
    return list(case.flagged_orders.order_by("id"))


def item_for(case: Case, order: FlaggedOrder | None, by: User, *, kind: str = "shipping_slip", **kwargs: Any) -> Any:
    """A pending item with a real file and no check yet (the factory, unlike the upload service, adds none)."""
    kwargs.setdefault("review_state", "pending")
    kwargs.setdefault("content", png(f"{kind}-{order and order.pk}-{EvidenceItem.objects.count()}"))
    return evidence_item(case, order=order, kind=kind, uploaded_by=by, **kwargs)


def checked(item: EvidenceItem, outcome: str = "match", *, state: str = "done", **fields: Any) -> EvidenceCheck:
    """The check a worker would have written: done with an outcome (or queued), read by OCR."""
    now = timezone.now()
    values: dict[str, Any] = {
        "state": state,
        "outcome": outcome,
        "method": "ocr",
        "text": TEXT,
        "pages_read": 2,
        "pages_total": 3,
        "read_at": now,
        "checked_at": now if state == "done" else None,
    }
    values.update(fields)
    return EvidenceCheck.objects.create(item=item, **values)


def finding(check: EvidenceCheck, name: str, result: str, **fields: Any) -> EvidenceFinding:
    return EvidenceFinding.objects.create(evidence_check=check, name=name, result=result, **fields)


def keys_anywhere(value: Any) -> Iterator[str]:
    """Every key of every object in a JSON answer, however deep."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from keys_anywhere(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from keys_anywhere(inner)


# --- The check on the staff item -------------------------------------------------------------------


def test_staff_item_shows_its_check_with_every_finding(
    api: Callable[..., APIClient], case: Case, orders: list[FlaggedOrder], manager: User
) -> None:
    item = item_for(case, orders[0], manager)
    check = checked(item, "mismatch", read_error="")
    finding(
        check,
        "tracking_number",
        "mismatch",
        expected="SF0000000000",
        found="75312345678901",
        snippet="运单号 75312345678901",
        page=1,
        line=2,
    )
    finding(check, "courier", "not_found", expected="SF Express")

    body = api(manager).get(f"/api/v1/evidence/{item.pk}/").json()

    shown = body["check"]
    assert set(shown) == {
        "state",
        "outcome",
        "outcome_display",
        "method",
        "read_at",
        "checked_at",
        "pages_read",
        "pages_total",
        "read_error",
        "findings",
        "text_url",
    }
    assert (shown["state"], shown["outcome"], shown["outcome_display"]) == ("done", "mismatch", "Contradicts the order")
    assert (shown["method"], shown["pages_read"], shown["pages_total"], shown["read_error"]) == ("ocr", 2, 3, "")
    assert shown["read_at"] is not None
    assert shown["checked_at"] is not None
    assert shown["text_url"] == f"/api/v1/evidence/{item.pk}/text/"
    assert shown["findings"] == [
        {
            "name": "tracking_number",
            "name_display": "Tracking number",
            "result": "mismatch",
            "result_display": "Contradicts the order",
            "expected": "SF0000000000",
            "found": "75312345678901",
            "snippet": "运单号 75312345678901",
            "page": 1,
            "line": 2,
        },
        {
            "name": "courier",
            "name_display": "Courier",
            "result": "not_found",
            "result_display": "Not found in the file",
            "expected": "SF Express",
            "found": "",
            "snippet": "",
            "page": None,
            "line": None,
        },
    ]
    # The text itself is not in the item: it has its own endpoint.
    assert "text" not in shown


def test_an_upload_answers_with_its_check_queued(
    api: Callable[..., APIClient], case: Case, orders: list[FlaggedOrder], manager: User
) -> None:
    response = post_upload(
        api(manager), f"/api/v1/cases/{case.pk}/evidence/", name="slip.png", content=png("q"), order=orders[0].pk
    )

    assert response.status_code == 201, response.json()
    shown = response.json()["check"]
    assert (shown["state"], shown["outcome"], shown["method"], shown["read_at"], shown["findings"]) == (
        "queued",
        "",
        "",
        None,
        [],
    )


def test_an_item_without_a_check_shows_null(
    api: Callable[..., APIClient], case: Case, orders: list[FlaggedOrder], manager: User
) -> None:
    item = item_for(case, orders[0], manager)

    assert api(manager).get(f"/api/v1/evidence/{item.pk}/").json()["check"] is None


# --- The text read from a file -----------------------------------------------------------------------


def test_staff_read_the_text_as_pages_of_lines(
    api: Callable[..., APIClient], case: Case, orders: list[FlaggedOrder], manager: User
) -> None:
    item = item_for(case, orders[0], manager)
    check = checked(item, "mismatch")
    finding(check, "tracking_number", "mismatch", expected="SF0000000000", found="75312345678901")

    response = api(manager).get(f"/api/v1/evidence/{item.pk}/text/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "private, no-store"
    body = response.json()
    assert set(body) == {"method", "pages_read", "pages_total", "read_at", "text", "pages"}
    assert (body["method"], body["pages_read"], body["pages_total"], body["text"]) == ("ocr", 2, 3, TEXT)
    assert body["pages"] == [["中通快递 ZTO", "运单号 75312345678901"], ["签收时间 2026-11-03 14:20", ""]]
    assert body["read_at"] is not None


@pytest.mark.parametrize("with_check", [True, False], ids=["queued", "no-check"])
def test_a_file_not_read_yet_has_an_empty_text(
    api: Callable[..., APIClient], case: Case, orders: list[FlaggedOrder], manager: User, with_check: bool
) -> None:
    item = item_for(case, orders[0], manager)
    if with_check:
        EvidenceCheck.objects.create(item=item)

    response = api(manager).get(f"/api/v1/evidence/{item.pk}/text/")

    assert response.status_code == 200
    assert response.json() == {
        "method": "",
        "pages_read": 0,
        "pages_total": 0,
        "read_at": None,
        "text": "",
        "pages": [],
    }


def test_the_text_follows_the_files_access_rules(
    api: Callable[..., APIClient],
    case: Case,
    orders: list[FlaggedOrder],
    manager: User,
    outsider_manager: User,
    alice: User,
    charlie: User,
) -> None:
    item = item_for(case, orders[0], manager)
    checked(item)
    staff_url, portal_url = f"/api/v1/evidence/{item.pk}/text/", f"/api/v1/portal/evidence/{item.pk}/text/"

    assert api(outsider_manager).get(staff_url).status_code == 404
    assert api(manager).get("/api/v1/evidence/999999/text/").status_code == 404
    assert api(alice).get(staff_url).status_code == 403
    assert api(None).get(staff_url).status_code == 401
    assert api(charlie).get(portal_url).status_code == 404
    assert api(manager).get(portal_url).status_code == 403
    assert api(None).get(portal_url).status_code == 401
    refused = api(outsider_manager).get(staff_url).json()
    assert refused["error"]["code"] == "not_found"


def test_the_client_reads_the_text_of_their_case_and_nothing_about_the_check(
    api: Callable[..., APIClient], case: Case, orders: list[FlaggedOrder], manager: User, alice: User
) -> None:
    item = item_for(case, orders[0], alice)
    check = checked(item, "mismatch")
    finding(check, "tracking_number", "mismatch", expected="SF0000000000", found="75312345678901")

    response = api(alice).get(f"/api/v1/portal/evidence/{item.pk}/text/")

    assert response.status_code == 200
    body = response.json()
    assert body["text"] == TEXT
    assert body["pages"][0] == ["中通快递 ZTO", "运单号 75312345678901"]
    assert not {"check", "findings", "outcome", "state", "read_error"} & set(keys_anywhere(body))


def test_the_portal_never_shows_a_check(
    api: Callable[..., APIClient], case: Case, orders: list[FlaggedOrder], manager: User, alice: User
) -> None:
    item = item_for(case, orders[0], alice)
    check = checked(item, "mismatch")
    finding(check, "tracking_number", "mismatch", expected="SF0000000000", found="75312345678901")
    client = api(alice)

    listed = client.get(f"/api/v1/portal/cases/{case.pk}/evidence/").json()
    one = client.get(f"/api/v1/portal/evidence/{item.pk}/").json()
    uploaded = post_upload(
        client, f"/api/v1/portal/cases/{case.pk}/evidence/", name="chat.png", content=png("p"), order=orders[1].pk
    )
    detail = client.get(f"/api/v1/portal/cases/{case.pk}/").json()

    assert uploaded.status_code == 201
    assert listed["results"]
    for answer in (listed, one, uploaded.json(), detail):
        assert not {"check", "checks", "findings", "text_url", "orders_contradicted"} & set(keys_anywhere(answer))
    # The portal list does not read checks at all: a filter by check is not one of its filters.
    unfiltered = client.get(f"/api/v1/portal/cases/{case.pk}/evidence/").json()["results"]
    everything = client.get(f"/api/v1/portal/cases/{case.pk}/evidence/", {"check": "match"}).json()["results"]
    assert len(everything) == len(unfiltered) == 2


# --- The staff list: filtered and sorted by check ------------------------------------------------------


@pytest.fixture
def by_status(case: Case, orders: list[FlaggedOrder], manager: User) -> dict[str, EvidenceItem]:
    """One item per check status, uploaded in an order unlike the review order; and one without a check."""
    items: dict[str, EvidenceItem] = {}
    for status in ("match", "pending", "not_found", "unchecked", "mismatch", "unreadable", "none"):
        item = item_for(case, orders[len(items) % 3], manager)
        if status == "pending":
            checked(item, "mismatch", state="queued")  # an old outcome, being compared again
        elif status != "none":
            checked(item, status)
        items[status] = item
    return items


def listed_ids(client: APIClient, case: Case, **params: Any) -> list[int]:
    response = client.get(f"/api/v1/cases/{case.pk}/evidence/", params)
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize("status", ["mismatch", "unreadable", "not_found", "match", "unchecked", "pending"])
def test_the_staff_list_filters_by_check(
    api: Callable[..., APIClient], case: Case, manager: User, by_status: dict[str, EvidenceItem], status: str
) -> None:
    assert listed_ids(api(manager), case, check=status) == [by_status[status].pk]


def test_ordering_by_check_puts_contradictions_first(
    api: Callable[..., APIClient], case: Case, orders: list[FlaggedOrder], manager: User, by_status: dict[str, Any]
) -> None:
    newer_mismatch = item_for(case, orders[0], manager)
    checked(newer_mismatch, "mismatch")
    client = api(manager)
    status_order = [by_status[status].pk for status in ("unreadable", "not_found", "match", "unchecked", "pending")]
    mismatches = [by_status["mismatch"].pk, newer_mismatch.pk]

    ascending = listed_ids(client, case, ordering="check")
    descending = listed_ids(client, case, ordering="-check")

    # Items without a check come after pending ones; ties are oldest first, both ways.
    assert ascending == [*mismatches, *status_order, by_status["none"].pk]
    assert descending == [by_status["none"].pk, *reversed(status_order), *mismatches]
    # Without an ordering the list stays oldest first.
    assert listed_ids(client, case) == sorted(ascending)


@pytest.mark.parametrize(("name", "value"), [("check", "contradicts"), ("ordering", "uploaded_at"), ("check", "done")])
def test_an_unknown_check_or_ordering_is_a_field_error(
    api: Callable[..., APIClient], case: Case, manager: User, by_status: dict[str, Any], name: str, value: str
) -> None:
    response = api(manager).get(f"/api/v1/cases/{case.pk}/evidence/", {name: value})

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == [name]


@pytest.mark.parametrize("page_size", [10, 50])
def test_the_staff_list_with_checks_costs_a_fixed_number_of_queries(
    api: Callable[..., APIClient],
    case: Case,
    orders: list[FlaggedOrder],
    manager: User,
    reviewer: User,
    django_assert_num_queries: Any,
    page_size: int,
) -> None:
    for index in range(60):
        item = item_for(case, orders[index % 3], (manager, reviewer)[index % 2], kind="other")
        if index % 5:
            check = checked(item, ("mismatch", "match", "not_found", "unreadable")[index % 4])
            finding(check, "tracking_number", "match", expected="SF1", found="SF1")
            finding(check, "courier", "not_found", expected="SF Express")
    client = api(manager)

    # The case (scope check), the count, the page with its people, attempt and check joined, and the
    # findings of the whole page; the same again sorted by check.
    with django_assert_num_queries(4):
        response = client.get(f"/api/v1/cases/{case.pk}/evidence/?page_size={page_size}")
    with django_assert_num_queries(4):
        sorted_response = client.get(f"/api/v1/cases/{case.pk}/evidence/?page_size={page_size}&ordering=check")

    assert len(response.json()["results"]) == len(sorted_response.json()["results"]) == page_size
    assert sum(len(row["check"]["findings"]) for row in response.json()["results"] if row["check"]) > 0


# --- Accepting every item whose checks match ---------------------------------------------------------


def accept_matching(client: APIClient, case: Case, body: dict[str, Any] | None = None, **headers: Any) -> Any:
    return client.post(f"/api/v1/cases/{case.pk}/evidence/accept-matching/", body or {}, format="json", **headers)


@pytest.fixture
def mixed(case: Case, orders: list[FlaggedOrder], alice: User, manager: User) -> dict[str, EvidenceItem]:
    """Items only the first two of which are accepted: pending with every check matching."""
    items = {
        "slip": item_for(case, orders[0], alice, kind="shipping_slip"),
        "chat": item_for(case, orders[1], alice, kind="chat_log"),
        "mismatch": item_for(case, orders[0], alice, kind="signed_delivery"),
        "queued": item_for(case, orders[1], alice, kind="courier_tracking"),
        "not_found": item_for(case, orders[2], alice, kind="shipping_slip"),
        "rejected": item_for(case, orders[2], manager, kind="chat_log", review_state="rejected"),
        "removed": item_for(case, orders[2], manager, kind="signed_delivery"),
    }
    for name in ("slip", "chat", "rejected", "removed"):
        checked(items[name], "match")
    checked(items["mismatch"], "mismatch")
    checked(items["queued"], "match", state="queued")
    checked(items["not_found"], "not_found")
    EvidenceItem.objects.filter(pk=items["removed"].pk).update(removed_at=timezone.now(), removed_by=manager)
    return items


def review_states(items: dict[str, EvidenceItem]) -> dict[str, str]:
    return {name: EvidenceItem.objects.get(pk=item.pk).review_state for name, item in items.items()}


def test_a_reviewer_accepts_every_matching_item_at_once(
    api: Callable[..., APIClient], case: Case, reviewer: User, mixed: dict[str, EvidenceItem]
) -> None:
    response = accept_matching(api(reviewer), case)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["accepted"] == 2
    assert [row["id"] for row in body["items"]] == [mixed["slip"].pk, mixed["chat"].pk]
    assert {row["review_state"] for row in body["items"]} == {"accepted"}
    assert {row["reviewed_by"]["username"] for row in body["items"]} == {"reviewer"}
    assert {row["check"]["outcome"] for row in body["items"]} == {"match"}
    assert review_states(mixed) == {
        "slip": "accepted",
        "chat": "accepted",
        "mismatch": "pending",
        "queued": "pending",
        "not_found": "pending",
        "rejected": "rejected",
        "removed": "pending",
    }
    events = list(CaseEvent.objects.filter(case=case, kind="evidence_reviewed").order_by("id"))
    assert [(event.new_value or {}).get("item") for event in events] == [mixed["slip"].pk, mixed["chat"].pk]
    assert {(event.actor_id, event.reason_code, event.reason) for event in events} == {
        (reviewer.pk, "checks_matched", "")
    }
    assert {(event.new_value or {}).get("review_state") for event in events} == {"accepted"}


def test_accepting_can_be_narrowed_to_one_kind(
    api: Callable[..., APIClient], case: Case, manager: User, mixed: dict[str, EvidenceItem]
) -> None:
    response = accept_matching(api(manager), case, {"kind": "chat_log"})

    assert response.status_code == 200
    assert (response.json()["accepted"], [row["id"] for row in response.json()["items"]]) == (1, [mixed["chat"].pk])
    assert review_states(mixed)["slip"] == "pending"


def test_nothing_to_accept_answers_zero(api: Callable[..., APIClient], case: Case, manager: User) -> None:
    response = accept_matching(api(manager), case)

    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "items": []}


def test_an_unknown_kind_is_a_field_error(
    api: Callable[..., APIClient], case: Case, manager: User, mixed: dict[str, EvidenceItem]
) -> None:
    response = accept_matching(api(manager), case, {"kind": "selfie"})

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == ["kind"]
    assert review_states(mixed)["slip"] == "pending"


def test_accepting_again_with_the_same_idempotency_key_replays_the_answer(
    api: Callable[..., APIClient], case: Case, manager: User, mixed: dict[str, EvidenceItem]
) -> None:
    client = api(manager)

    first = accept_matching(client, case, HTTP_IDEMPOTENCY_KEY="accept-1")
    second = accept_matching(client, case, HTTP_IDEMPOTENCY_KEY="accept-1")
    other = accept_matching(client, case, {"kind": "chat_log"}, HTTP_IDEMPOTENCY_KEY="accept-1")

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert CaseEvent.objects.filter(case=case, kind="evidence_reviewed").count() == 2


@pytest.mark.parametrize("who", ["intake", "alice"])
def test_who_may_not_accept(
    api: Callable[..., APIClient], request: pytest.FixtureRequest, case: Case, mixed: dict[str, EvidenceItem], who: str
) -> None:
    # The intake specialist opened the case, so sees it, but does not review evidence; a client is not staff.
    response = accept_matching(api(request.getfixturevalue(who)), case)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert review_states(mixed)["slip"] == "pending"


def test_a_case_the_caller_cannot_see_is_404(
    api: Callable[..., APIClient],
    make_case: Callable[..., Case],
    star_shop: Shop,
    outsider_manager: User,
    manager: User,
    case: Case,
    mixed: dict[str, EvidenceItem],
) -> None:
    other_organisation = make_case(star_shop, assignee=outsider_manager)

    assert accept_matching(api(manager), other_organisation).status_code == 404
    assert accept_matching(api(outsider_manager), case).status_code == 404
    assert accept_matching(api(manager), Case(pk=999999)).status_code == 404
    assert accept_matching(api(None), case).status_code == 401
    assert review_states(mixed)["slip"] == "pending"


@pytest.mark.parametrize("state", ["closed", "withdrawn"])
def test_a_finished_case_is_409(
    api: Callable[..., APIClient], case_in: Callable[..., Case], supervisor: User, alice: User, state: str
) -> None:
    finished = case_in(state)
    item = item_for(finished, finished.flagged_orders.first(), alice, kind="other")
    checked(item, "match")

    response = accept_matching(api(supervisor), finished)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"
    item.refresh_from_db()
    assert item.review_state == "pending"


# --- The case's check counts ----------------------------------------------------------------------------


def test_the_case_counts_its_checks_for_staff_only(
    api: Callable[..., APIClient],
    case: Case,
    orders: list[FlaggedOrder],
    manager: User,
    alice: User,
    by_status: dict[str, EvidenceItem],
) -> None:
    # A second contradiction on an order that has one already, one on another order, one that no longer counts.
    first_order = by_status["mismatch"].order
    assert first_order is not None
    checked(item_for(case, first_order, manager), "mismatch")
    other_order = next(order for order in orders if order.pk != first_order.pk)
    checked(item_for(case, other_order, manager), "mismatch")
    gone = item_for(case, orders[0], manager)
    checked(gone, "mismatch")
    EvidenceItem.objects.filter(pk=gone.pk).update(removed_at=timezone.now(), removed_by=manager)

    evidence = api(manager).get(f"/api/v1/cases/{case.pk}/").json()["evidence"]

    assert evidence["checks"] == {
        "orders_contradicted": 2,
        "items_mismatch": 3,
        "items_unreadable": 1,
        "items_not_found": 1,
        "items_match": 1,
        "items_unchecked": 1,
        "items_pending": 1,
    }
    portal = api(alice).get(f"/api/v1/portal/cases/{case.pk}/").json()
    assert not {"checks", "orders_contradicted", "items_mismatch"} & set(keys_anywhere(portal))


def test_a_case_without_evidence_counts_zero(api: Callable[..., APIClient], case: Case, manager: User) -> None:
    checks_shown = api(manager).get(f"/api/v1/cases/{case.pk}/").json()["evidence"]["checks"]

    assert set(checks_shown) == {
        "orders_contradicted",
        "items_mismatch",
        "items_unreadable",
        "items_not_found",
        "items_match",
        "items_unchecked",
        "items_pending",
    }
    assert set(checks_shown.values()) == {0}


# --- The check rules --------------------------------------------------------------------------------------

RULES = "/api/v1/evidence-check-rules/"


def test_every_staff_member_reads_every_kinds_rule(api: Callable[..., APIClient], reviewer: User) -> None:
    EvidenceCheckRule.objects.filter(kind="payment_record").delete()

    response = api(reviewer).get(RULES)

    assert response.status_code == 200
    rules = {rule["kind"]: rule for rule in response.json()}
    assert list(rules) == [
        "chat_log",
        "shipping_slip",
        "signed_delivery",
        "courier_tracking",
        "delivery_record",
        "customer_confirmation",
        "payment_record",
        "malicious_brushing",
        "other",
    ]
    assert rules["chat_log"]["groups"] == [["order_id"], ["buyer", "time_near_order"]]
    assert (rules["chat_log"]["window_hours"], rules["chat_log"]["kind_display"]) == (72, "Chat log with the buyer")
    # A kind without a rule is listed, with no groups: its items are not checked.
    assert rules["payment_record"]["groups"] == []
    assert (rules["payment_record"]["updated_at"], rules["payment_record"]["updated_by"]) == (None, None)
    one = api(reviewer).get(f"{RULES}shipping_slip/").json()
    assert one["groups"] == [["tracking_number", "courier", "delivered_after_order"]]
    assert api(reviewer).get(f"{RULES}payment_record/").json()["groups"] == []


@pytest.mark.parametrize("method", ["get", "put"])
def test_an_unknown_kind_is_404(api: Callable[..., APIClient], administrator: User, method: str) -> None:
    response = getattr(api(administrator), method)(
        f"{RULES}selfie/", {"groups": [["order_id"]], "window_hours": 24}, format="json"
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_catalogue_names_every_check(api: Callable[..., APIClient], manager: User) -> None:
    response = api(manager).get(f"{RULES}catalogue/")

    assert response.status_code == 200
    assert [entry["name"] for entry in response.json()] == [
        "tracking_number",
        "courier",
        "delivered_after_order",
        "order_id",
        "buyer",
        "time_near_order",
        "amount",
    ]
    assert response.json()[0]["name_display"] == "Tracking number"


def test_an_administrator_changes_a_rule_and_its_items_are_checked_again(
    api: Callable[..., APIClient],
    case: Case,
    orders: list[FlaggedOrder],
    administrator: User,
    manager: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    chat = checked(item_for(case, orders[0], manager, kind="chat_log"), "not_found")
    slip = checked(item_for(case, orders[0], manager, kind="shipping_slip"), "match")
    sent: list[int] = []
    monkeypatch.setattr(checks, "_send", lambda ids: sent.extend(ids))

    with django_capture_on_commit_callbacks(execute=True):
        response = api(administrator).put(
            f"{RULES}chat_log/", {"groups": [["order_id"], ["buyer", "amount"]], "window_hours": 48}, format="json"
        )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["groups"], body["window_hours"]) == ([["order_id"], ["buyer", "amount"]], 48)
    assert body["updated_by"]["username"] == "administrator"
    assert body["updated_at"] is not None
    chat.refresh_from_db()
    slip.refresh_from_db()
    assert (chat.state, chat.generation) == ("queued", 2)
    assert (slip.state, slip.generation) == ("done", 1)
    assert sent == [chat.pk]


def test_a_kind_without_a_rule_gets_one(api: Callable[..., APIClient], administrator: User) -> None:
    EvidenceCheckRule.objects.filter(kind="payment_record").delete()

    response = api(administrator).put(
        f"{RULES}payment_record/", {"groups": [["amount"]], "window_hours": 24}, format="json"
    )

    assert response.status_code == 200
    assert EvidenceCheckRule.objects.get(kind="payment_record").groups == [["amount"]]


@pytest.mark.parametrize("who", ["manager", "supervisor", "reviewer"])
def test_only_administrators_change_rules(
    api: Callable[..., APIClient], request: pytest.FixtureRequest, who: str
) -> None:
    response = api(request.getfixturevalue(who)).put(
        f"{RULES}chat_log/", {"groups": [["order_id"]], "window_hours": 24}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert EvidenceCheckRule.objects.get(kind="chat_log").groups == [["order_id"], ["buyer", "time_near_order"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"groups": [["order_id", "selfie"]], "window_hours": 24}, "groups"),
        ({"groups": ["order_id"], "window_hours": 24}, "groups"),
        ({"groups": [[]], "window_hours": 24}, "groups"),
        ({"groups": [["buyer", "buyer"]], "window_hours": 24}, "groups"),
        ({"window_hours": 24}, "groups"),
        ({"groups": [["order_id"]], "window_hours": 0}, "window_hours"),
        ({"groups": [["order_id"]], "window_hours": 9000}, "window_hours"),
        ({"groups": [["order_id"]], "window_hours": "soon"}, "window_hours"),
    ],
)
def test_a_bad_rule_is_a_field_error(
    api: Callable[..., APIClient], administrator: User, body: dict[str, Any], field: str
) -> None:
    response = api(administrator).put(f"{RULES}chat_log/", body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["details"]["fields"]) == [field]
    assert EvidenceCheckRule.objects.get(kind="chat_log").window_hours == 72


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", RULES),
        ("get", f"{RULES}chat_log/"),
        ("put", f"{RULES}chat_log/"),
        ("get", f"{RULES}catalogue/"),
    ],
)
def test_rules_are_for_staff(api: Callable[..., APIClient], alice: User, method: str, path: str) -> None:
    assert getattr(api(None), method)(path, {}, format="json").status_code == 401
    assert getattr(api(alice), method)(path, {}, format="json").status_code == 403


def test_a_rule_of_a_closed_case_is_not_compared_again(
    api: Callable[..., APIClient], case_in: Callable[..., Case], administrator: User, alice: User
) -> None:
    closed = case_in("closed")
    item = item_for(closed, closed.flagged_orders.first(), alice, kind="chat_log")
    check = checked(item, "match")

    api(administrator).put(f"{RULES}chat_log/", {"groups": [["order_id"]], "window_hours": 24}, format="json")

    check.refresh_from_db()
    assert (check.state, check.generation) == ("done", 1)
