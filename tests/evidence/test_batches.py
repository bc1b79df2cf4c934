"""Bulk evidence (``evidence.batches``): an archive read into a preview, committed as evidence items in one
transaction, as a job for large archives, cancelled, resumed after a worker died, and never stored twice."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.utils import timezone

from agency.errors import Conflict, InvalidInput, InvalidState, NotFound
from cases.models import Case, CaseEvent, EventKind, FlaggedOrder
from casework import services as case_services
from evidence import batches
from evidence.models import BatchStatus, EvidenceBatch, EvidenceItem, EvidenceRequest, ReviewState
from evidence.requests import evidence_request_create
from integrations.models import EventType, OutboxEvent
from tests.conftest import requires_postgres
from tests.evidence.samples import CHAT, EXE, PDF, stored_files
from tests.evidence.zips import encrypted_entry, gbk_zip, make_zip, proof, symlink_entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(evidence_case: Case) -> list[FlaggedOrder]:
    return list(evidence_case.flagged_orders.order_by("id"))


def zip_upload(data: bytes, name: str = "evidence.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/zip")


def send(case: Case, actor: Any, data: bytes, **kwargs: Any) -> EvidenceBatch:
    return batches.batch_create(case_id=case.pk, actor=actor, file=zip_upload(data), **kwargs)


def preview_of(batch: EvidenceBatch) -> dict[str, Any]:
    assert batch.preview is not None, batch.status
    return dict(batch.preview)


def by_path(batch: EvidenceBatch) -> dict[str, dict[str, Any]]:
    return {row["path"]: row for row in preview_of(batch)["files"]}


def four_kinds(order: FlaggedOrder, tag: str = "") -> list[tuple[str, bytes]]:
    """One physical order's four proofs, in a folder named by its order id."""
    folder = order.platform_order_id
    return [
        (f"{folder}/聊天记录.png", proof(f"chat{order.pk}{tag}")),
        (f"{folder}/快递面单.png", proof(f"slip{order.pk}{tag}")),
        (f"{folder}/签收底单.png", proof(f"signed{order.pk}{tag}")),
        (f"{folder}/物流轨迹.png", proof(f"track{order.pk}{tag}")),
    ]


# --- Matching, in the preview ---------------------------------------------------------------------------


