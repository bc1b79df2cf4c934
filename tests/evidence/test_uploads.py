"""Evidence uploads (``evidence.uploads``, through the upload endpoints): streamed, hashed, stored under a random
name, and every refusal with its reason. The upload service's own checks are in tests/evidence/test_services.py."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings

from agency.errors import InvalidInput
from cases.models import CaseEvent
from evidence import services
from evidence.models import EvidenceItem
from evidence.uploads import EvidenceUploadHandler, HashedTemporaryUploadedFile
from tests.evidence.samples import (
    CHAT,
    CHAT_CSV,
    EXE,
    GIF,
    JPEG,
    NOISE,
    PDF,
    WEBP,
    png,
    post_upload,
    raw_multipart,
    session_client,
    stored_bytes,
    stored_files,
    upload_file,
    zip_archive,
)


def url(case):
    return f"/api/v1/cases/{case.pk}/evidence/"


def portal_url(case):
    return f"/api/v1/portal/cases/{case.pk}/evidence/"


def file_errors(response):
    assert response.status_code == 400, response.content
    assert response.data["error"]["code"] == "invalid"
    return response.data["error"]["details"]["fields"]["file"]


# --- What a good upload stores ------------------------------------------------------------


def test_staff_upload_is_hashed_stored_under_a_random_name_and_recorded(api, case, order, manager):
    content = png("slip")

    response = post_upload(
        api(manager), url(case), name="顺丰面单.png", content=content, kind="shipping_slip", order=order.pk
    )

    assert response.status_code == 201, response.content
    body = response.data
    assert (body["kind"], body["order"]["id"], body["source"]) == ("shipping_slip", order.pk, "staff")
    assert (body["original_name"], body["size"], body["content_type"]) == ("顺丰面单.png", len(content), "image/png")
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["review_state"] == "pending"
    assert body["uploaded_by"]["username"] == "manager"
    assert body["download_url"] == f"/api/v1/evidence/{body['id']}/download/"

    item = EvidenceItem.objects.get(pk=body["id"])
    assert item.sha256 == hashlib.sha256(content).hexdigest()
    # The stored name is random: nothing of the user's name reaches the file system.
    assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}", item.file.name)
    assert "顺丰" not in item.file.name
    assert "png" not in item.file.name
    assert stored_bytes(item) == content

    event = CaseEvent.objects.filter(case=case).latest("id")
    assert (event.kind, event.actor) == ("evidence_uploaded", manager)
    assert event.new_value["item"] == item.pk
    assert event.new_value["sha256"] == item.sha256


def test_the_content_type_comes_from_the_bytes_not_from_what_the_client_claims(api, case, order, manager):
    response = post_upload(
        api(manager), url(case), name="slip.png", content=png("claimed"), order=order.pk, content_type="text/html"
    )

    assert response.status_code == 201, response.content
    assert response.data["content_type"] == "image/png"


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("photo.jpg", JPEG, "image/jpeg"),
        ("photo.JPEG", JPEG, "image/jpeg"),
        ("slip.png", png("any"), "image/png"),
        ("track.gif", GIF, "image/gif"),
        ("track.webp", WEBP, "image/webp"),
        ("receipt.pdf", PDF, "application/pdf"),
        ("chat.txt", CHAT.encode(), "text/plain; charset=utf-8"),
        ("chat.csv", CHAT_CSV.encode("utf-8-sig"), "text/csv; charset=utf-8"),
        ("chat.txt", CHAT.encode("utf-16"), "text/plain; charset=utf-16"),
        ("聊天记录.csv", CHAT_CSV.encode("gb18030"), "text/csv; charset=gb18030"),
        ("chat.log", b"plain ascii chat log\r\nwith\ttabs\r\n", "text/plain; charset=utf-8"),
    ],
)
def test_every_type_on_the_allow_list_is_accepted(api, case, order, manager, name, content, content_type):
    response = post_upload(api(manager), url(case), name=name, content=content, order=order.pk)

    assert response.status_code == 201, response.content
    assert response.data["content_type"] == content_type
    assert response.data["sha256"] == hashlib.sha256(content).hexdigest()


def test_a_client_uploads_through_the_portal(api, case, order, alice):
    content = CHAT.encode()

    response = post_upload(api(alice), portal_url(case), name="chat.txt", content=content, order=order.pk, note="旺旺")

    assert response.status_code == 201, response.content
    body = response.data
    assert (body["source"], body["note"], body["can_remove"]) == ("client", "旺旺", True)
    assert body["download_url"] == f"/api/v1/portal/evidence/{body['id']}/download/"
    assert not {"uploaded_by", "reviewed_by", "removed_by", "review_reason", "removal_reason"} & set(body)
    item = EvidenceItem.objects.get(pk=body["id"])
    assert (item.uploaded_by, item.source, item.sha256) == (alice, "client", hashlib.sha256(content).hexdigest())
    assert CaseEvent.objects.filter(case=case, kind="evidence_uploaded", actor=alice).count() == 1


@pytest.fixture
def service_calls(monkeypatch):
    """The files the upload views hand to the service (the real service still runs)."""
    calls = []
    real_upload = services.evidence_upload

    def spy(**kwargs):
        calls.append(kwargs["file"])
        return real_upload(**kwargs)

    monkeypatch.setattr(services, "evidence_upload", spy)
    return calls


def test_the_views_hand_the_service_the_file_hashed_while_it_streamed(api, case, order, alice, service_calls):
    content = png("streamed")

    response = post_upload(api(alice), portal_url(case), name="slip.png", content=content, order=order.pk)

    assert response.status_code == 201, response.content
    [received] = service_calls
    assert isinstance(received, HashedTemporaryUploadedFile)
    assert received.sha256 == hashlib.sha256(content).hexdigest()


def test_case_level_evidence_has_no_order(api, case, manager):
    response = post_upload(api(manager), url(case), name="brushing.pdf", content=PDF, kind="malicious_brushing")

    assert response.status_code == 201, response.content
    assert response.data["order"] is None


def test_a_session_signed_in_upload_is_streamed_through_the_same_checks(case, order, alice):
    """A browser session reads the body in the CSRF check, before the view: the handler is already in place."""
    client = session_client(alice)
    good = post_upload(client, portal_url(case), name="chat.txt", content=CHAT.encode(), order=order.pk)
    assert good.status_code == 201, good.content
    assert good.data["sha256"] == hashlib.sha256(CHAT.encode()).hexdigest()

    body, content_type = raw_multipart(filename=b"../../chat.txt", content=b"other text", fields={"kind": "chat_log"})
    refused = client.post(portal_url(case), body, content_type=content_type)
    assert "path" in file_errors(refused)[0]


# --- Refusals -----------------------------------------------------------------------------


def test_an_empty_file_is_refused(api, case, order, manager):
    response = post_upload(api(manager), url(case), name="chat.txt", content=b"", order=order.pk)

    assert file_errors(response) == ["The file is empty."]
    assert not EvidenceItem.objects.exists()


def test_a_file_over_the_limit_is_refused_while_it_streams_and_nothing_is_stored(
    api, case, order, manager, settings, service_calls
):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 1000
    before = stored_files()

    response = post_upload(api(manager), url(case), name="big.png", content=png("x" * 5000), order=order.pk)

    errors = file_errors(response)
    assert errors == ["The file is larger than the limit of 1000\xa0bytes."]
    assert response.data["error"]["details"]["max_bytes"] == 1000
    assert not EvidenceItem.objects.exists()
    assert stored_files() == before
    assert not CaseEvent.objects.filter(kind="evidence_uploaded").exists()
    # Refused by the upload handler while the body was read: the service never saw a file.
    assert service_calls == []


def test_a_file_exactly_at_the_limit_is_accepted(api, case, order, manager, settings):
    content = png("at-limit")
    settings.EVIDENCE_MAX_UPLOAD_BYTES = len(content)

    response = post_upload(api(manager), url(case), name="slip.png", content=content, order=order.pk)

    assert response.status_code == 201, response.content


def test_the_handler_stops_at_the_chunk_that_passes_the_limit_and_deletes_its_temporary_file():
    handler = EvidenceUploadHandler(max_bytes=10)
    handler.new_file("file", "a.txt", "text/plain", None)
    temporary = Path(handler.file.temporary_file_path())
    handler.receive_data_chunk(b"12345", 0)
    assert temporary.exists()

    with pytest.raises(InvalidInput) as refused:
        handler.receive_data_chunk(b"678901", 5)

    assert refused.value.details["max_bytes"] == 10
    assert not temporary.exists()


def test_the_handler_refuses_a_body_declared_far_over_the_limit_before_reading_it():
    handler = EvidenceUploadHandler(max_bytes=10)
    declared = 10 + settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024 * 1024

    with pytest.raises(InvalidInput):
        handler.handle_raw_input(None, {}, declared, b"boundary")


def test_the_hash_is_counted_while_streaming(api, case, order, manager):
    handler = EvidenceUploadHandler(max_bytes=100)
    handler.new_file("file", "chat.txt", "text/plain", None)
    for start, chunk in ((0, b"hello "), (6, b"world")):
        handler.receive_data_chunk(chunk, start)
    received = handler.file_complete(11)

    assert received.sha256 == hashlib.sha256(b"hello world").hexdigest()
    assert received.read() == b"hello world"


@pytest.mark.parametrize(
    "raw_name",
    [
        b"../../etc/passwd.png",
        b"evidence/slip.png",
        b"C:\\Users\\shop\\slip.png",
        b"..\\slip.png",
        b"..",
        b"slip..png",
        b"slip&#47;x.png",
        b"slip.png\x00.txt",
    ],
)
def test_a_name_with_a_path_nul_or_parent_directory_is_refused_as_sent(api, case, order, manager, raw_name):
    """Django's parser would quietly strip these; the raw name is checked before it does."""
    before = stored_files()
    body, content_type = raw_multipart(
        filename=raw_name, content=png("path"), fields={"kind": "shipping_slip", "order": str(order.pk)}
    )

    response = api(manager).post(url(case), body, content_type=content_type)

    [message] = file_errors(response)
    assert "file name" in message
    assert not EvidenceItem.objects.exists()
    assert stored_files() == before


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("receipt.pdf", png("r"), "The file's content is a PNG image, but its name ends in .pdf; it should end in"),
        ("photo.jpg", CHAT.encode(), "The file's content is plain text, but its name ends in .jpg; it should end in"),
        ("chat.txt", PDF, "The file's content is a PDF document, but its name ends in .txt; it should end in"),
        ("slip.png", JPEG, "The file's content is a JPEG image, but its name ends in .png; it should end in"),
        ("slip", png("bare"), "The file name has no extension; for a PNG image it must end in .png."),
    ],
)
def test_content_and_extension_must_agree(api, case, order, manager, name, content, says):
    response = post_upload(api(manager), url(case), name=name, content=content, order=order.pk)

    [message] = file_errors(response)
    assert message.startswith(says), message


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("evidence.zip", zip_archive(), "PKZIP Archive"),
        ("evidence.png", zip_archive(), "Office Open XML"),
        ("setup.exe", EXE, "Windows Executable"),
        ("slip.png", EXE, "Windows Executable"),
        ("data.bin", NOISE, "not of an accepted type"),
        ("chat.txt", b"hello\x00world", "not of an accepted type"),
        ("chat.txt", b"\xff\xfeh\x00i\x00\x00\x00", "not of an accepted type"),
    ],
)
def test_types_off_the_allow_list_are_refused_by_content(api, case, order, manager, name, content, says):
    response = post_upload(api(manager), url(case), name=name, content=content, order=order.pk)

    [message] = file_errors(response)
    assert says in message
    assert "Send a JPEG, PNG, GIF or WebP image, a PDF, or a plain-text or CSV chat export." in message


