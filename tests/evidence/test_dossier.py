"""The appeal dossier: the streamed ZIP unzipped and checked file by file, who may download it, and its query count."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agency.accounts.models import User
from agency.organisations.models import Shop
from cases.models import AppealAttempt, Case, FlaggedOrder
from evidence.dossier import DossierIntegrityError, safe_name
from evidence.models import EvidenceCheck, EvidenceItem
from tests.evidence.samples import tamper
from tests.factories import PNG_HEADER, evidence_item

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n" + b"shipping slip " * 50
ZIP_MAGIC = b"PK\x03\x04"


def url(case: Case, **params: Any) -> str:
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return f"/api/v1/cases/{case.pk}/dossier/" + (f"?{query}" if query else "")


def download(client: Any, case: Case, **params: Any) -> zipfile.ZipFile:
    """Fetch the dossier, consume the stream and open it as a ZIP (checking every CRC)."""
    response = client.get(url(case, **params))
    assert response.status_code == 200, response.content
    assert response.streaming
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    return archive


def read_csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    text = archive.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def exclude(order: FlaggedOrder, reason: str) -> None:
    FlaggedOrder.objects.filter(pk=order.pk).update(excluded_at=timezone.now(), exclusion_reason=reason)


@pytest.fixture
def case(make_case: Callable[..., Case], blossom_shop: Shop, manager: User) -> Case:
    return make_case(blossom_shop, assignee=manager, orders=3)


def orders_of(case: Case) -> list[FlaggedOrder]:
    return list(FlaggedOrder.objects.filter(case=case).order_by("order_time", "id"))


# --- Content -----------------------------------------------------------------------------


def test_layout_index_and_manifest(api: Callable[..., Any], case: Case, manager: User, alice: User) -> None:
    oldest, middle, newest = orders_of(case)
    chat = evidence_item(case, order=oldest, kind="chat_log", uploaded_by=alice, content=b"buyer: hello\n")
    chat.content_type, chat.original_name = "text/plain", "wangwang.txt"
    chat.save()
    slip_1 = evidence_item(case, order=oldest, kind="shipping_slip", uploaded_by=manager)
    slip_2 = evidence_item(
        case,
        order=oldest,
        kind="shipping_slip",
        uploaded_by=manager,
        content=PDF,
        content_type="application/pdf",
        original_name="slip.pdf",
    )
    signed = evidence_item(case, order=middle, kind="signed_delivery", uploaded_by=manager)
    brushing = evidence_item(
        case,
        order=None,
        kind="malicious_brushing",
        uploaded_by=manager,
        content=PDF + b"x",
        content_type="application/pdf",
        original_name="brushing.pdf",
    )
    evidence_item(case, order=newest, kind="chat_log", uploaded_by=manager)
    exclude(newest, "The merchant admits this one.")

    archive = download(api(manager), case)

    old_folder, mid_folder = f"orders/{oldest.platform_order_id}", f"orders/{middle.platform_order_id}"
    expected = {
        "index.html": None,
        "index.csv": None,
        "manifest.csv": None,
        "case/malicious_brushing.pdf": brushing,
        f"{old_folder}/chat_log.txt": chat,
        f"{old_folder}/shipping_slip-1.png": slip_1,
        f"{old_folder}/shipping_slip-2.pdf": slip_2,
        f"{mid_folder}/signed_delivery.png": signed,
    }
    assert sorted(archive.namelist()) == sorted(expected)
    # The index files come first, then the case folder, then the orders in order.
    assert archive.namelist()[:4] == ["index.html", "index.csv", "manifest.csv", "case/malicious_brushing.pdf"]

    manifest = {row["path"]: row for row in read_csv(archive, "manifest.csv")}
    assert set(manifest) == set(expected) - {"manifest.csv"}
    for path, row in manifest.items():
        data = archive.read(path)
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        assert int(row["size"]) == len(data)
        item = expected[path]
        if item is None:
            assert row["evidence_item_id"] == row["order_id"] == row["kind"] == ""
            continue
        assert data == item.file.storage.open(item.file.name, "rb").read()
        assert row["sha256"] == item.sha256
        assert row["evidence_item_id"] == str(item.pk)
        assert row["kind"] == item.kind
        assert row["original_name"] == item.original_name
        assert row["order_id"] == (item.order.platform_order_id if item.order else "")

    rows = read_csv(archive, "index.csv")
    assert [row["order_id"] for row in rows] == [o.platform_order_id for o in (oldest, middle, newest)]
    first, second, third = rows
    shanghai = timezone.localtime(oldest.order_time, dt.timezone(dt.timedelta(hours=8)))
    assert first["order_time_asia_shanghai"] == shanghai.strftime("%Y-%m-%d %H:%M:%S")
    assert (first["amount"], first["currency"], first["goods_type"]) == (str(oldest.amount), "CNY", "physical")
    assert (first["courier"], first["tracking_number"]) == (oldest.courier, oldest.tracking_number)
    assert (first["status"], first["folder"], first["exclusion_reason"]) == ("included", old_folder, "")
    assert first["chat_log"] == f"{old_folder}/chat_log.txt"
    assert first["shipping_slip"] == f"{old_folder}/shipping_slip-1.png; {old_folder}/shipping_slip-2.pdf"
    assert first["signed_delivery"] == first["courier_tracking"] == ""
    assert (second["status"], second["signed_delivery"]) == ("included", f"{mid_folder}/signed_delivery.png")
    assert (third["status"], third["folder"], third["exclusion_reason"]) == (
        "excluded",
        "",
        "The merchant admits this one.",
    )
    assert third["chat_log"] == ""

    html = archive.read("index.html").decode()
    for text in (case.reference, "Blossom Home Tmall Store", "Tmall", "Fake transaction", "General"):
        assert text in html
    assert f'href="{old_folder}/shipping_slip-2.pdf"' in html
    assert 'href="case/malicious_brushing.pdf"' in html
    assert "Excluded: The merchant admits this one." in html
    assert "<script" not in html
    assert "http://" not in html
    assert "https://" not in html


def test_only_accepted_active_evidence_goes_in(api: Callable[..., Any], case: Case, manager: User) -> None:
    order = orders_of(case)[0]
    kept = evidence_item(case, order=order, kind="chat_log", uploaded_by=manager, content=PNG_HEADER + b"kept")
    evidence_item(case, order=order, kind="shipping_slip", uploaded_by=manager, review_state="rejected")
    evidence_item(case, order=order, kind="signed_delivery", uploaded_by=manager, review_state="pending")
    removed = evidence_item(case, order=order, kind="courier_tracking", uploaded_by=manager, content=b"removed")
    EvidenceItem.objects.filter(pk=removed.pk).update(removed_at=timezone.now(), removed_by=manager)
    old = evidence_item(case, order=order, kind="other", uploaded_by=manager, content=b"old version")
    new = evidence_item(case, order=order, kind="other", uploaded_by=manager, content=b"new version")
    EvidenceItem.objects.filter(pk=old.pk).update(superseded_by=new, superseded_at=timezone.now())
    evidence_item(case, order=None, kind="malicious_brushing", uploaded_by=manager, review_state="rejected")

    archive = download(api(manager), case)

    folder = f"orders/{order.platform_order_id}"
    files = {row["path"]: row["evidence_item_id"] for row in read_csv(archive, "manifest.csv")}
    assert files == {
        "index.html": "",
        "index.csv": "",
        f"{folder}/chat_log.png": str(kept.pk),
        f"{folder}/other.png": str(new.pk),
    }
    assert archive.read(f"{folder}/other.png") == b"new version"


def test_the_index_marks_files_that_agree_with_their_order_and_says_nothing_else(
    api: Callable[..., Any], case: Case, manager: User
) -> None:
    first, second, _third = orders_of(case)
    matched = evidence_item(case, order=first, kind="chat_log", uploaded_by=manager)
    contradicted = evidence_item(case, order=first, kind="shipping_slip", uploaded_by=manager)
    queued_again = evidence_item(case, order=second, kind="chat_log", uploaded_by=manager)
    never_checked = evidence_item(case, order=second, kind="signed_delivery", uploaded_by=manager)
    brushing = evidence_item(case, order=None, kind="malicious_brushing", uploaded_by=manager)
    now = timezone.now()
    EvidenceCheck.objects.bulk_create(
        [
            EvidenceCheck(item=matched, state="done", outcome="match", checked_at=now, text="x" * 10_000),
            EvidenceCheck(item=contradicted, state="done", outcome="mismatch", checked_at=now),
            # Compared again after its order changed: its old outcome no longer holds.
            EvidenceCheck(item=queued_again, state="queued", outcome="match", checked_at=now),
            EvidenceCheck(item=brushing, state="done", outcome="unchecked", checked_at=now),
        ]
    )

    archive = download(api(manager), case)

    # The dossier goes to the platform: only what supports the appeal is said.
    checks = {row["evidence_item_id"]: row["checked"] for row in read_csv(archive, "manifest.csv")}
    assert checks == {
        "": "",  # the index files
        str(matched.pk): "match",
        str(contradicted.pk): "",
        str(queued_again.pk): "",
        str(never_checked.pk): "",
        str(brushing.pk): "",
    }
    html = archive.read("index.html").decode()
    folder = f"orders/{first.platform_order_id}"
    assert (
        f'href="{folder}/chat_log.png" title="evidence.png">chat_log.png</a> '
        '<span class="checked">✓ checked: agrees with the order</span>'
    ) in html
    assert html.count('class="checked"') == 1
    for outcome in ("mismatch", "Contradicts", "unreadable", "not_found", "unchecked"):
        assert outcome not in html


def test_a_case_without_evidence_still_has_its_index(api: Callable[..., Any], case: Case, supervisor: User) -> None:
    archive = download(api(supervisor), case)

    assert sorted(archive.namelist()) == ["index.csv", "index.html", "manifest.csv"]
    assert [row["status"] for row in read_csv(archive, "index.csv")] == ["included"] * 3
    assert "No accepted evidence" in archive.read("index.html").decode()


def test_markup_in_order_ids_and_names_is_escaped_and_paths_are_safe(
    api: Callable[..., Any], make_case: Callable[..., Case], blossom_shop: Shop, manager: User
) -> None:
    case = make_case(blossom_shop, assignee=manager, orders=0)
    FlaggedOrder.objects.bulk_create(
        FlaggedOrder(case=case, platform_order_id=order_id, order_time=timezone.now(), amount=1, courier=courier)
        for order_id, courier in [
            ("<script>alert(1)</script>", "<b>SF</b>"),
            ("../../etc/passwd", '=HYPERLINK("http://x")'),
            ("A/1", ""),
            ("A_1", ""),
            ("a_1", ""),
            ("..", ""),
        ]
    )
    for order in orders_of(case):
        evidence_item(
            case,
            order=order,
            kind="chat_log",
            uploaded_by=manager,
            original_name='<script>alert("name")</script>.png',
            content=PNG_HEADER + order.platform_order_id.encode(),
        )

    archive = download(api(manager), case)

    html = archive.read("index.html").decode()
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;SF&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;.png" in html
    rows = {row["order_id"]: row for row in read_csv(archive, "index.csv")}
    folders = [row["folder"] for row in rows.values()]
    assert len(set(map(str.lower, folders))) == 6  # unique, even on a case-insensitive file system
    assert rows["<script>alert(1)</script>"]["folder"] == "orders/_script_alert_1_script_"
    assert rows["../../etc/passwd"]["folder"] == "orders/_.._etc_passwd"
    assert [rows[key]["folder"] for key in ("A/1", "A_1", "a_1")] == ["orders/A_1", "orders/A_1-2", "orders/a_1-3"]
    assert rows[".."]["folder"] == "orders/order"
    # A spreadsheet must not run an imported value as a formula.
    assert rows["../../etc/passwd"]["courier"] == '\'=HYPERLINK("http://x")'
    for name in archive.namelist():
        segments = name.split("/")
        assert not name.startswith("/")
        assert "\\" not in name
        assert all(segment not in ("", ".", "..") for segment in segments), name
        assert len(segments) <= 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3900000000000000012", "3900000000000000012"), ("订单 42", "_42"), ("...hidden", "hidden"), ("", "x")],
)
def test_safe_name(value: str, expected: str) -> None:
    assert safe_name(value, fallback="x") == expected


# --- Appeal attempts --------------------------------------------------------------------------


def _manifest(*items: EvidenceItem) -> list[dict[str, Any]]:
    return [{"item": i.pk, "sha256": i.sha256, "order": i.order_id, "kind": i.kind} for i in items]


def blob(case: Case, order: FlaggedOrder | None, kind: str, content: bytes, by: User) -> EvidenceItem:
    """An item of plain bytes: its path in the dossier ends in .bin."""
    return evidence_item(
        case,
        order=order,
        kind=kind,
        uploaded_by=by,
        content=content,
        content_type="application/octet-stream",
        original_name="evidence",
    )


def test_attempt_rebuilds_what_was_submitted(api: Callable[..., Any], case: Case, manager: User) -> None:
    first, second, third = orders_of(case)
    chat = blob(case, first, "chat_log", b"chat, attempt 1", manager)
    slip = blob(case, second, "shipping_slip", b"slip", manager)
    brushing = blob(case, None, "malicious_brushing", b"brushing", manager)
    AppealAttempt.objects.create(case=case, number=1, submitted_by=manager, manifest=_manifest(chat, slip, brushing))
    # After the first attempt: the chat log is superseded, the second order is left out,
    # and the third order gets evidence for the next attempt.
    new_chat = blob(case, first, "chat_log", b"chat, attempt 2", manager)
    EvidenceItem.objects.filter(pk=chat.pk).update(superseded_by=new_chat, superseded_at=timezone.now())
    exclude(second, "Not worth appealing again.")
    later = blob(case, third, "chat_log", b"later", manager)
    client = api(manager)

    then = download(client, case, attempt=1)
    now = download(client, case)

    first_folder, second_folder = f"orders/{first.platform_order_id}", f"orders/{second.platform_order_id}"
    third_folder = f"orders/{third.platform_order_id}"
    then_files = {row["path"]: row["evidence_item_id"] for row in read_csv(then, "manifest.csv") if row["kind"]}
    assert then_files == {
        "case/malicious_brushing.bin": str(brushing.pk),
        f"{first_folder}/chat_log.bin": str(chat.pk),
        f"{second_folder}/shipping_slip.bin": str(slip.pk),
    }
    assert then.read(f"{first_folder}/chat_log.bin") == b"chat, attempt 1"
    assert [row["status"] for row in read_csv(then, "index.csv")] == ["included", "included", "excluded"]
    assert "Appeal attempt" in then.read("index.html").decode()

    now_files = {row["path"]: row["evidence_item_id"] for row in read_csv(now, "manifest.csv") if row["kind"]}
    assert now_files == {
        "case/malicious_brushing.bin": str(brushing.pk),
        f"{first_folder}/chat_log.bin": str(new_chat.pk),
        f"{third_folder}/chat_log.bin": str(later.pk),
    }
    assert now.read(f"{first_folder}/chat_log.bin") == b"chat, attempt 2"


def test_unknown_attempt_is_404(api: Callable[..., Any], case: Case, manager: User) -> None:
    response = api(manager).get(url(case, attempt=1))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_attempt_whose_evidence_changed_is_409(api: Callable[..., Any], case: Case, manager: User) -> None:
    order = orders_of(case)[0]
    chat = evidence_item(case, order=order, kind="chat_log", uploaded_by=manager)
    manifest = _manifest(chat)
    manifest[0]["sha256"] = "0" * 64
    manifest.append({"item": 999_999, "sha256": "1" * 64, "order": None, "kind": "other"})
    AppealAttempt.objects.create(case=case, number=1, submitted_by=manager, manifest=manifest)

    response = api(manager).get(url(case, attempt=1))

    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"missing_items": [999_999], "changed_items": [chat.pk]}


@pytest.mark.parametrize("attempt", ["0", "-1", "x", "99999"])
def test_attempt_must_be_a_positive_number(api: Callable[..., Any], case: Case, manager: User, attempt: str) -> None:
    response = api(manager).get(url(case, attempt=attempt))

    assert response.status_code == 400
    assert "attempt" in response.json()["error"]["details"]["fields"]


def test_submitted_case_dossier_matches_its_first_attempt(
    api: Callable[..., Any], case_in: Callable[..., Case], manager: User
) -> None:
    """Through the real submit_appeal: attempt 1 carries exactly what the dossier holds now."""
    case = case_in("submitted")
    attempt = AppealAttempt.objects.get(case=case, number=1)
    client = api(manager)

    then = download(client, case, attempt=1)
    now = download(client, case)

    def evidence(archive: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
        rows = read_csv(archive, "manifest.csv")
        return {row["path"]: (row["evidence_item_id"], row["sha256"]) for row in rows if row["kind"]}

    assert evidence(then) == evidence(now)
    assert {int(item_id) for item_id, _sha in evidence(then).values()} == {e["item"] for e in attempt.manifest}
    assert len(evidence(then)) == len(attempt.manifest) > 0


# --- The response ---------------------------------------------------------------------------


def test_headers(api: Callable[..., Any], case: Case, manager: User) -> None:
    evidence_item(case, order=orders_of(case)[0], kind="chat_log", uploaded_by=manager)

    response = api(manager).get(url(case), HTTP_ACCEPT="application/zip")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{case.reference}-dossier.zip"'
    assert response["Cache-Control"] == "private, no-store"
    body = b"".join(response.streaming_content)
    assert body.startswith(ZIP_MAGIC)
    assert len(body) == int(response["Content-Length"])


def test_errors_are_json_even_when_a_zip_is_asked_for(api: Callable[..., Any], case: Case, alice: User) -> None:
    response = api(alice).get(url(case), HTTP_ACCEPT="application/zip")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_file_changed_on_disk_breaks_off_the_download(api: Callable[..., Any], case: Case, manager: User) -> None:
    item = evidence_item(case, order=orders_of(case)[0], kind="chat_log", uploaded_by=manager, content=b"original")
    tamper(item, b"tampered")

    response = api(manager).get(url(case))

    assert response.status_code == 200  # the headers left before the file was read
    with pytest.raises(DossierIntegrityError):
        b"".join(response.streaming_content)


# --- Who may download ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),
        ("alice", 403),
        ("charlie", 403),
        ("outsider_manager", 404),
        ("manager", 200),
        ("reviewer", 200),
        ("supervisor", 200),
        ("administrator", 200),
    ],
)
def test_who_may_download(
    api: Callable[..., Any], case: Case, request: pytest.FixtureRequest, who: str | None, status: int
) -> None:
    user = request.getfixturevalue(who) if who else None

    response = api(user).get(url(case))

    assert response.status_code == status
    if status != 200:
        assert response.json()["error"]["code"] in {"not_authenticated", "permission_denied", "not_found"}


@pytest.mark.parametrize("path", ["/api/v1/cases/999999/dossier/", "/api/v1/cases/99999999999999999999/dossier/"])
def test_missing_case_is_404(api: Callable[..., Any], supervisor: User, path: str) -> None:
    assert api(supervisor).get(path).status_code == 404


# --- Queries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("orders", [5, 50])
def test_query_count_does_not_grow_with_orders(
    api: Callable[..., Any],
    make_case: Callable[..., Case],
    blossom_shop: Shop,
    manager: User,
    django_assert_num_queries: Any,
    orders: int,
) -> None:
    case = make_case(blossom_shop, assignee=manager, orders=orders)
    items = []
    for order in orders_of(case):
        items.append(evidence_item(case, order=order, kind="chat_log", uploaded_by=manager))
        items.append(evidence_item(case, order=order, kind="shipping_slip", uploaded_by=manager))
    AppealAttempt.objects.create(case=case, number=1, submitted_by=manager, manifest=_manifest(*items))
    client = api(manager)

    # The case (scoped to the caller), its orders, its evidence; plus the attempt when asked.
    with django_assert_num_queries(3):
        archive = download(client, case)
    with django_assert_num_queries(4):
        then = download(client, case, attempt=1)

    assert len(archive.namelist()) == len(then.namelist()) == 3 + 2 * orders


def test_nothing_is_read_from_the_database_while_streaming(api: Callable[..., Any], case: Case, manager: User) -> None:
    for order in orders_of(case):
        evidence_item(case, order=order, kind="chat_log", uploaded_by=manager)
    response = api(manager).get(url(case))

    with CaptureQueriesContext(connection) as queries:
        b"".join(response.streaming_content)

    assert len(queries) == 0
