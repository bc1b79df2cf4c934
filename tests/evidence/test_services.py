"""Evidence review, removal and superseding (``evidence.services``), the lists staff and clients see, the
history they write, and the checks the upload service makes of a file handed to it."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from agency.errors import InvalidInput, NotAllowed
from cases.models import AppealAttempt, CaseEvent
from evidence import services
from evidence.models import EvidenceItem, EvidenceRequest
from tests.conftest import requires_postgres
from tests.evidence.samples import (
    CHAT,
    PDF,
    png,
    post_upload,
    stored_files,
    upload_file,
)
from tests.factories import evidence_item


@pytest.fixture
def orders(case):
    return list(case.flagged_orders.order_by("id"))


@pytest.fixture
def item(case, orders, alice):
    """A client's pending upload for the first order."""
    return evidence_item(case, order=orders[0], kind="chat_log", uploaded_by=alice, review_state="pending")


@pytest.fixture
def staff_item(case, orders, manager):
    return evidence_item(case, order=orders[0], kind="shipping_slip", uploaded_by=manager, review_state="pending")


def lock(item, by):
    """Put the item into a submitted appeal, as submit_appeal does (one attempt in flight per case)."""
    attempt = AppealAttempt.objects.filter(case=item.case, decided_at__isnull=True).first()
    if attempt is None:
        attempt = AppealAttempt.objects.create(
            case=item.case, number=AppealAttempt.objects.filter(case=item.case).count() + 1, submitted_by=by
        )
    EvidenceItem.objects.filter(pk=item.pk).update(first_submitted_in=attempt)
    item.refresh_from_db()
    return item


def review(client, item, decision, reason=""):
    return client.post(f"/api/v1/evidence/{item.pk}/review/", {"decision": decision, "reason": reason}, format="json")


def remove(client, item, reason="Uploaded by mistake.", portal=False):
    prefix = "/api/v1/portal" if portal else "/api/v1"
    return client.post(f"{prefix}/evidence/{item.pk}/remove/", {"reason": reason}, format="json")


def last_event(case):
    return CaseEvent.objects.filter(case=case).latest("id")


# --- Review -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["reviewer", "manager", "supervisor", "administrator"])
def test_reviewer_roles_accept(request, api, item, who):
    user = request.getfixturevalue(who)

    response = review(api(user), item, "accept")

    assert response.status_code == 200, response.content
    assert response.data["review_state"] == "accepted"
    assert response.data["reviewed_by"]["username"] == who
    item.refresh_from_db()
    assert (item.review_state, item.reviewed_by, item.reviewed_at is not None) == ("accepted", user, True)
    event = last_event(item.case)
    assert (event.kind, event.actor) == ("evidence_reviewed", user)
    assert (event.old_value["review_state"], event.new_value["review_state"]) == ("pending", "accepted")


def test_a_rejection_needs_a_reason_and_the_client_sees_it(api, item, reviewer, alice):
    without = review(api(reviewer), item, "reject", "   ")
    assert without.status_code == 400
    assert "reason" in without.data["error"]["details"]["fields"]

    response = review(api(reviewer), item, "reject", "The buyer's name is cut off; send the whole chat.")

    assert response.status_code == 200, response.content
    assert (response.data["review_state"], response.data["review_reason"]) == (
        "rejected",
        "The buyer's name is cut off; send the whole chat.",
    )
    assert last_event(item.case).reason == "The buyer's name is cut off; send the whole chat."
    [seen] = api(alice).get(f"/api/v1/portal/cases/{item.case_id}/evidence/").data["results"]
    assert seen["review_state"] == "rejected"
    assert seen["rejection_reason"] == "The buyer's name is cut off; send the whole chat."
    assert "reviewed_by" not in seen


def test_an_unknown_decision_is_400(api, item, reviewer):
    response = review(api(reviewer), item, "maybe")

    assert response.status_code == 400
    assert "decision" in response.data["error"]["details"]["fields"]


def test_an_unlocked_item_may_be_reviewed_again(api, item, reviewer):
    review(api(reviewer), item, "reject", "Blurred.")

    response = review(api(reviewer), item, "accept")

    assert response.data["review_state"] == "accepted"
    assert response.data["review_reason"] == ""


def test_intake_may_not_review(api, item, intake):
    assert review(api(intake), item, "accept").status_code == 403