def test_an_unknown_kind_is_refused(api, case, order, manager):
    response = post_upload(api(manager), url(case), name="slip.png", content=png(), kind="selfie", order=order.pk)

    assert response.status_code == 400
    assert "kind" in response.data["error"]["details"]["fields"]


def test_an_order_of_another_case_is_refused(api, case, make_case, blossom_shop, manager):
    other_order = make_case(blossom_shop, orders=1).flagged_orders.get()

    response = post_upload(api(manager), url(case), name="slip.png", content=png(), order=other_order.pk)

    assert response.status_code == 400
    assert response.data["error"]["details"]["fields"] == {"order": ["No flagged order with this id on this case."]}


def test_two_files_in_one_request_are_refused(api, case, order, manager):
    data = {
        "file": upload_file("a.png", png("a")),
        "other": upload_file("b.png", png("b")),
        "kind": "shipping_slip",
        "order": order.pk,
    }

    response = api(manager).post(url(case), data, format="multipart")

    assert file_errors(response) == ["Send one file per request."]


def test_missing_file_is_refused(api, case, order, manager):
    response = api(manager).post(url(case), {"kind": "chat_log", "order": order.pk}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.data["error"]["details"]["fields"]


# --- Duplicates ---------------------------------------------------------------------------


def test_the_same_file_twice_for_the_same_order_is_reported_not_stored(api, case, order, manager, alice):
    first = post_upload(api(manager), url(case), name="slip.png", content=png("dup"), order=order.pk)
    assert first.status_code == 201
    files_before = stored_files()

    again = post_upload(api(alice), portal_url(case), name="copy.png", content=png("dup"), order=order.pk)

    assert again.status_code == 409, again.content
    error = again.data["error"]
    assert error["code"] == "duplicate_evidence"
    assert error["details"]["existing_item"] == first.data["id"]
    assert str(first.data["id"]) in error["message"]
    assert EvidenceItem.objects.count() == 1
    assert stored_files() == files_before


def test_the_same_file_for_another_order_is_fine(api, case, manager):
    first, second = case.flagged_orders.order_by("id")[:2]
    for order in (first, second):
        response = post_upload(api(manager), url(case), name="slip.png", content=png("shared"), order=order.pk)
        assert response.status_code == 201, response.content


def test_the_same_case_level_file_twice_is_reported(api, case, manager):
    first = post_upload(api(manager), url(case), name="b.pdf", content=PDF, kind="malicious_brushing")
    again = post_upload(api(manager), url(case), name="b.pdf", content=PDF, kind="other")

    assert again.status_code == 409
    assert again.data["error"]["details"]["existing_item"] == first.data["id"]


def test_a_removed_file_may_be_uploaded_again(api, case, order, manager):
    first = post_upload(api(manager), url(case), name="slip.png", content=png("again"), order=order.pk)
    api(manager).post(f"/api/v1/evidence/{first.data['id']}/remove/", {"reason": "Wrong order."}, format="json")

    again = post_upload(api(manager), url(case), name="slip.png", content=png("again"), order=order.pk)

    assert again.status_code == 201, again.content


# --- Case state, audiences and the request link -------------------------------------------


@pytest.mark.parametrize("state", ["declined", "withdrawn"])
def test_a_closed_case_takes_no_evidence(api, case_in, manager, state):
    case = case_in(state)

    response = post_upload(api(manager), url(case), name="brushing.pdf", content=PDF, kind="malicious_brushing")

    assert response.status_code == 409
    assert response.data["error"]["code"] == "invalid_state"


@pytest.mark.parametrize("state", ["intake", "assessment", "submitted", "resolved"])
def test_any_open_state_takes_evidence(api, case_in, supervisor, state):
    case = case_in(state)

    response = post_upload(api(supervisor), url(case), name="brushing.pdf", content=PDF, kind="malicious_brushing")

    assert response.status_code == 201, response.content


def test_who_may_upload_where(api, case, order, charlie, outsider_manager, alice, manager):
    def send(user, target):
        return post_upload(api(user), target, name="slip.png", content=png(str(user)), order=order.pk)

    assert send(None, url(case)).status_code == 401
    assert send(None, portal_url(case)).status_code == 401
    assert send(outsider_manager, url(case)).status_code == 404
    assert send(charlie, portal_url(case)).status_code == 404
    assert send(alice, url(case)).status_code == 403
    assert send(manager, portal_url(case)).status_code == 403
    assert not EvidenceItem.objects.exists()


def test_an_unknown_case_is_404_before_the_body_is_read(api, manager):
    response = post_upload(api(manager), "/api/v1/cases/999999/evidence/", name="slip.png", content=png())

    assert response.status_code == 404
