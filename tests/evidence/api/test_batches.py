"""The bulk evidence endpoints (``evidence.api.batches``): staff and portal uploads of an archive, the batch
resource with its commit and cancel, who may see what, the error shape, and the kind keywords."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from cases.models import Case, FlaggedOrder
from evidence import batches
from evidence.models import BatchStatus, EvidenceBatch, EvidenceItem, KindKeywords
from tests.evidence.samples import PDF, session_client
from tests.evidence.zips import make_zip, proof

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(evidence_case: Case) -> list[FlaggedOrder]:
    return list(evidence_case.flagged_orders.order_by("id"))


def archive_for(orders: list[FlaggedOrder]) -> bytes:
    return make_zip(
        [(f"{order.platform_order_id}/聊天记录.png", proof(f"chat{order.pk}")) for order in orders]
        + [("IMG_0001.png", proof("stray"))]
    )


def post_archive(client: APIClient, url: str, data: bytes, **fields: Any) -> Any:
    body = {"file": SimpleUploadedFile("evidence.zip", data, content_type="application/zip"), **fields}
    return client.post(url, body, format="multipart")


def test_staff_preview_then_commit_an_archive(
    api: Callable[..., APIClient], evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    client = api(manager)
    url = f"/api/v1/cases/{evidence_case.pk}/evidence/bulk/"
    preview = post_archive(client, url, archive_for(orders))

    assert preview.status_code == 200, preview.json()
    body = preview.json()
    assert body["status"] == "previewed"
    assert body["totals"] == {
        "files": 4,
        "ready": 3,
        "stored": 0,
        "not_stored": 1,
        "by_status": {"ready": 3, "unmatched": 1},
    }
    stray = next(row for row in body["files"] if row["path"] == "IMG_0001.png")
    assert stray["status"] == "unmatched"
    assert stray["reason"]
    assert body["orders"][0]["required_kinds"] == ["chat_log", "shipping_slip", "signed_delivery", "courier_tracking"]
    assert not EvidenceItem.objects.exists()

    mapping = {"IMG_0001.png": {"order": orders[0].tracking_number, "kind": "shipping_slip"}}
    committed = client.post(f"/api/v1/evidence-batches/{body['id']}/commit/", {"mapping": mapping}, format="json")
    assert committed.status_code == 200, committed.json()
    assert committed.json()["status"] == "committed"
    assert committed.json()["stored_count"] == 4
    assert EvidenceItem.objects.filter(case=evidence_case).count() == 4

    fetched = client.get(f"/api/v1/evidence-batches/{body['id']}/")
    assert fetched.status_code == 200
    assert {row["status"] for row in fetched.json()["files"]} == {"stored"}
    listed = client.get(url)
    assert [batch["id"] for batch in listed.json()["results"]] == [body["id"]]


def test_a_commit_in_one_request_answers_201(
    api: Callable[..., APIClient], evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    response = post_archive(
        api(manager), f"/api/v1/cases/{evidence_case.pk}/evidence/bulk/", archive_for(orders), dry_run="false"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["stored_count"] == 3


def test_a_large_archive_answers_202_and_the_batch_shows_progress(
    api: Callable[..., APIClient],
    evidence_case: Case,
    orders: list[FlaggedOrder],
    manager: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.EVIDENCE_BULK_INLINE_MAX_BYTES = 10
    queued: list[int] = []
    monkeypatch.setattr(batches, "_queue", queued.append)
    client = api(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_archive(client, f"/api/v1/cases/{evidence_case.pk}/evidence/bulk/", archive_for(orders))

    assert response.status_code == 202, response.json()
    batch_id = response.json()["id"]
    assert response.json()["status"] == "received"
    assert response.json()["progress"] == {"done": 0, "total": 0}
    assert queued == [batch_id]
    batches.batch_work(batch_id)
    body = client.get(f"/api/v1/evidence-batches/{batch_id}/").json()
    assert body["status"] == "previewed"
    assert body["progress"] == {"done": 4, "total": 4}

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/evidence-batches/{batch_id}/commit/", {}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "committing"
    batches.batch_work(batch_id)
    assert client.get(f"/api/v1/evidence-batches/{batch_id}/").json()["status"] == "committed"


def test_bad_requests_name_the_field_and_change_nothing(
    api: Callable[..., APIClient], evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    client = api(manager)
    url = f"/api/v1/cases/{evidence_case.pk}/evidence/bulk/"
    cases = [
        ({"file": SimpleUploadedFile("a.pdf", PDF)}, "file", "not a ZIP archive"),
        ({"note": "nothing sent"}, "file", "ZIP archive"),
        (
            {"file": SimpleUploadedFile("a.zip", archive_for(orders)), "mapping": "{not json"},
            "mapping",
            "JSON object",
        ),
        (
            {"file": SimpleUploadedFile("a.zip", archive_for(orders)), "mapping": json.dumps({"a.png": {"kind": "x"}})},
            "mapping",
            "not a kind of evidence",
        ),
        ({"file": SimpleUploadedFile("a.zip", archive_for(orders)), "dry_run": "perhaps"}, "dry_run", ""),
    ]
    for body, field, words in cases:
        response = client.post(url, body, format="multipart")
        assert response.status_code == 400, (body, response.json())
        error = response.json()["error"]
        assert field in error["details"]["fields"], error
        assert words in " ".join(error["details"]["fields"][field])
    assert not EvidenceBatch.objects.exists()


def test_commit_and_cancel_answer_conflicts_in_the_one_error_shape(
    api: Callable[..., APIClient], evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    client = api(manager)
    url = f"/api/v1/cases/{evidence_case.pk}/evidence/bulk/"
    first = post_archive(client, url, archive_for(orders), dry_run="false").json()
    again = post_archive(client, url, archive_for(orders), dry_run="false")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "archive_already_committed"
    assert again.json()["error"]["details"] == {"batch": first["id"]}

    cancelled = client.post(f"/api/v1/evidence-batches/{first['id']}/cancel/")
    assert cancelled.status_code == 409
    assert cancelled.json()["error"]["code"] == "invalid_state"


def test_the_portal_lets_a_client_send_and_commit_and_hides_everything_else(
    api: Callable[..., APIClient],
    evidence_case: Case,
    orders: list[FlaggedOrder],
    alice: Any,
    charlie: Any,
    manager: Any,
) -> None:
    url = f"/api/v1/portal/cases/{evidence_case.pk}/evidence/bulk/"
    sent = post_archive(api(alice), url, archive_for(orders))
    assert sent.status_code == 200, sent.json()
    body = sent.json()
    assert "created_by" not in body
    assert "committed_by" not in body

    # Another organisation's client: the case and the batch do not exist for them.
    assert post_archive(api(charlie), url, archive_for(orders)).status_code == 404
    for method, path in (
        ("get", f"/api/v1/portal/evidence-batches/{body['id']}/"),
        ("post", f"/api/v1/portal/evidence-batches/{body['id']}/commit/"),
        ("post", f"/api/v1/portal/evidence-batches/{body['id']}/cancel/"),
    ):
        assert getattr(api(charlie), method)(path, format="json").status_code == 404
    assert api(charlie).get(url).status_code == 404

    # What staff send is not the client's to see; staff cannot use the portal's endpoints.
    staff_batch = post_archive(api(manager), f"/api/v1/cases/{evidence_case.pk}/evidence/bulk/", make_zip([]))
    assert staff_batch.status_code == 200, staff_batch.json()
    assert api(alice).get(f"/api/v1/portal/evidence-batches/{staff_batch.json()['id']}/").status_code == 404
    assert [batch["id"] for batch in api(alice).get(url).json()["results"]] == [body["id"]]
    assert post_archive(api(manager), url, archive_for(orders)).status_code == 403
    assert api(alice).get(f"/api/v1/evidence-batches/{body['id']}/").status_code == 403

    committed = api(alice).post(f"/api/v1/portal/evidence-batches/{body['id']}/commit/", {}, format="json")
    assert committed.status_code == 200
    assert {item.source for item in EvidenceItem.objects.filter(case=evidence_case)} == {"client"}


def test_every_staff_member_reads_the_keywords_and_administrators_change_them(
    api: Callable[..., APIClient], administrator: Any, manager: Any
) -> None:
    listed = api(manager).get("/api/v1/evidence-kind-keywords/")
    assert listed.status_code == 200
    chat = next(row for row in listed.json() if row["kind"] == "chat_log")
    assert "旺旺" in chat["keywords"]

    refused = api(manager).put("/api/v1/evidence-kind-keywords/chat_log/", {"keywords": ["微信"]}, format="json")
    assert refused.status_code == 403
    taken = api(administrator).put(
        "/api/v1/evidence-kind-keywords/chat_log/", {"keywords": ["微信", "面单"]}, format="json"
    )
    assert taken.status_code == 400
    assert "面单" in taken.json()["error"]["details"]["fields"]["keywords"][0]
    changed = api(administrator).put(
        "/api/v1/evidence-kind-keywords/chat_log/", {"keywords": [" 微信 ", "WeChat", "wechat"]}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["keywords"] == ["微信", "WeChat"]
    assert KindKeywords.objects.get(kind="chat_log").updated_by == administrator


def test_a_file_named_with_an_edited_keyword_is_matched_by_it(
    api: Callable[..., APIClient], evidence_case: Case, orders: list[FlaggedOrder], manager: Any, administrator: Any
) -> None:
    api(administrator).put("/api/v1/evidence-kind-keywords/chat_log/", {"keywords": ["微信"]}, format="json")
    data = make_zip([(f"{orders[0].platform_order_id}_微信.png", proof("w"))])
    response = post_archive(api(manager), f"/api/v1/cases/{evidence_case.pk}/evidence/bulk/", data)
    assert response.json()["files"][0]["kind"] == "chat_log"
    assert response.json()["status"] == BatchStatus.PREVIEWED


def test_an_upload_past_the_limit_is_cut_off_with_400_also_for_a_browser_session(
    evidence_case: Case, orders: list[FlaggedOrder], alice: Any, settings: Any
) -> None:
    settings.EVIDENCE_BULK_MAX_ARCHIVE_BYTES = 2048
    data = make_zip([(f"{orders[0].platform_order_id}/{index}_聊天.png", os.urandom(900)) for index in range(4)])
    assert len(data) > 2048
    client = session_client(alice)  # the CSRF check reads the form first
    response = post_archive(client, f"/api/v1/portal/cases/{evidence_case.pk}/evidence/bulk/", data)

    assert response.status_code == 400, response.content
    assert "limit" in response.json()["error"]["details"]["fields"]["file"][0]
    assert not EvidenceBatch.objects.exists()


def test_anonymous_callers_get_nothing_and_no_batch_is_made(
    api: Callable[..., APIClient], evidence_case: Case, orders: list[FlaggedOrder], alice: Any
) -> None:
    batch = post_archive(api(alice), f"/api/v1/portal/cases/{evidence_case.pk}/evidence/bulk/", archive_for(orders))
    batch_id = batch.json()["id"]
    anonymous = api()
    for method, path in (
        ("post", f"/api/v1/cases/{evidence_case.pk}/evidence/bulk/"),
        ("post", f"/api/v1/portal/cases/{evidence_case.pk}/evidence/bulk/"),
        ("get", f"/api/v1/cases/{evidence_case.pk}/evidence/bulk/"),
        ("get", f"/api/v1/evidence-batches/{batch_id}/"),
        ("post", f"/api/v1/evidence-batches/{batch_id}/commit/"),
        ("post", f"/api/v1/portal/evidence-batches/{batch_id}/cancel/"),
        ("get", "/api/v1/evidence-kind-keywords/"),
        ("put", "/api/v1/evidence-kind-keywords/chat_log/"),
    ):
        response = getattr(anonymous, method)(path, {}, format="json")
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.json()["error"]["code"] == "not_authenticated"
    assert EvidenceBatch.objects.get().status == BatchStatus.PREVIEWED
    assert not EvidenceItem.objects.exists()