def test_staff_who_cannot_see_the_case_get_404(api, item, outsider_manager):
    assert review(api(outsider_manager), item, "accept").status_code == 404


def test_clients_may_not_review(item, alice):
    with pytest.raises(NotAllowed):
        services.evidence_review(item_id=item.pk, actor=alice, decision="accept")


def test_clients_have_no_review_path(api, item, alice):
    assert review(api(alice), item, "accept").status_code == 403
    assert api(alice).post(f"/api/v1/portal/evidence/{item.pk}/review/", {}, format="json").status_code == 404


def test_a_locked_item_cannot_be_reviewed_again(api, item, reviewer, supervisor):
    lock(item, supervisor)

    response = review(api(reviewer), item, "reject", "Too late.")

    assert response.status_code == 409
    assert response.data["error"]["code"] == "invalid_state"
    item.refresh_from_db()
    assert item.review_state == "pending"


def test_a_removed_item_cannot_be_reviewed(api, item, reviewer):
    remove(api(reviewer), item)

    assert review(api(reviewer), item, "accept").status_code == 409


def test_review_on_a_closed_case_is_409(api, case_in, reviewer, supervisor):
    case = case_in("declined")
    item = evidence_item(case, order=None, kind="other", uploaded_by=supervisor, review_state="pending")

    assert review(api(supervisor), item, "accept").status_code == 409


# --- Removal ------------------------------------------------------------------------------


def test_staff_removal_is_soft_and_recorded(api, item, reviewer):
    response = remove(api(reviewer), item, "Wrong order.")

    assert response.status_code == 200, response.content
    assert (response.data["active"], response.data["removal_reason"]) == (False, "Wrong order.")
    assert response.data["removed_by"]["username"] == "reviewer"
    item.refresh_from_db()
    assert item.removed_at is not None
    assert item.file.read()  # the file stays for the history
    event = last_event(item.case)
    assert (event.kind, event.actor, event.reason, event.old_value["item"]) == (
        "evidence_removed",
        reviewer,
        "Wrong order.",
        item.pk,
    )


def test_removal_needs_a_reason(api, item, reviewer):
    response = remove(api(reviewer), item, "")

    assert response.status_code == 400
    assert "reason" in response.data["error"]["details"]["fields"]


def test_removing_twice_is_409(api, item, reviewer):
    remove(api(reviewer), item)

    assert remove(api(reviewer), item).status_code == 409


def test_a_locked_item_cannot_be_removed_by_anyone(api, item, staff_item, supervisor, alice):
    lock(item, supervisor)
    lock(staff_item, supervisor)

    by_staff = remove(api(supervisor), staff_item)
    by_client = remove(api(alice), item, portal=True)

    assert by_staff.status_code == by_client.status_code == 409
    assert "supersedes" in by_staff.data["error"]["message"]
    assert EvidenceItem.objects.active().count() == 2


def test_a_client_removes_their_organisation_s_uploads(api, item, bob):
    response = remove(api(bob), item, portal=True)

    assert response.status_code == 200, response.content
    assert (response.data["active"], response.data["can_remove"]) == (False, False)
    assert last_event(item.case).actor == bob


def test_a_client_may_not_remove_the_agency_s_uploads(api, staff_item, alice):
    response = remove(api(alice), staff_item, portal=True)

    assert response.status_code == 403
    staff_item.refresh_from_db()
    assert staff_item.removed_at is None


def test_another_client_cannot_remove_or_see(api, item, charlie):
    assert remove(api(charlie), item, portal=True).status_code == 404


def test_intake_removes_only_their_own_uploads(api, case, item, intake):
    assert remove(api(intake), item).status_code == 403
    own = evidence_item(case, order=None, kind="other", uploaded_by=intake, review_state="pending")
    assert remove(api(intake), own).status_code == 200


def test_the_portal_says_what_the_client_may_remove(api, case, item, staff_item, supervisor, alice):
    locked = lock(evidence_item(case, order=None, kind="other", uploaded_by=alice), supervisor)

    results = api(alice).get(f"/api/v1/portal/cases/{case.pk}/evidence/").data["results"]

    can_remove = {row["id"]: row["can_remove"] for row in results}
    assert can_remove == {item.pk: True, staff_item.pk: False, locked.pk: False}


# --- Superseding --------------------------------------------------------------------------