def test_a_folder_per_order_matches_every_file_and_the_preview_says_which_orders_it_completes(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    batch = send(evidence_case, manager, make_zip(four_kinds(orders[0]) + four_kinds(orders[1])[:2]))

    assert batch.status == BatchStatus.PREVIEWED
    files = by_path(batch)
    assert {(row["order"], row["kind"], row["matched_by"], row["status"]) for row in files.values()} == {
        (orders[0].pk, "chat_log", "folder", "ready"),
        (orders[0].pk, "shipping_slip", "folder", "ready"),
        (orders[0].pk, "signed_delivery", "folder", "ready"),
        (orders[0].pk, "courier_tracking", "folder", "ready"),
        (orders[1].pk, "chat_log", "folder", "ready"),
        (orders[1].pk, "shipping_slip", "folder", "ready"),
    }
    assert preview_of(batch)["totals"]["ready"] == 6
    summary = {row["order"]: row for row in preview_of(batch)["orders"]}
    assert summary[orders[0].pk]["missing_after"] == []
    assert summary[orders[1].pk]["completes"] == ["chat_log", "shipping_slip"]
    assert summary[orders[1].pk]["missing_after"] == ["signed_delivery", "courier_tracking"]
    # A dry run stores nothing: no item, no history, no file but the archive.
    assert not EvidenceItem.objects.filter(case=evidence_case).exists()
    assert not CaseEvent.objects.filter(case=evidence_case, kind=EventKind.EVIDENCE_BATCH_UPLOADED).exists()
    assert batch.archive


def test_file_names_match_by_order_id_and_by_tracking_number(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    archive = make_zip(
        [
            (f"chat_{orders[0].platform_order_id}.png", proof("a")),
            (f"面单-{orders[1].tracking_number.lower()}.png", proof("b")),
            (f"物流/{orders[2].tracking_number}.png", proof("c")),
        ]
    )
    files = by_path(send(evidence_case, manager, archive))

    assert files[f"chat_{orders[0].platform_order_id}.png"]["order"] == orders[0].pk
    assert files[f"chat_{orders[0].platform_order_id}.png"]["matched_by"] == "file_name"
    assert files[f"面单-{orders[1].tracking_number.lower()}.png"]["order"] == orders[1].pk
    assert files[f"面单-{orders[1].tracking_number.lower()}.png"]["kind"] == "shipping_slip"
    tracked = files[f"物流/{orders[2].tracking_number}.png"]
    assert (tracked["order"], tracked["kind"], tracked["kind_by"]) == (orders[2].pk, "courier_tracking", "folder")


def test_a_manifest_says_where_each_file_goes(evidence_case: Case, orders: list[FlaggedOrder], manager: Any) -> None:
    manifest = (
        "file,order,kind\n"
        f"scans/a.png,{orders[0].platform_order_id},shipping_slip\n"
        f"scans/b.png,{orders[1].tracking_number},签收\n"
        "scans/c.png,1234567,chat_log\n"
    ).encode("gbk")
    archive = make_zip(
        [
            ("manifest.csv", manifest),
            ("scans/a.png", proof("a")),
            ("scans/b.png", proof("b")),
            ("scans/c.png", proof("c")),
        ]
    )
    files = by_path(send(evidence_case, manager, archive))

    assert files["manifest.csv"]["status"] == "manifest"
    assert (files["scans/a.png"]["order"], files["scans/a.png"]["kind"]) == (orders[0].pk, "shipping_slip")
    assert files["scans/a.png"]["matched_by"] == "manifest"
    assert (files["scans/b.png"]["order"], files["scans/b.png"]["kind"]) == (orders[1].pk, "signed_delivery")
    assert files["scans/c.png"]["status"] == "unmatched"
    assert "1234567" in files["scans/c.png"]["reason"]


def test_gbk_names_from_chinese_windows_come_out_as_chinese(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    name = f"订单{orders[0].platform_order_id}/千牛聊天截图.png"
    batch = send(evidence_case, manager, gbk_zip([(name, proof("a"))]), dry_run=False)

    assert list(by_path(batch)) == [name]
    item = EvidenceItem.objects.get(batch=batch)
    assert (item.original_name, item.kind, item.order_id) == ("千牛聊天截图.png", "chat_log", orders[0].pk)


def test_ambiguous_and_unmatched_files_are_reported_with_their_candidates_never_guessed(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    first, second = orders[0].platform_order_id, orders[1].platform_order_id
    archive = make_zip(
        [
            (f"{first}_{second}_聊天.png", proof("two")),
            (f"{first}/{second}_聊天.png", proof("conflict")),
            ("IMG_0001.png", proof("none")),
            (f"{first}/scan.png", proof("nokind")),
            (f"{first}/签收物流.png", proof("twokinds")),
        ]
    )
    batch = send(evidence_case, manager, archive, dry_run=False)
    files = by_path(batch)

    assert files[f"{first}_{second}_聊天.png"]["status"] == "ambiguous"
    assert {c["order"] for c in files[f"{first}_{second}_聊天.png"]["candidates"]} == {orders[0].pk, orders[1].pk}
    assert files[f"{first}/{second}_聊天.png"]["status"] == "ambiguous"
    assert files["IMG_0001.png"]["status"] == "unmatched"
    assert files[f"{first}/scan.png"]["status"] == "kind_unknown"
    assert files[f"{first}/签收物流.png"]["status"] == "kind_unknown"
    # Committed: nothing that was not matched is stored.
    assert batch.status == BatchStatus.COMMITTED
    assert batch.stored_count == 0
    assert not EvidenceItem.objects.filter(case=evidence_case).exists()


def test_every_refusal_is_listed_with_its_reason(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any, settings: Any
) -> None:
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 2000
    folder = orders[0].platform_order_id
    archive = make_zip(
        [
            (f"{folder}/聊天.exe", EXE),
            (f"{folder}/面单.pdf", proof("png named pdf")),
            (f"{folder}/签收.png", b"\x89PNG" + b"\x00" * 3000),
            (f"{folder}/物流.png", b""),
            (f"{folder}/聊天记录.txt", CHAT.encode()),
            (f"{folder}/聊天记录 (copy).txt", CHAT.encode()),
            (f"{folder}/secret_面单.png", proof("secret")),
            (f"{folder}/link_面单.png", b"/etc/passwd"),
            ("../evil_面单.png", proof("evil")),
            ("/abs/面单.png", proof("abs")),
            (".DS_Store", b"mac"),
            ("__MACOSX/x/._面单.png", b"mac"),
            ("Thumbs.db", b"win"),
        ]
    )
    archive = encrypted_entry(archive, f"{folder}/secret_面单.png")
    archive = symlink_entry(archive, f"{folder}/link_面单.png")
    batch = send(evidence_case, manager, archive)
    files = by_path(batch)

    assert files[f"{folder}/聊天.exe"]["status"] == "refused"
    assert files[f"{folder}/面单.pdf"]["status"] == "refused"
    assert ".pdf" in files[f"{folder}/面单.pdf"]["reason"]
    assert files[f"{folder}/签收.png"]["status"] == "too_large"
    assert files[f"{folder}/物流.png"]["status"] == "empty"
    assert files[f"{folder}/聊天记录.txt"]["status"] == "ready"
    assert files[f"{folder}/聊天记录 (copy).txt"]["status"] == "duplicate_in_archive"
    assert files[f"{folder}/secret_面单.png"]["status"] == "encrypted"
    assert files[f"{folder}/link_面单.png"]["status"] == "symlink"
    assert files["../evil_面单.png"]["status"] == "unsafe_path"
    assert files["/abs/面单.png"]["status"] == "unsafe_path"
    assert sorted(preview_of(batch)["ignored"]) == [".DS_Store", "Thumbs.db", "__MACOSX/x/._面单.png"]
    assert all(row["reason"] for row in files.values() if row["status"] != "ready")


def test_a_file_already_stored_for_the_order_is_a_duplicate(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    folder = orders[0].platform_order_id
    first = send(evidence_case, manager, make_zip([(f"{folder}/面单.png", proof("same"))]), dry_run=False)
    stored = EvidenceItem.objects.get(batch=first)
    second = send(
        evidence_case,
        manager,
        make_zip([(f"{folder}/面单 again.png", proof("same")), (f"{folder}/聊天.png", proof("new"))]),
        dry_run=False,
    )
    files = by_path(second)

    assert files[f"{folder}/面单 again.png"]["status"] == "duplicate_stored"
    assert files[f"{folder}/面单 again.png"]["duplicate_of"] == stored.pk
    assert second.stored_count == 1


def test_an_excluded_order_needs_no_evidence_unless_the_mapping_says_so(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    case_services.flagged_order_set_excluded(
        case_id=evidence_case.pk, order_id=orders[2].pk, actor=manager, excluded=True, reason="Genuine violation."
    )
    name = f"{orders[2].platform_order_id}/面单.png"
    batch = send(evidence_case, manager, make_zip([(name, proof("x"))]))
    assert by_path(batch)[name]["status"] == "order_excluded"

    batch = batches.batch_commit(
        actor=manager, batch_id=batch.pk, mapping={name: {"order": orders[2].platform_order_id}}
    )
    assert batch.status == BatchStatus.COMMITTED
    assert EvidenceItem.objects.get(batch=batch).order_id == orders[2].pk


def test_the_mapping_assigns_unmatched_files_and_skips_others(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    archive = make_zip(
        [
            ("IMG_0001.png", proof("a")),
            ("IMG_0002.png", proof("b")),
            (f"{orders[0].platform_order_id}/面单.png", proof("c")),
        ]
    )
    batch = send(evidence_case, manager, archive)
    assert preview_of(batch)["totals"]["ready"] == 1

    mapping = {
        "IMG_0001.png": {"order": orders[1].tracking_number, "kind": "signed_delivery"},
        f"{orders[0].platform_order_id}/面单.png": "skip",
    }
    batch = batches.batch_commit(actor=manager, batch_id=batch.pk, mapping=mapping)
    files = by_path(batch)

    assert files["IMG_0001.png"]["status"] == "stored"
    assert files["IMG_0001.png"]["matched_by"] == "mapping"
    assert files["IMG_0002.png"]["status"] == "unmatched"
    assert files[f"{orders[0].platform_order_id}/面单.png"]["status"] == "skipped"
    item = EvidenceItem.objects.get(batch=batch)
    assert (item.order_id, item.kind) == (orders[1].pk, "signed_delivery")


def test_a_mapping_naming_what_does_not_exist_is_refused_and_changes_nothing(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    batch = send(evidence_case, manager, make_zip([("IMG_0001.png", proof("a"))]))

    for mapping, expected in (
        ({"nope.png": {"kind": "chat_log"}}, "nope.png"),
        ({"IMG_0001.png": {"order": "999"}}, "999"),
        ({"IMG_0001.png": {"kind": "selfie"}}, "selfie"),
        ({"IMG_0001.png": 3}, "IMG_0001.png"),
    ):
        with pytest.raises(InvalidInput) as raised:
            batches.batch_commit(actor=manager, batch_id=batch.pk, mapping=mapping)
        assert expected in " ".join(raised.value.details["fields"]["mapping"])
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PREVIEWED
    assert batch.mapping == {}


# --- Commit ----------------------------------------------------------------------------------------------


def test_a_commit_stores_every_matched_file_pending_review_with_one_history_row_and_one_event(
    evidence_case: Case, orders: list[FlaggedOrder], alice: Any
) -> None:
    archive = make_zip([*four_kinds(orders[0]), ("IMG_0001.png", proof("stray"))])
    events_before = OutboxEvent.objects.filter(case=evidence_case).count()
    batch = send(evidence_case, alice, archive, dry_run=False, note="From the warehouse.")

    assert batch.status == BatchStatus.COMMITTED
    items = list(EvidenceItem.objects.filter(batch=batch).order_by("id"))
    assert len(items) == 4 == batch.stored_count
    assert {item.review_state for item in items} == {ReviewState.PENDING}
    assert {item.source for item in items} == {"client"}
    assert {item.uploaded_by_id for item in items} == {alice.pk}
    assert {item.note for item in items} == {"From the warehouse."}
    sent = {name.split("/")[-1]: content for name, content in four_kinds(orders[0])}
    for item in items:
        with item.file.open("rb") as stored:
            assert stored.read() == sent[item.original_name]
    recorded = CaseEvent.objects.get(case=evidence_case, kind=EventKind.EVIDENCE_BATCH_UPLOADED).new_value
    assert isinstance(recorded, dict)
    assert recorded["stored"] == 4
    assert recorded["not_stored"] == 1
    assert recorded["archive_sha256"] == batch.archive_sha256
    assert recorded["archive_name"] == "evidence.zip"
    assert not CaseEvent.objects.filter(case=evidence_case, kind=EventKind.EVIDENCE_UPLOADED).exists()
    new_events = OutboxEvent.objects.filter(case=evidence_case).order_by("sequence")[events_before:]
    assert [event.type for event in new_events] == [EventType.EVIDENCE_BATCH_UPLOADED]
    # The archive is not kept once its files are evidence.
    assert not batch.archive
    assert not EvidenceBatch.objects.get(pk=batch.pk).archive


def test_a_commit_fulfils_the_evidence_requests_it_answers(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any, alice: Any
) -> None:
    request = evidence_request_create(
        case_id=evidence_case.pk,
        actor=manager,
        items=[{"order": orders[0].pk, "kind": "chat_log"}, {"order": orders[0].pk, "kind": "shipping_slip"}],
        due_at=timezone.now() + dt.timedelta(days=3),
    )
    send(evidence_case, alice, make_zip(four_kinds(orders[0])), dry_run=False)

    request.refresh_from_db()
    assert request.status == "fulfilled"
    assert CaseEvent.objects.filter(case=evidence_case, kind=EventKind.EVIDENCE_REQUEST_FULFILLED).count() == 1


def test_a_commit_is_all_or_nothing(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = send(evidence_case, manager, make_zip(four_kinds(orders[0])))
    before = stored_files()
    batch_archive = batch.archive.name

    def fail(**kwargs: Any) -> None:
        raise RuntimeError("the database went away after the items were inserted")

    monkeypatch.setattr(batches, "request_items_fulfil_many", fail)
    with pytest.raises(RuntimeError):
        batches.batch_commit(actor=manager, batch_id=batch.pk)

    assert not EvidenceItem.objects.filter(case=evidence_case).exists()
    assert not CaseEvent.objects.filter(case=evidence_case, kind=EventKind.EVIDENCE_BATCH_UPLOADED).exists()
    monkeypatch.undo()
    # Committed again, it stores everything once.
    batch = batches.batch_commit(actor=manager, batch_id=batch.pk)
    assert batch.stored_count == 4
    items = {item.file.name for item in EvidenceItem.objects.filter(batch=batch)}
    assert stored_files() == (before - {batch_archive}) | items  # the four files written once, the archive gone


def test_committing_a_committed_batch_again_stores_nothing_more(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    batch = send(evidence_case, manager, make_zip(four_kinds(orders[0])))
    batches.batch_commit(actor=manager, batch_id=batch.pk)
    again = batches.batch_commit(actor=manager, batch_id=batch.pk)

    assert again.status == BatchStatus.COMMITTED
    assert EvidenceItem.objects.filter(case=evidence_case).count() == 4
    assert CaseEvent.objects.filter(case=evidence_case, kind=EventKind.EVIDENCE_BATCH_UPLOADED).count() == 1


def test_the_same_archive_sent_again_is_refused_by_name(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    archive = make_zip(four_kinds(orders[0]))
    first = send(evidence_case, manager, archive, dry_run=False)
    preview = send(evidence_case, manager, archive)  # a dry run says every file is stored already
    assert preview_of(preview)["totals"]["by_status"] == {"duplicate_stored": 4}

    with pytest.raises(Conflict) as raised:
        send(evidence_case, manager, archive, dry_run=False)
    assert raised.value.code == "archive_already_committed"
    assert raised.value.details == {"batch": first.pk}
    with pytest.raises(Conflict):
        batches.batch_commit(actor=manager, batch_id=preview.pk)
    assert EvidenceItem.objects.filter(case=evidence_case).count() == 4


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_commits_of_one_archive_store_it_once(
    case_in: Callable[..., Case], manager: Any, supervisor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = case_in("evidence", orders=3, with_evidence=False)
    order = case.flagged_orders.order_by("id").first()
    assert order is not None
    archive = make_zip(four_kinds(order))
    previews = [send(case, actor, archive) for actor in (manager, supervisor)]
    # Both have written their files and read the plan before either takes the case's row.
    both_ready = threading.Barrier(2, timeout=30)
    original = batches._commit_rows

    def wait_then_commit(batch: EvidenceBatch, hold: Any, written: set[int]) -> None:
        both_ready.wait()
        original(batch, hold, written)

    monkeypatch.setattr(batches, "_commit_rows", wait_then_commit)
    outcomes: list[Any] = [None, None]

    def commit(index: int, actor: Any) -> None:
        try:
            outcomes[index] = batches.batch_commit(actor=actor, batch_id=previews[index].pk)
        except BaseException as exc:  # reported by the main thread
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=commit, args=(index, actor)) for index, actor in enumerate((manager, supervisor))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    committed = [outcome for outcome in outcomes if isinstance(outcome, EvidenceBatch)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
    assert len(committed) == 1, outcomes
    assert len(refused) == 1, outcomes
    assert refused[0].code == "archive_already_committed"
    assert EvidenceItem.objects.filter(case=case).count() == 4
    assert EvidenceBatch.objects.filter(case=case, status=BatchStatus.COMMITTED).count() == 1
    assert CaseEvent.objects.filter(case=case, kind=EventKind.EVIDENCE_BATCH_UPLOADED).count() == 1
    loser = EvidenceBatch.objects.get(pk=previews[outcomes.index(refused[0])].pk)
    assert loser.status == BatchStatus.PREVIEWED
    assert loser.error is not None
    assert loser.error["code"] == "archive_already_committed"


# --- Refused requests --------------------------------------------------------------------------------------


def test_what_is_not_a_zip_archive_is_refused_and_nothing_is_kept(evidence_case: Case, manager: Any) -> None:
    before = stored_files()
    with pytest.raises(InvalidInput) as raised:
        batches.batch_create(case_id=evidence_case.pk, actor=manager, file=SimpleUploadedFile("evidence.pdf", PDF))
    assert "not a ZIP archive" in raised.value.details["fields"]["file"][0]
    with pytest.raises(InvalidInput) as raised:
        batches.batch_create(case_id=evidence_case.pk, actor=manager)
    assert "file" in raised.value.details["fields"]
    assert not EvidenceBatch.objects.exists()
    assert stored_files() == before


def test_a_zip_bomb_is_refused_before_it_is_stored(evidence_case: Case, manager: Any) -> None:
    from tests.evidence.zips import bomb

    before = stored_files()
    with pytest.raises(InvalidInput) as raised:
        send(evidence_case, manager, bomb(megabytes=5))
    assert "ZIP bomb" in raised.value.details["fields"]["file"][0]
    assert not EvidenceBatch.objects.exists()
    assert stored_files() == before


def test_a_closed_case_takes_no_bulk_evidence(case_in: Callable[..., Case], manager: Any) -> None:
    case = case_in("closed")
    with pytest.raises(InvalidState):
        send(case, manager, make_zip([("a.png", proof("a"))]))


def test_a_client_of_another_organisation_gets_not_found(evidence_case: Case, charlie: Any, alice: Any) -> None:
    with pytest.raises(NotFound):
        send(evidence_case, charlie, make_zip([("a.png", proof("a"))]))
    batch = send(evidence_case, alice, make_zip([("a.png", proof("a"))]))
    for action in (batches.batch_get, batches.batch_commit, batches.batch_cancel):
        with pytest.raises(NotFound):
            action(actor=charlie, batch_id=batch.pk)


def test_clients_do_not_see_what_staff_sent(evidence_case: Case, manager: Any, alice: Any) -> None:
    batch = send(evidence_case, manager, make_zip([("a.png", proof("a"))]))
    with pytest.raises(NotFound):
        batches.batch_get(actor=alice, batch_id=batch.pk)
    assert batches.batch_get(actor=manager, batch_id=batch.pk) == batch


# --- Several files instead of an archive ----------------------------------------------------------------


def test_several_files_are_matched_as_an_archive_would_be(
    evidence_case: Case, orders: list[FlaggedOrder], alice: Any
) -> None:
    files = [
        SimpleUploadedFile(f"{orders[0].platform_order_id}_聊天.png", proof("a")),
        SimpleUploadedFile(f"{orders[1].tracking_number}_面单.png", proof("b")),
        SimpleUploadedFile("inner.zip", make_zip([(f"{orders[2].tracking_number}/签收.png", proof("c"))])),
    ]
    batch = batches.batch_create(case_id=evidence_case.pk, actor=alice, files=files, dry_run=False)

    assert batch.archive_name == "3 files"
    assert batch.stored_count == 3
    assert by_path(batch)[f"inner.zip/{orders[2].tracking_number}/签收.png"]["order"] == orders[2].pk


# --- Jobs -------------------------------------------------------------------------------------------------


@pytest.fixture
def queued(settings: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every archive is a job; the batches queued for a worker, instead of sent to a broker."""
    settings.EVIDENCE_BULK_INLINE_MAX_BYTES = 10
    calls: list[int] = []
    monkeypatch.setattr(batches, "_queue", calls.append)
    return calls


def test_a_large_archive_is_left_to_a_worker_which_reads_and_stores_it(
    evidence_case: Case,
    orders: list[FlaggedOrder],
    manager: Any,
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        batch = send(evidence_case, manager, make_zip(four_kinds(orders[0]) + four_kinds(orders[1])), dry_run=False)
    assert batch.status == BatchStatus.RECEIVED
    assert batch.preview is None
    assert queued == [batch.pk]

    batches.batch_work(batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED
    assert (batch.progress_done, batch.progress_total) == (8, 8)
    assert batch.lease_until is None
    assert EvidenceItem.objects.filter(batch=batch).count() == 8


def test_a_job_previews_then_waits_for_the_commit(
    evidence_case: Case,
    orders: list[FlaggedOrder],
    manager: Any,
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        batch = send(evidence_case, manager, make_zip(four_kinds(orders[0])))
    batches.batch_work(batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PREVIEWED
    assert not EvidenceItem.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        batch = batches.batch_commit(actor=manager, batch_id=batch.pk)
    assert batch.status == BatchStatus.COMMITTING
    assert queued == [batch.pk, batch.pk]
    batches.batch_work(batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED
    assert EvidenceItem.objects.filter(batch=batch).count() == 4


def test_a_worker_does_not_take_a_batch_another_worker_holds(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any, queued: list[int]
) -> None:
    batch = send(evidence_case, manager, make_zip(four_kinds(orders[0])))
    EvidenceBatch.objects.filter(pk=batch.pk).update(lease_until=timezone.now() + dt.timedelta(minutes=1))

    batches.batch_work(batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RECEIVED
    assert batches.batches_resume(queue=queued.append) == []


def test_a_job_whose_worker_died_is_resumed_and_its_files_written_once(
    evidence_case: Case,
    orders: list[FlaggedOrder],
    manager: Any,
    queued: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch = send(evidence_case, manager, make_zip(four_kinds(orders[0]) + four_kinds(orders[1])), dry_run=False)
    monkeypatch.setattr(batches, "PROGRESS_EVERY", 1)

    # The first worker dies after writing three files.
    original_progress = batches._progress

    def die_after_three(batch: EvidenceBatch, hold: Any, done: int, total: int) -> None:
        original_progress(batch, hold, done, total)
        if batch.status == BatchStatus.COMMITTING and done == 3:
            raise SystemExit("worker killed")

    monkeypatch.setattr(batches, "_progress", die_after_three)
    with pytest.raises(SystemExit):
        batches.batch_work(batch.pk)
    monkeypatch.setattr(batches, "_progress", original_progress)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTING
    assert batch.progress_done == 3
    assert not EvidenceItem.objects.exists()

    # Its lease runs out; the sweep hands the batch to the next worker, which resumes.
    EvidenceBatch.objects.filter(pk=batch.pk).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    assert batches.batches_resume(queue=queued.append) == [batch.pk]
    saves: list[str] = []
    storage = batches.evidence_storage()
    original_save = type(storage).save

    def counting_save(self: Any, name: str, *args: Any, **kwargs: Any) -> str:
        saves.append(name)
        return original_save(self, name, *args, **kwargs)

    monkeypatch.setattr(type(storage), "save", counting_save)
    batches.batch_work(batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED
    assert len(saves) == 8 - 3
    assert EvidenceItem.objects.filter(batch=batch).count() == 8
    assert CaseEvent.objects.filter(case=evidence_case, kind=EventKind.EVIDENCE_BATCH_UPLOADED).count() == 1


def test_a_batch_is_cancelled_before_commit_and_its_files_go(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = stored_files()
    batch = send(evidence_case, manager, make_zip(four_kinds(orders[0])))
    assert stored_files() != before
    with django_capture_on_commit_callbacks(execute=True):
        batches.batch_cancel(actor=manager, batch_id=batch.pk)
    batch.refresh_from_db()

    assert batch.status == BatchStatus.CANCELLED
    assert stored_files() == before
    with pytest.raises(InvalidState):
        batches.batch_commit(actor=manager, batch_id=batch.pk)
    committed = send(evidence_case, manager, make_zip([("x/IMG.png", proof("x"))]), dry_run=False)
    with pytest.raises(InvalidState):
        batches.batch_cancel(actor=manager, batch_id=committed.pk)


def test_a_worker_stops_reading_a_batch_cancelled_meanwhile(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any, queued: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = send(evidence_case, manager, make_zip(four_kinds(orders[0]) + four_kinds(orders[1])))
    monkeypatch.setattr(batches, "PROGRESS_EVERY", 1)
    original_progress = batches._progress

    def cancel_midway(batch: EvidenceBatch, hold: Any, done: int, total: int) -> None:
        if done == 2:
            EvidenceBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.CANCELLED)
        original_progress(batch, hold, done, total)

    monkeypatch.setattr(batches, "_progress", cancel_midway)
    batches.batch_work(batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELLED
    assert batch.preview is None
    assert batch.progress_done < 8


def test_a_batch_never_committed_expires_and_its_archive_goes(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any, settings: Any
) -> None:
    before = stored_files()
    batch = send(evidence_case, manager, make_zip(four_kinds(orders[0])))
    assert batches.batches_expire() == 0
    EvidenceBatch.objects.filter(pk=batch.pk).update(
        updated_at=timezone.now() - dt.timedelta(hours=settings.EVIDENCE_BATCH_KEEP_HOURS, minutes=1)
    )
    assert batches.batches_expire() == 1
    batch.refresh_from_db()
    assert batch.status == BatchStatus.EXPIRED
    assert stored_files() == before


def test_a_job_whose_archive_turns_out_unreadable_fails_with_the_reason(
    evidence_case: Case, manager: Any, queued: list[int], settings: Any
) -> None:
    settings.EVIDENCE_BULK_MAX_ENTRIES = 2
    inner = make_zip([(f"{index}.png", proof(str(index))) for index in range(3)])
    batch = send(evidence_case, manager, make_zip([("inner.zip", inner)]))
    batches.batch_work(batch.pk)
    batch.refresh_from_db()

    assert batch.status == BatchStatus.FAILED
    assert batch.error is not None
    assert "3 files" in batch.error["message"]
    assert not batch.archive
    assert not EvidenceRequest.objects.exists()


def test_a_batch_that_fails_every_worker_is_given_up(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any, queued: list[int]
) -> None:
    batch = send(evidence_case, manager, make_zip(four_kinds(orders[0])))
    expired = timezone.now() - dt.timedelta(seconds=1)
    EvidenceBatch.objects.filter(pk=batch.pk).update(lease_until=expired, attempts=batches.MAX_ATTEMPTS - 1)
    assert batches.batches_resume(queue=queued.append) == [batch.pk]

    EvidenceBatch.objects.filter(pk=batch.pk).update(lease_until=expired, attempts=batches.MAX_ATTEMPTS)
    assert batches.batches_resume(queue=queued.append) == []
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    assert batch.error is not None
    assert batch.error["code"] == "gave_up"
    assert not batch.archive


def test_a_mapping_naming_a_file_not_in_the_archive_is_refused_before_anything_is_kept(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any
) -> None:
    with pytest.raises(InvalidInput) as raised:
        send(evidence_case, manager, make_zip([("IMG_0001.png", proof("a"))]), mapping={"IMG_0002.png": "skip"})
    assert "IMG_0002.png" in raised.value.details["fields"]["mapping"][0]
    assert not EvidenceBatch.objects.exists()


def test_a_job_does_not_commit_with_a_mapping_for_files_it_does_not_hold(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any, queued: list[int]
) -> None:
    batch = send(
        evidence_case,
        manager,
        make_zip(four_kinds(orders[0])),
        dry_run=False,
        mapping={"typo.png": {"kind": "chat_log"}},
    )
    batches.batch_work(batch.pk)
    batch.refresh_from_db()

    assert batch.status == BatchStatus.PREVIEWED
    assert batch.error is not None
    assert "typo.png" in batch.error["message"]
    assert preview_of(batch)["mapping_unused"] == ["typo.png"]
    assert not EvidenceItem.objects.exists()


def test_the_archive_of_a_batch_committed_just_before_its_worker_died_is_deleted_later(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = send(evidence_case, manager, make_zip(four_kinds(orders[0])))
    archive = batch.archive.name
    monkeypatch.setattr(batches, "_delete_archive", lambda batch: None)  # the worker dies right after the commit
    batches.batch_commit(actor=manager, batch_id=batch.pk)
    monkeypatch.undo()
    assert archive in stored_files()

    batches.batches_expire()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED
    assert not batch.archive
    assert archive not in stored_files()


# --- Found in review: double commits, lost leases, a plan that changes while files are written ------------


def test_a_second_commit_while_the_first_is_storing_finds_it_being_stored(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = send(evidence_case, manager, make_zip(four_kinds(orders[0])))
    original_write = batches._write_files
    second: list[EvidenceBatch] = []

    def double_click(*args: Any) -> None:
        second.append(batches.batch_commit(actor=manager, batch_id=batch.pk))  # the same button, again
        original_write(*args)

    monkeypatch.setattr(batches, "_write_files", double_click)
    first = batches.batch_commit(actor=manager, batch_id=batch.pk)

    assert second[0].status == BatchStatus.COMMITTING
    assert first.status == BatchStatus.COMMITTED
    items = EvidenceItem.objects.filter(case=evidence_case)
    assert items.count() == 4
    for item in items:
        with item.file.open("rb") as stored:
            assert stored.read().startswith(b"\x89PNG")
    assert CaseEvent.objects.filter(case=evidence_case, kind=EventKind.EVIDENCE_BATCH_UPLOADED).count() == 1


def test_a_worker_whose_lease_was_taken_over_stops_without_touching_the_files(
    evidence_case: Case,
    orders: list[FlaggedOrder],
    manager: Any,
    queued: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch = send(evidence_case, manager, make_zip(four_kinds(orders[0]) + four_kinds(orders[1])), dry_run=False)
    monkeypatch.setattr(batches, "PROGRESS_EVERY", 1)
    original_progress = batches._progress

    def taken_over_after_three(batch: EvidenceBatch, hold: Any, done: int, total: int) -> None:
        if batch.status == BatchStatus.COMMITTING and done == 3:
            # The lease ran out while this worker was slow, and another worker claimed the batch.
            EvidenceBatch.objects.filter(pk=batch.pk).update(lease_token="another-worker")
        original_progress(batch, hold, done, total)

    monkeypatch.setattr(batches, "_progress", taken_over_after_three)
    batches.batch_work(batch.pk)  # returns quietly: the batch is not its own any more
    monkeypatch.setattr(batches, "_progress", original_progress)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTING
    assert batch.lease_token == "another-worker"
    written = {name for name in stored_files() if name.startswith(f"batches/{batch.storage_token}/")}
    assert len(written) == 3  # kept for the worker that holds the batch now
    assert batch.archive

    EvidenceBatch.objects.filter(pk=batch.pk).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    batches.batch_work(batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED
    assert EvidenceItem.objects.filter(batch=batch).count() == 8


def test_a_file_that_becomes_storable_while_the_others_are_written_makes_the_commit_try_again(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any, administrator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evidence.keywords import kind_keywords_update

    first = orders[0].platform_order_id
    batch = send(
        evidence_case, manager, make_zip([(f"{first}/面单.png", proof("a")), (f"{first}/微信.png", proof("b"))])
    )
    assert by_path(batch)[f"{first}/微信.png"]["status"] == "kind_unknown"
    original_write = batches._write_files

    def keywords_change_meanwhile(*args: Any) -> None:
        original_write(*args)
        kind_keywords_update(kind="chat_log", actor=administrator, words=["聊天", "微信"])

    monkeypatch.setattr(batches, "_write_files", keywords_change_meanwhile)
    with pytest.raises(Conflict) as raised:
        batches.batch_commit(actor=manager, batch_id=batch.pk)
    assert raised.value.code == "batch_changed"
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PREVIEWED
    assert not EvidenceItem.objects.exists()

    monkeypatch.setattr(batches, "_write_files", original_write)
    batch = batches.batch_commit(actor=manager, batch_id=batch.pk)
    assert batch.stored_count == 2
    for item in EvidenceItem.objects.filter(batch=batch):
        with item.file.open("rb") as stored:
            assert stored.read() in (proof("a"), proof("b"))


def test_items_committed_by_staff_from_a_clients_batch_are_the_clients_uploads(
    evidence_case: Case, orders: list[FlaggedOrder], alice: Any, manager: Any
) -> None:
    batch = send(evidence_case, alice, make_zip(four_kinds(orders[0])))
    batches.batch_commit(actor=manager, batch_id=batch.pk)

    assert {(item.source, item.uploaded_by_id) for item in EvidenceItem.objects.filter(batch=batch)} == {
        ("client", alice.pk)
    }
    event = CaseEvent.objects.get(case=evidence_case, kind=EventKind.EVIDENCE_BATCH_UPLOADED)
    assert event.actor_id == manager.pk


def test_a_cancellation_while_a_worker_reads_is_not_undone(
    evidence_case: Case, orders: list[FlaggedOrder], manager: Any, queued: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = send(evidence_case, manager, make_zip(four_kinds(orders[0])), dry_run=False)
    original_local = batches._local_archive

    @contextlib.contextmanager
    def cancelled_while_copying(batch: EvidenceBatch) -> Any:
        with original_local(batch) as archive_file:
            EvidenceBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.CANCELLED)
            yield archive_file

    monkeypatch.setattr(batches, "_local_archive", cancelled_while_copying)
    batches.batch_work(batch.pk)
    batch.refresh_from_db()

    assert batch.status == BatchStatus.CANCELLED
    assert batch.preview is None
    assert not EvidenceItem.objects.exists()
