"""Evidence downloads: streamed to staff of the case and the case's client users; 404 for everyone else."""

from __future__ import annotations

import logging

import pytest

from evidence.downloads import StoredFileMismatch
from tests.evidence.samples import CHAT, png, stream_until_failure, tamper
from tests.factories import evidence_item

CONTENT = png("download")


@pytest.fixture
def item(case, manager):
    order = case.flagged_orders.order_by("id").first()
    return evidence_item(case, order=order, kind="shipping_slip", uploaded_by=manager, content=CONTENT)


def staff_url(item):
    return f"/api/v1/evidence/{item.pk}/download/"


def portal_url(item):
    return f"/api/v1/portal/evidence/{item.pk}/download/"


def body(response):
    return b"".join(response.streaming_content)


def assert_is_the_file(response, content=CONTENT, content_type="image/png"):
    assert response.status_code == 200
    assert response.streaming
    assert body(response) == content
    assert response["Content-Type"] == content_type
    assert response["Content-Length"] == str(len(content))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize("who", ["manager", "teammate", "reviewer", "supervisor", "administrator", "intake"])
def test_staff_who_can_see_the_case_get_the_file(request, api, item, who):
    """The manager's team (manager, teammate, reviewer), agency-wide roles, and the intake who opened it."""
    response = api(request.getfixturevalue(who)).get(staff_url(item))

    assert_is_the_file(response)
    assert response["Content-Disposition"] == 'attachment; filename="evidence.png"'


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_the_case_s_client_users_get_the_file(request, api, item, who):
    assert_is_the_file(api(request.getfixturevalue(who)).get(portal_url(item)))


def test_staff_who_cannot_see_the_case_get_404(api, item, outsider_manager):
    response = api(outsider_manager).get(staff_url(item))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_another_client_gets_404_the_same_as_for_a_missing_item(api, item, charlie):
    theirs = api(charlie).get(portal_url(item))
    missing = api(charlie).get(f"/api/v1/portal/evidence/{item.pk + 1000}/download/")

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


def test_anonymous_gets_401_on_both_paths(api, item):
    for path in (staff_url(item), portal_url(item)):
        response = api(None).get(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "not_authenticated"


def test_each_audience_uses_its_own_path_and_learns_nothing_from_the_other(api, item, alice, manager):
    """A client on the staff path, or staff on the portal path, get 403 whether or not the item exists."""
    for user, path, missing in (
        (alice, staff_url(item), f"/api/v1/evidence/{item.pk + 1000}/download/"),
        (manager, portal_url(item), f"/api/v1/portal/evidence/{item.pk + 1000}/download/"),
    ):
        assert api(user).get(path).status_code == 403
        assert api(user).get(missing).status_code == 403


def test_a_non_ascii_name_is_sent_in_rfc_5987_form(api, case, manager):
    chat = CHAT.encode("gb18030")
    item = evidence_item(
        case,
        order=None,
        kind="malicious_brushing",
        uploaded_by=manager,
        content=chat,
        original_name="聊天记录.txt",
        content_type="text/plain; charset=gb18030",
    )

    response = api(manager).get(staff_url(item))

    assert_is_the_file(response, chat, "text/plain; charset=gb18030")
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''%E8%81%8A%E5%A4%A9%E8%AE%B0%E5%BD%95.txt"


def test_quotes_in_a_name_cannot_break_the_header(api, case, manager):
    item = evidence_item(
        case, order=None, kind="other", uploaded_by=manager, content=png("q"), original_name='a"; x=".png'
    )

    response = api(manager).get(staff_url(item))

    assert response["Content-Disposition"] == 'attachment; filename="a\\"; x=\\".png"'


def test_an_accept_header_asking_for_the_file_type_is_fine_and_errors_stay_json(api, item, manager, outsider_manager):
    ok = api(manager).get(staff_url(item), HTTP_ACCEPT="image/png")
    refused = api(outsider_manager).get(staff_url(item), HTTP_ACCEPT="image/png")

    assert_is_the_file(ok)
    assert refused.status_code == 404
    assert refused["Content-Type"] == "application/json"


def test_a_removed_item_is_still_downloadable_for_the_history(api, item, manager, alice):
    api(manager).post(f"/api/v1/evidence/{item.pk}/remove/", {"reason": "Blurred."}, format="json")

    assert_is_the_file(api(manager).get(staff_url(item)))
    assert_is_the_file(api(alice).get(portal_url(item)))


def test_the_file_is_not_under_any_public_url(item):
    with pytest.raises(NotImplementedError):
        item.file.url  # noqa: B018 - the property is what is tested


def test_a_file_changed_in_storage_is_never_delivered_whole(api, item, manager, caplog):
    """The download hashes as it streams and holds the last block back until the SHA-256 matches."""
    tampered = png("tampered")  # the same length as CONTENT, other bytes
    assert len(tampered) == len(CONTENT)
    tamper(item, tampered)

    response = api(manager).get(staff_url(item))

    assert response.status_code == 200  # the headers left before the file was read
    assert response["Content-Length"] == str(len(CONTENT))
    with caplog.at_level(logging.ERROR, logger="evidence.downloads"):
        received, error = stream_until_failure(response)
    assert isinstance(error, StoredFileMismatch)
    assert len(received) < len(tampered)
    assert f"evidence item {item.pk}" in caplog.text


def test_a_file_larger_than_a_block_streams_whole_when_it_matches(api, case, manager):
    content = CHAT.encode() * 2000  # several 64 KB blocks
    order = case.flagged_orders.order_by("id").first()
    item = evidence_item(
        case,
        order=order,
        kind="chat_log",
        uploaded_by=manager,
        content=content,
        original_name="chat.txt",
        content_type="text/plain; charset=utf-8",
    )

    response = api(manager).get(staff_url(item))

    assert_is_the_file(response, content=content, content_type="text/plain; charset=utf-8")