def supersede(client, case, old, content, *, portal=False, name="new.png"):
    path = f"/api/v1/portal/cases/{case.pk}/evidence/" if portal else f"/api/v1/cases/{case.pk}/evidence/"
    return post_upload(client, path, name=name, content=content, kind=old.kind, order=old.order_id, supersedes=old.pk)


def test_a_locked_item_is_superseded_and_both_stay_in_the_history(api, case, staff_item, manager, supervisor):
    lock(staff_item, supervisor)

    response = supersede(api(manager), case, staff_item, png("better"))

    assert response.status_code == 201, response.content
    new_id = response.data["id"]
    staff_item.refresh_from_db()
    assert staff_item.superseded_by_id == new_id
    assert staff_item.superseded_at is not None
    assert staff_item.is_locked
    listed = api(manager).get(f"/api/v1/cases/{case.pk}/evidence/").data["results"]
    assert [row["id"] for row in listed] == [new_id]
    everything = api(manager).get(f"/api/v1/cases/{case.pk}/evidence/?include_inactive=true").data["results"]
    by_id = {row["id"]: row for row in everything}
    assert set(by_id) == {staff_item.pk, new_id}
    assert (by_id[staff_item.pk]["superseded_by"], by_id[staff_item.pk]["locked"]) == (new_id, True)
    kinds = list(CaseEvent.objects.filter(case=case).order_by("id").values_list("kind", flat=True))[-2:]
    assert kinds == ["evidence_uploaded", "evidence_superseded"]
    superseded = last_event(case)
    assert (superseded.old_value["item"], superseded.new_value["item"]) == (staff_item.pk, new_id)


def test_a_client_supersedes_their_own_rejected_upload(api, case, item, reviewer, alice):
    review(api(reviewer), item, "reject", "Cut off.")

    response = supersede(api(alice), case, item, png("whole chat"), portal=True)

    assert response.status_code == 201, response.content
    item.refresh_from_db()
    assert item.superseded_by_id == response.data["id"]


def test_a_client_may_not_supersede_the_agency_s_upload(api, case, staff_item, alice):
    response = supersede(api(alice), case, staff_item, png("client's"), portal=True)

    assert response.status_code == 403
    assert EvidenceItem.objects.count() == 1


def test_superseding_needs_the_same_order(api, case, orders, staff_item, manager):
    response = post_upload(
        api(manager),
        f"/api/v1/cases/{case.pk}/evidence/",
        name="new.png",
        content=png("elsewhere"),
        kind="shipping_slip",
        order=orders[1].pk,
        supersedes=staff_item.pk,
    )

    assert response.status_code == 400
    assert "supersedes" in response.data["error"]["details"]["fields"]


def test_an_item_of_another_case_cannot_be_superseded(api, case, make_case, blossom_shop, manager):
    other = make_case(blossom_shop, orders=1)
    theirs = evidence_item(other, order=None, kind="other", uploaded_by=manager)

    response = supersede(api(manager), case, theirs, png("x"))

    assert response.status_code == 400
    assert response.data["error"]["details"]["fields"]["supersedes"] == ["No evidence item with this id on this case."]


def test_a_removed_or_already_superseded_item_cannot_be_superseded(api, case, staff_item, item, manager):
    supersede(api(manager), case, staff_item, png("first"))
    remove(api(manager), item)

    again = supersede(api(manager), case, staff_item, png("second"))
    removed = supersede(api(manager), case, item, png("third"))

    assert again.status_code == removed.status_code == 409
    assert again.data["error"]["details"]["superseded_by"] is not None


def test_superseding_with_the_same_bytes_is_a_duplicate(api, case, orders, manager):
    first = post_upload(
        api(manager), f"/api/v1/cases/{case.pk}/evidence/", name="a.pdf", content=PDF, order=orders[0].pk
    )
    old = EvidenceItem.objects.get(pk=first.data["id"])

    response = supersede(api(manager), case, old, PDF, name="b.pdf")

    assert response.status_code == 409
    assert response.data["error"]["details"]["existing_item"] == old.pk


# --- Lists --------------------------------------------------------------------------------


