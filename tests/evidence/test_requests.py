"""Evidence requests: staff ask, uploads fulfil, rejections reopen, both sides see the history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agency.errors import InvalidInput
from cases.history import record_case_event
from cases.models import CaseEvent
from casework import services as case_services
from evidence import requests as service
from evidence.models import EvidenceRequest, EvidenceRequestItem
from tests.evidence.samples import CHAT, png, post_upload
from tests.factories import evidence_item

DEADLINE_EVENT_KINDS = {"deadline_set", "deadline_moved", "deadline_met", "deadline_cancelled", "deadline_missed"}


@pytest.fixture
def due():
    return timezone.now() + dt.timedelta(days=2)


def ask(case, actor, due, kinds=("chat_log", "signed_delivery"), orders=None):
    orders = orders if orders is not None else list(case.flagged_orders.all()[:2])
    items = [{"order": order.pk, "kind": kind} for order in orders for kind in kinds]
    return service.evidence_request_create(case_id=case.pk, actor=actor, items=items, due_at=due, message="Please.")


def upload(case, order, kind, by, **kwargs):
    item = evidence_item(case, order=order, kind=kind, uploaded_by=by, review_state="pending", **kwargs)
    service.request_items_fulfil(item=item, actor=by)
    return item


def test_staff_ask_over_the_api_and_the_history_records_it(api, case, manager, due):
    order = case.flagged_orders.first()

    response = api(manager).post(
        f"/api/v1/cases/{case.pk}/evidence-requests/",
        {"items": [{"order": order.pk, "kind": "chat_log"}, {"kind": "malicious_brushing"}], "due_at": due.isoformat()},
        format="json",
    )

    assert response.status_code == 201, response.data
    assert response.data["status"] == "open"
    assert response.data["items_outstanding"] == 2
    assert {(i["order"] and i["order"]["id"], i["kind"]) for i in response.data["items"]} == {
        (order.pk, "chat_log"),
        (None, "malicious_brushing"),
    }
    event = CaseEvent.objects.filter(case=case, kind="evidence_requested").latest("id")
    assert (event.kind, event.new_value["items"], event.client_visible) == ("evidence_requested", 2, True)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"items": []}, "items"),
        ({"items": [{"kind": "selfie"}]}, "items"),
        ({"items": [{"order": 999999, "kind": "chat_log"}]}, "items"),
        ({"items": [{"kind": "chat_log"}, {"kind": "chat_log"}]}, "items"),
        ({"items": [{"kind": "chat_log"}], "due_at": "2001-01-01T00:00:00Z"}, "due_at"),
        ({"items": [{"kind": "chat_log"}], "due_at": "tomorrow"}, "due_at"),
    ],
)
def test_bad_requests_name_the_field_and_create_nothing(api, case, manager, due, payload, field):
    body = {"due_at": due.isoformat(), **payload}

    response = api(manager).post(f"/api/v1/cases/{case.pk}/evidence-requests/", body, format="json")

    assert response.status_code == 400
    assert field in response.data["error"]["details"]["fields"]
    assert not EvidenceRequest.objects.exists()


def test_an_order_of_another_case_cannot_be_asked_for(make_case, blossom_shop, case, manager, due):
    other = make_case(blossom_shop, assignee=manager)

    with pytest.raises(InvalidInput):
        ask(case, manager, due, orders=[other.flagged_orders.first()])


def test_uploads_fulfil_the_request_item_by_item(case, manager, alice, due):
    request = ask(case, manager, due)
    first, second = case.flagged_orders.all()[:2]

    upload(case, first, "chat_log", alice)
    upload(case, first, "signed_delivery", alice)
    upload(case, second, "chat_log", alice)
    request.refresh_from_db()
    assert request.status == "open"

    upload(case, second, "signed_delivery", alice)

    request.refresh_from_db()
    assert request.status == "fulfilled"
    assert request.fulfilled_at is not None
    assert CaseEvent.objects.filter(case=case, kind="evidence_request_fulfilled").count() == 1


def test_what_has_already_arrived_counts_at_once(case, manager, alice, due):
    first, second = case.flagged_orders.all()[:2]
    for order in (first, second):
        evidence_item(case, order=order, kind="chat_log", uploaded_by=alice, review_state="pending")

    request = ask(case, manager, due, kinds=("chat_log",))

    assert request.status == "fulfilled"


def test_a_rejected_upload_reopens_the_request(case, manager, alice, due):
    request = ask(case, manager, due, kinds=("chat_log",), orders=[case.flagged_orders.first()])
    item = upload(case, case.flagged_orders.first(), "chat_log", alice)
    request.refresh_from_db()
    assert request.status == "fulfilled"

    service.request_items_reopen(item=item, actor=manager)

    request.refresh_from_db()
    assert request.status == "open"
    assert EvidenceRequestItem.objects.get(request=request).fulfilled_by is None


def test_an_upload_naming_a_request_must_match_it(case, manager, alice, due):
    request = ask(case, manager, due, kinds=("chat_log",))
    item = evidence_item(case, order=case.flagged_orders.first(), kind="payment_record", uploaded_by=alice)
    item.request = request

    with pytest.raises(InvalidInput) as caught:
        service.request_items_fulfil(item=item, actor=alice)

    assert "request" in caught.value.details["fields"]


def test_cancel_needs_a_reason_and_an_open_request(api, case, manager, due):
    request = ask(case, manager, due)
    url = f"/api/v1/evidence-requests/{request.pk}/cancel/"

    assert api(manager).post(url, {}, format="json").status_code == 400
    assert api(manager).post(url, {"reason": "Found it ourselves."}, format="json").status_code == 200
    again = api(manager).post(url, {"reason": "Twice."}, format="json")

    assert again.status_code == 409
    request.refresh_from_db()
    assert (request.status, request.cancellation_reason) == ("cancelled", "Found it ourselves.")


def test_the_client_sees_its_open_requests_without_staff_details(api, case, manager, alice, due):
    open_request = ask(case, manager, due, kinds=("chat_log",))
    done = ask(case, manager, due, kinds=("payment_record",), orders=[case.flagged_orders.first()])
    upload(case, case.flagged_orders.first(), "payment_record", alice)

    everything = api(alice).get(f"/api/v1/portal/cases/{case.pk}/evidence-requests/")
    still_open = api(alice).get(f"/api/v1/portal/cases/{case.pk}/evidence-requests/?status=open")
    one = api(alice).get(f"/api/v1/portal/evidence-requests/{done.pk}/")

    assert everything.status_code == 200
    assert [r["id"] for r in everything.data["results"]] == [done.pk, open_request.pk]
    assert [r["id"] for r in still_open.data["results"]] == [open_request.pk]
    assert one.data["status"] == "fulfilled"
    assert "created_by" not in one.data
    assert "cancellation_reason" not in one.data


def test_request_lists_keep_a_fixed_query_count(api, case, manager, alice, due):
    counts = []
    for extra in (1, 6):
        for _ in range(extra):
            ask(case, manager, due + dt.timedelta(minutes=len(counts) + extra))
        for user, url in (
            (manager, f"/api/v1/cases/{case.pk}/evidence-requests/"),
            (alice, f"/api/v1/portal/cases/{case.pk}/evidence-requests/"),
        ):
            with CaptureQueriesContext(connection) as queries:
                assert api(user).get(url).status_code == 200
            counts.append(len(queries))
    assert counts[:2] == counts[2:]


def test_requests_answer_only_those_allowed(api, case, manager, due, alice, charlie, outsider_manager, intake):
    request = ask(case, manager, due)
    staff_list = f"/api/v1/cases/{case.pk}/evidence-requests/"
    cancel = f"/api/v1/evidence-requests/{request.pk}/cancel/"
    portal_list = f"/api/v1/portal/cases/{case.pk}/evidence-requests/"
    portal_one = f"/api/v1/portal/evidence-requests/{request.pk}/"
    body = {"items": [{"kind": "chat_log"}], "due_at": due.isoformat()}

    for url in (staff_list, portal_list, portal_one):
        assert api().get(url).status_code == 401
    assert api(alice).get(staff_list).status_code == 403
    assert api(alice).post(cancel, {"reason": "x"}, format="json").status_code == 403
    assert api(charlie).get(portal_list).status_code == 404
    assert api(charlie).get(portal_one).status_code == 404
    assert api(outsider_manager).get(staff_list).status_code == 404
    assert api(outsider_manager).post(staff_list, body, format="json").status_code == 404
    assert api(outsider_manager).post(cancel, {"reason": "x"}, format="json").status_code == 404
    assert api(manager).get(portal_list).status_code == 403
    # Intake specialists open cases; they do not chase evidence.
    assert api(intake).post(staff_list, body, format="json").status_code in (403, 404)
    assert api(manager).get("/api/v1/cases/99999999999999999999/evidence-requests/").status_code == 404
    request.refresh_from_db()
    assert request.status == "open"


def test_the_client_timeline_tells_the_evidence_story_in_plain_words(api, case, manager, alice, due):
    order = case.flagged_orders.first()
    ask(case, manager, due, kinds=("chat_log",), orders=[order])
    item = evidence_item(case, order=order, kind="chat_log", uploaded_by=alice, review_state="pending")
    record_case_event(case=case, actor=alice, kind="evidence_uploaded", new_value={"kind": "chat_log"})
    service.request_items_fulfil(item=item, actor=alice)
    record_case_event(
        case=case,
        actor=manager,
        kind="evidence_reviewed",
        new_value={"kind": "chat_log", "review_state": "rejected"},
        reason="The buyer's name is cut off.",
    )
    case_services.flagged_order_set_excluded(
        case_id=case.pk, order_id=order.pk, actor=manager, excluded=True, reason="Internal note."
    )

    timeline = f"/api/v1/portal/cases/{case.pk}/timeline/?page_size=100"
    # The chat-evidence deadline's own entries (it moves as chat logs arrive) are tested with the deadlines.
    english = [e["text"] for e in api(alice).get(timeline).data["results"] if e["kind"] not in DEADLINE_EVENT_KINDS]
    chinese = [
        e["text"]
        for e in api(alice).get(timeline, HTTP_ACCEPT_LANGUAGE="zh-hans").data["results"]
        if e["kind"] not in DEADLINE_EVENT_KINDS
    ]

    local_due = timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
    assert [e["kind"] for e in api(alice).get(timeline).data["results"]].count("deadline_moved") >= 1
    assert english[-4:] == [
        f"We need evidence from you: 1 item(s), by {local_due}.",
        "Evidence received: Chat log with the buyer.",
        "Thank you: everything we asked for has arrived.",
        "Evidence that cannot be used: Chat log with the buyer. Reason: The buyer's name is cut off.",
    ]
    assert not any("Internal note" in text for text in english)
    assert chinese[-3] == "已收到证据：与买家的聊天记录。"  # noqa: RUF001 - Chinese punctuation


def test_a_client_answers_a_request_through_the_portal_and_a_rejection_reopens_it(api, case, manager, alice, due):
    order = case.flagged_orders.first()
    request = ask(case, manager, due, kinds=("chat_log",), orders=[order])

    wrong = post_upload(
        api(alice),
        f"/api/v1/portal/cases/{case.pk}/evidence/",
        name="slip.png",
        content=png("slip"),
        kind="shipping_slip",
        order=order.pk,
        request=request.pk,
    )
    right = post_upload(
        api(alice),
        f"/api/v1/portal/cases/{case.pk}/evidence/",
        name="chat.txt",
        content=CHAT.encode(),
        kind="chat_log",
        order=order.pk,
        request=request.pk,
    )

    assert wrong.status_code == 400
    assert "request" in wrong.data["error"]["details"]["fields"]
    assert right.status_code == 201, right.data
    request.refresh_from_db()
    assert request.status == "fulfilled"

    rejected = api(manager).post(
        f"/api/v1/evidence/{right.data['id']}/review/", {"decision": "reject", "reason": "Cut off."}, format="json"
    )

    assert rejected.status_code == 200
    request.refresh_from_db()
    assert request.status == "open"
    assert api(alice).get(f"/api/v1/portal/evidence-requests/{request.pk}/").data["items_outstanding"] == 1