def test_filters(api, case, orders, manager, alice):
    slip = evidence_item(case, order=orders[0], kind="shipping_slip", uploaded_by=manager, review_state="pending")
    chat = evidence_item(case, order=orders[1], kind="chat_log", uploaded_by=alice, review_state="accepted")
    brushing = evidence_item(case, order=None, kind="malicious_brushing", uploaded_by=manager, review_state="rejected")
    gone = evidence_item(case, order=orders[0], kind="chat_log", uploaded_by=manager, review_state="pending")
    services.evidence_remove(item_id=gone.pk, actor=manager, reason="Duplicate scan.")

    def ids(query=""):
        response = api(manager).get(f"/api/v1/cases/{case.pk}/evidence/{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.data["results"]]

    assert ids() == [slip.pk, chat.pk, brushing.pk]
    assert ids(f"?order={orders[0].pk}") == [slip.pk]
    assert ids("?kind=chat_log") == [chat.pk]
    assert ids("?review_state=rejected") == [brushing.pk]
    assert ids("?case_level=true") == [brushing.pk]
    assert ids("?case_level=false") == [slip.pk, chat.pk]
    assert ids("?include_inactive=true") == [slip.pk, chat.pk, brushing.pk, gone.pk]
    assert ids(f"?include_inactive=true&order={orders[0].pk}&kind=chat_log") == [gone.pk]
    bad = api(manager).get(f"/api/v1/cases/{case.pk}/evidence/?kind=selfie")
    assert bad.status_code == 400
    assert "kind" in bad.data["error"]["details"]["fields"]


def test_the_list_is_scoped_to_the_case(api, case, item, outsider_manager, charlie):
    assert api(outsider_manager).get(f"/api/v1/cases/{case.pk}/evidence/").status_code == 404
    assert api(charlie).get(f"/api/v1/portal/cases/{case.pk}/evidence/").status_code == 404
    assert api(None).get(f"/api/v1/cases/{case.pk}/evidence/").status_code == 401


def test_the_portal_list_holds_no_staff_identities_or_internal_notes(api, case, orders, manager, reviewer, alice):
    staff_upload = evidence_item(case, order=orders[0], kind="shipping_slip", uploaded_by=manager)
    EvidenceItem.objects.filter(pk=staff_upload.pk).update(note="Internal: courier was late, do not mention.")
    services.evidence_review(item_id=staff_upload.pk, actor=reviewer, decision="accept", reason="Checked by phone.")

    [row] = api(alice).get(f"/api/v1/portal/cases/{case.pk}/evidence/").data["results"]

    assert row["note"] == ""
    assert row["rejection_reason"] == ""
    assert "manager" not in str(row)
    assert "reviewer" not in str(row)
    assert "Checked by phone" not in str(row)


@pytest.mark.parametrize("page_size", [10, 100])
def test_staff_list_costs_a_fixed_number_of_queries(
    api, case, orders, manager, reviewer, supervisor, django_assert_num_queries, page_size
):
    attempt = AppealAttempt.objects.create(case=case, number=1, submitted_by=supervisor)
    for index in range(120):
        uploader = (manager, reviewer, supervisor)[index % 3]
        evidence_item(
            case,
            order=orders[index % len(orders)],
            kind="other",
            uploaded_by=uploader,
            content=png(f"page-{index}"),
            review_state=("pending", "accepted", "rejected")[index % 3],
        )
    EvidenceItem.objects.filter(pk__in=EvidenceItem.objects.values("pk")[:50]).update(first_submitted_in=attempt)
    client = api(manager)

    # The case (scope check), the count, and the page with its people and attempt joined.
    with django_assert_num_queries(3):
        response = client.get(f"/api/v1/cases/{case.pk}/evidence/?page_size={page_size}")

    assert response.status_code == 200
    assert len(response.data["results"]) == page_size


@pytest.mark.parametrize("page_size", [10, 100])
def test_portal_list_costs_a_fixed_number_of_queries(
    api, case, orders, manager, alice, django_assert_num_queries, page_size
):
    for index in range(120):
        evidence_item(
            case,
            order=orders[index % len(orders)] if index % 4 else None,
            kind="other",
            uploaded_by=(manager, alice)[index % 2],
            content=png(f"portal-{index}"),
        )
    client = api(alice)

    with django_assert_num_queries(3):
        response = client.get(f"/api/v1/portal/cases/{case.pk}/evidence/?page_size={page_size}")

    assert response.status_code == 200
    assert len(response.data["results"]) == page_size


def test_staff_read_one_item(api, item, manager, outsider_manager):
    response = api(manager).get(f"/api/v1/evidence/{item.pk}/")

    assert response.status_code == 200
    assert (response.data["id"], response.data["source"], response.data["uploaded_by"]["username"]) == (
        item.pk,
        "client",
        "alice",
    )
    assert api(outsider_manager).get(f"/api/v1/evidence/{item.pk}/").status_code == 404
    assert api(manager).get("/api/v1/evidence/not-a-number/").status_code == 404


def test_a_client_reads_one_item_of_their_case(api, item, alice, charlie):
    assert api(alice).get(f"/api/v1/portal/evidence/{item.pk}/").data["id"] == item.pk
    assert api(charlie).get(f"/api/v1/portal/evidence/{item.pk}/").status_code == 404


# --- Uploads handed to the service ----------------------------------------------------------


def test_the_service_checks_names_too(case, order, manager):
    with pytest.raises(InvalidInput) as refused:
        services.evidence_upload(
            case_id=case.pk, actor=manager, file=upload_file("a..png", png()), kind="shipping_slip", order_id=order.pk
        )
    assert refused.value.details["fields"] == {"file": ["The file name must not contain “..”."]}


def test_every_field_problem_is_reported_at_once(case, manager):
    with pytest.raises(InvalidInput) as refused:
        services.evidence_upload(
            case_id=case.pk, actor=manager, file=upload_file("x.txt", b""), kind="selfie", order_id=10**12
        )
    assert set(refused.value.details["fields"]) == {"kind", "order", "file"}


@requires_postgres
@pytest.mark.parametrize("case_level", [False, True])
def test_a_race_between_identical_uploads_is_settled_by_the_constraint(case, order, manager, monkeypatch, case_level):
    """Both requests passed the duplicate check; the database lets one in and the other gets the 409.

    The constraint (NULLS NOT DISTINCT, so case-level items count too) exists on
    PostgreSQL only. SQLite runs each upload in a BEGIN IMMEDIATE transaction, so there
    the check and the insert cannot interleave in the first place.
    """
    order_id = None if case_level else order.pk

    def send(name):
        return services.evidence_upload(
            case_id=case.pk, actor=manager, file=upload_file(name, png("race")), kind="other", order_id=order_id
        )

    first = send("a.png")
    real_duplicate_of = services._duplicate_of
    calls = []

    def check_missed_it(*args, **kwargs):
        calls.append(args)
        return None if len(calls) == 1 else real_duplicate_of(*args, **kwargs)

    monkeypatch.setattr(services, "_duplicate_of", check_missed_it)
    files_before = stored_files()

    with pytest.raises(services.DuplicateEvidence) as refused:
        send("b.png")

    assert refused.value.details == {"existing_item": first.pk}
    assert len(calls) == 2
    assert EvidenceItem.objects.count() == 1
    assert stored_files() == files_before


def test_the_service_keeps_a_request_of_the_case_and_refuses_another(case, make_case, blossom_shop, order, manager):
    def request_on(target, wanted_order):
        request = EvidenceRequest.objects.create(case=target, due_at=target.created_at, created_by=manager)
        request.items.create(order=wanted_order, kind="shipping_slip")
        return request

    mine = request_on(case, order)
    item = services.evidence_upload(
        case_id=case.pk,
        actor=manager,
        file=upload_file("slip.png", png("req")),
        kind="shipping_slip",
        order_id=order.pk,
        request_id=mine.pk,
    )
    assert item.request_id == mine.pk

    other_case = make_case(blossom_shop, orders=1)
    other = request_on(other_case, other_case.flagged_orders.get())
    with pytest.raises(InvalidInput) as refused:
        services.evidence_upload(
            case_id=case.pk,
            actor=manager,
            file=upload_file("slip.png", png("req-2")),
            kind="shipping_slip",
            order_id=order.pk,
            request_id=other.pk,
        )
    assert "request" in refused.value.details["fields"]


def test_a_file_handed_to_the_service_directly_is_hashed_there(case, order, manager):
    content = CHAT.encode("gb18030")

    item = services.evidence_upload(
        case_id=case.pk,
        actor=manager,
        file=SimpleUploadedFile("chat.txt", content),
        kind="chat_log",
        order_id=order.pk,
    )

    assert (item.size, item.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    assert item.content_type == "text/plain; charset=gb18030"
    assert item.file.read() == content
