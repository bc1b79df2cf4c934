"""Matching the files of a bulk upload to orders and evidence kinds (``evidence.matching``).

Orders: ids and tracking numbers found as whole words (case-insensitive) in folders at any depth
and in file names, and every way that is ambiguous or finds nothing. Kinds: the keywords of the
issue in Chinese and English, the deepest folder, the file name, conflicts, and keywords edited in
``KindKeywords``. The manifest (CSV in UTF-8 or GBK, XLSX; at the root or in the single top folder),
the precedence mapping > manifest > folder > file name, excluded orders, and ``mapping_rules``.

Most tests match against orders built in memory (``OrderIndex`` takes any FlaggedOrder rows);
the database is used where the real tables are the point (``for_case``, ``KindVocabulary.current``,
excluding an order through the service).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import Workbook  # type: ignore[import-untyped]

from agency.errors import InvalidInput
from cases.kinds import EvidenceKind
from cases.models import Case, FlaggedOrder
from casework import services
from evidence import archives
from evidence.archives import ArchiveEntry, ArchiveReader
from evidence.matching import (
    DEFAULT_KIND_KEYWORDS,
    KindVocabulary,
    Manifest,
    ManifestRow,
    MappingRule,
    Match,
    MatchedBy,
    MatchProblem,
    OrderIndex,
    entry_match,
    manifest_entry,
    manifest_read,
    mapping_rules,
)
from evidence.models import KindKeywords
from tests.evidence.zips import gbk_zip, make_zip, nested, proof

# --- Helpers ---------------------------------------------------------------------------------------

# The orders of tests/factories.py ``order_data(i)``.
ORDER_ID = {i: f"39{i:017d}" for i in range(5)}
TRACKING = {i: f"SF{i:010d}" for i in range(5)}
VOCABULARY = KindVocabulary(DEFAULT_KIND_KEYWORDS)


def order(
    pk: int, *, tracking: str | None = None, platform_order_id: str | None = None, excluded: bool = False
) -> FlaggedOrder:
    """An unsaved order with primary key ``pk`` and ``order_data(pk)``'s identifiers (unless given)."""
    return FlaggedOrder(
        pk=pk,
        platform_order_id=platform_order_id or ORDER_ID[pk],
        tracking_number=TRACKING[pk] if tracking is None else tracking,
        goods_type="physical",
        excluded_at=timezone.now() if excluded else None,
    )


def orders(*extra: FlaggedOrder) -> OrderIndex:
    """Orders 1, 2 and 3, and any others given."""
    return OrderIndex([order(1), order(2), order(3), *extra])


def entry(path: str, *, nested_in: int | None = None, problem: str | None = None, index: int = 0) -> ArchiveEntry:
    return ArchiveEntry(
        index=index, path=path, size=10, compressed_size=10, member=index, nested_in=nested_in, problem=problem
    )


def matched(
    path: str,
    index: OrderIndex | None = None,
    *,
    manifest: Manifest | None = None,
    rule: MappingRule | None = None,
    vocabulary: KindVocabulary = VOCABULARY,
) -> Match:
    return entry_match(entry(path), index or orders(), vocabulary, manifest, rule)


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8") -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def manifest_of(rows: dict[str, tuple[str, str]]) -> Manifest:
    """A manifest already read: archive path -> (order, kind)."""
    return Manifest(
        path="manifest.csv",
        rows={
            path: ManifestRow(row=number, file=path, order=order_value, kind=kind)
            for number, (path, (order_value, kind)) in enumerate(rows.items(), start=2)
        },
    )


def mapping_error(raw: Any, index: OrderIndex | None = None) -> list[str]:
    """The reasons ``mapping_rules`` gives on the field ``mapping`` (and on no other field)."""
    with pytest.raises(InvalidInput) as exc:
        mapping_rules(raw, index or orders(), VOCABULARY)
    fields = exc.value.details["fields"]
    assert list(fields) == ["mapping"]
    assert fields["mapping"]
    return [str(reason) for reason in fields["mapping"]]


# --- Orders in names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (TRACKING[1], {1}),
        (ORDER_ID[2], {2}),
        (f"订单{ORDER_ID[1]}截图", {1}),
        (f"{TRACKING[3]}_chat", {3}),
        (f"No.{ORDER_ID[3]}-签收", {3}),
        (f"({TRACKING[2]})", {2}),
        (f"1{ORDER_ID[1]}", set()),  # inside a longer number
        (f"{ORDER_ID[1]}2", set()),
        (f"{TRACKING[1]}0", set()),
        (f"X{TRACKING[1]}", set()),  # inside a longer code
        (ORDER_ID[1][:-1], set()),  # a prefix is not the id
        ("聊天记录", set()),
    ],
)
def test_identifiers_are_found_as_whole_words_only(text, found):
    assert orders().found_in(text) == found


def test_tracking_numbers_are_found_whatever_their_case():
    index = orders()

    assert index.found_in("sf0000000002 面单") == {2}
    assert index.found_in("Sf0000000003") == {3}
    assert index.lookup("sf0000000001") == {1}
    assert index.lookup(" SF 0000000001 ") == {1}


def test_lookup_is_exact():
    index = orders()

    assert index.lookup(ORDER_ID[2]) == {2}
    assert index.lookup(f"{ORDER_ID[2]}9") == set()
    assert index.lookup("") == set()


def test_an_order_without_a_tracking_number_matches_nothing_by_it():
    index = OrderIndex([order(1, tracking=""), order(2, tracking="")])

    assert index.found_in("截图.png") == set()
    assert index.found_in(ORDER_ID[2]) == {2}
    assert index.lookup("") == set()


def test_no_orders_find_nothing():
    assert OrderIndex([]).found_in(TRACKING[1]) == set()


def test_a_tracking_number_shared_by_two_orders_names_both():
    index = orders(order(4, tracking=TRACKING[1]))

    assert index.lookup(TRACKING[1]) == {1, 4}
    assert index.found_in(f"{TRACKING[1]}.png") == {1, 4}
    match = matched(f"{TRACKING[1]} 面单.png", index)
    assert match.problem == MatchProblem.AMBIGUOUS
    assert match.order_id is None
    assert match.candidates == [1, 4]


# --- The order of one file -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"{TRACKING[1]}/截图.png",
        f"证据/{TRACKING[1]}/截图.png",
        f"证据/2026年12月/{TRACKING[1]}/聊天/截图.png",
        f"订单 {ORDER_ID[1]}/截图.png",
        f"{TRACKING[1]}.zip/截图.png",  # a ZIP inside, named after the order
    ],
)
def test_a_folder_at_any_depth_names_the_order(path):
    match = matched(path)

    assert (match.order_id, match.matched_by) == (1, MatchedBy.FOLDER)
    assert match.candidates == []


def test_the_file_name_names_the_order():
    match = matched(f"证据/{TRACKING[2]} 面单.png")

    assert (match.order_id, match.matched_by, match.problem) == (2, MatchedBy.FILE_NAME, None)


def test_the_extension_is_not_part_of_the_name():
    assert matched(f"聊天.{TRACKING[2]}").problem == MatchProblem.UNMATCHED


def test_folder_and_file_name_agreeing_is_a_folder_match():
    match = matched(f"{ORDER_ID[1]}/{TRACKING[1]} 面单.png")

    assert (match.order_id, match.matched_by, match.problem) == (1, MatchedBy.FOLDER, None)


def test_folder_and_file_name_naming_different_orders_is_ambiguous():
    match = matched(f"{TRACKING[1]}/{TRACKING[2]} 面单.png")

    assert match.problem == MatchProblem.AMBIGUOUS
    assert match.order_id is None
    assert match.candidates == [1, 2]
    assert match.reason


def test_two_folders_naming_different_orders_is_ambiguous():
    match = matched(f"{TRACKING[1]}/{TRACKING[3]}/面单.png")

    assert (match.problem, match.candidates) == (MatchProblem.AMBIGUOUS, [1, 3])


def test_two_orders_in_a_file_name_is_ambiguous():
    match = matched(f"{TRACKING[1]}_{ORDER_ID[2]} 面单.png")

    assert (match.problem, match.order_id, match.candidates) == (MatchProblem.AMBIGUOUS, None, [1, 2])


def test_an_order_named_twice_in_a_file_name_is_one_order():
    match = matched(f"{TRACKING[1]}_{ORDER_ID[1]} 面单.png")

    assert (match.order_id, match.problem) == (1, None)


def test_no_order_in_the_path_is_unmatched():
    match = matched(f"证据/聊天/1{ORDER_ID[1]}.png")

    assert match.problem == MatchProblem.UNMATCHED
    assert (match.order_id, match.candidates) == (None, [])
    assert match.reason
    assert match.kind == EvidenceKind.CHAT_LOG  # the kind is still found, so the preview says all it can


# --- Kinds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("聊天", EvidenceKind.CHAT_LOG),
        ("旺旺", EvidenceKind.CHAT_LOG),
        ("千牛", EvidenceKind.CHAT_LOG),
        ("chat", EvidenceKind.CHAT_LOG),
        ("面单", EvidenceKind.SHIPPING_SLIP),
        ("快递单", EvidenceKind.SHIPPING_SLIP),
        ("shipping", EvidenceKind.SHIPPING_SLIP),
        ("waybill", EvidenceKind.SHIPPING_SLIP),
        ("签收", EvidenceKind.SIGNED_DELIVERY),
        ("signed", EvidenceKind.SIGNED_DELIVERY),
        ("物流", EvidenceKind.COURIER_TRACKING),
        ("轨迹", EvidenceKind.COURIER_TRACKING),
        ("tracking", EvidenceKind.COURIER_TRACKING),
        ("发货记录", EvidenceKind.DELIVERY_RECORD),
        ("充值", EvidenceKind.DELIVERY_RECORD),
        ("delivery", EvidenceKind.DELIVERY_RECORD),
        ("确认", EvidenceKind.CUSTOMER_CONFIRMATION),
        ("confirmation", EvidenceKind.CUSTOMER_CONFIRMATION),
    ],
)
@pytest.mark.django_db
def test_the_keywords_of_the_issue_name_their_kinds(word, kind):
    vocabulary = KindVocabulary.current()  # as migration evidence/0003 seeded KindKeywords

    assert vocabulary.kinds_in(f"{TRACKING[1]}_{word}截图") == {kind}
    assert vocabulary.kinds_in(word.upper()) == {kind}
    match = matched(f"{TRACKING[1]} {word}.png", vocabulary=vocabulary)
    assert (match.order_id, match.kind, match.kind_by, match.problem) == (1, kind, MatchedBy.FILE_NAME, None)


@pytest.mark.django_db
def test_the_seeded_keywords_are_the_defaults():
    assert KindKeywords.objects.count() == len(EvidenceKind.values)
    assert KindVocabulary.current().keywords == {kind: list(words) for kind, words in DEFAULT_KIND_KEYWORDS.items()}


@pytest.mark.django_db
def test_keywords_edited_in_the_table_take_effect():
    KindKeywords.objects.filter(kind=EvidenceKind.CHAT_LOG).update(keywords=["微信", "WeChat"])
    KindKeywords.objects.filter(kind=EvidenceKind.OTHER).update(keywords=["其他"])
    vocabulary = KindVocabulary.current()

    assert vocabulary.kinds_in("微信截图") == {EvidenceKind.CHAT_LOG}
    assert vocabulary.kinds_in("wechat export") == {EvidenceKind.CHAT_LOG}
    assert vocabulary.kinds_in("聊天截图") == set()  # no longer a keyword
    assert vocabulary.kinds_in("其他证明") == {EvidenceKind.OTHER}
    match = matched(f"{TRACKING[1]}/微信.png", vocabulary=vocabulary)
    assert (match.kind, match.kind_by) == (EvidenceKind.CHAT_LOG, MatchedBy.FILE_NAME)


@pytest.mark.django_db
def test_a_kind_without_a_row_keeps_its_default_keywords():
    KindKeywords.objects.filter(kind=EvidenceKind.PAYMENT_RECORD).delete()

    assert KindVocabulary.current().kinds_in("付款截图") == {EvidenceKind.PAYMENT_RECORD}


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("signed_delivery", {EvidenceKind.SIGNED_DELIVERY}),
        ("signed delivery", {EvidenceKind.SIGNED_DELIVERY}),
        ("courier_tracking", {EvidenceKind.COURIER_TRACKING}),
        ("delivery_record", {EvidenceKind.DELIVERY_RECORD}),
        ("customer_confirmation", {EvidenceKind.CUSTOMER_CONFIRMATION}),
        ("shipping_slip", {EvidenceKind.SHIPPING_SLIP}),
        ("恶意刷单", {EvidenceKind.MALICIOUS_BRUSHING}),
        ("SIGNED_DELIVERY", {EvidenceKind.SIGNED_DELIVERY}),
        ("聊天 签收", {EvidenceKind.CHAT_LOG, EvidenceKind.SIGNED_DELIVERY}),
        ("signed 和 delivery", {EvidenceKind.SIGNED_DELIVERY, EvidenceKind.DELIVERY_RECORD}),
        ("截图", set()),
    ],
)
def test_the_longest_keyword_wins_an_overlap(text, kinds):
    assert VOCABULARY.kinds_in(text) == kinds


def test_an_empty_vocabulary_finds_no_kind():
    vocabulary = KindVocabulary({kind: [] for kind in EvidenceKind.values})

    assert vocabulary.kinds_in("聊天") == set()
    assert vocabulary.kind_named("聊天") is None
    assert vocabulary.kind_named("chat_log") == EvidenceKind.CHAT_LOG


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("chat_log", EvidenceKind.CHAT_LOG),
        ("  shipping_slip ", EvidenceKind.SHIPPING_SLIP),
        ("Chat log with the buyer", EvidenceKind.CHAT_LOG),
        ("signed delivery SLIP", EvidenceKind.SIGNED_DELIVERY),  # the label, in another case
        ("聊天记录", EvidenceKind.CHAT_LOG),
        ("快递面单", EvidenceKind.SHIPPING_SLIP),
        ("物流签收", None),  # two kinds
        ("截图", None),
        ("", None),
    ],
)
def test_kind_named_takes_a_code_a_label_or_one_kinds_keywords(value, kind):
    assert VOCABULARY.kind_named(value) == kind


def test_the_kind_comes_from_the_folder():
    match = matched(f"{TRACKING[1]}/聊天记录/截图1.png")

    assert (match.kind, match.kind_by, match.problem) == (EvidenceKind.CHAT_LOG, MatchedBy.FOLDER, None)


def test_the_deepest_folder_naming_a_kind_wins():
    match = matched(f"签收/聊天/{TRACKING[1]}/截图.png")

    assert (match.kind, match.kind_by) == (EvidenceKind.CHAT_LOG, MatchedBy.FOLDER)


def test_the_kind_comes_from_the_file_name():
    match = matched(f"{TRACKING[1]}/物流轨迹.png")

    assert (match.kind, match.kind_by) == (EvidenceKind.COURIER_TRACKING, MatchedBy.FILE_NAME)


def test_folder_and_file_name_agreeing_on_the_kind_is_a_folder_kind():
    match = matched(f"{TRACKING[1]}/聊天/旺旺截图.png")

    assert (match.kind, match.kind_by, match.problem) == (EvidenceKind.CHAT_LOG, MatchedBy.FOLDER, None)


def test_folder_and_file_name_naming_different_kinds_is_kind_unknown():
    match = matched(f"{TRACKING[1]}/聊天/签收单.png")

    assert (match.kind, match.kind_by, match.problem) == (None, None, MatchProblem.KIND_UNKNOWN)
    assert match.order_id == 1
    assert match.reason


def test_two_kinds_in_a_file_name_is_kind_unknown():
    match = matched(f"{TRACKING[1]} 聊天和签收.png")

    assert (match.kind, match.problem) == (None, MatchProblem.KIND_UNKNOWN)
    assert match.order_id == 1


def test_a_folder_naming_two_kinds_is_kind_unknown():
    match = matched(f"{TRACKING[1]}/物流签收/截图.png")

    assert (match.kind, match.problem) == (None, MatchProblem.KIND_UNKNOWN)


def test_no_kind_in_the_path_is_kind_unknown():
    match = matched(f"{TRACKING[1]}/IMG_2041.png")

    assert (match.order_id, match.kind, match.problem) == (1, None, MatchProblem.KIND_UNKNOWN)
    assert match.reason


def test_an_order_problem_is_not_hidden_by_a_kind_problem():
    match = matched(f"{TRACKING[1]}/{TRACKING[2]} IMG.png")

    assert match.problem == MatchProblem.AMBIGUOUS
    assert match.kind is None


# --- The manifest ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paths", "found"),
    [
        (["manifest.csv", "SF0000000001/a.png"], "manifest.csv"),
        (["MANIFEST.XLSX", "a.png"], "MANIFEST.XLSX"),
        (["证据/manifest.csv", "证据/SF0000000001/a.png"], "证据/manifest.csv"),
        (["证据/manifest.xlsx", "其他/a.png"], None),  # two top folders: whose manifest is it?
        (["证据/SF0000000001/manifest.csv", "证据/a.png"], None),  # too deep
        (["证据/manifest.csv", "manifest.csv"], "manifest.csv"),  # the root's first
        (["manifest.txt", "a.png"], None),
    ],
)
def test_the_manifest_is_at_the_root_or_in_the_single_top_folder(paths, found):
    entries = [entry(path, index=number) for number, path in enumerate(paths)]

    chosen = manifest_entry(entries)
    assert (chosen.path if chosen else None) == found


def test_a_refused_or_nested_manifest_is_not_the_manifest():
    assert manifest_entry([entry("manifest.csv", problem="empty")]) is None
    assert manifest_entry([entry("inner.zip/manifest.csv", nested_in=0)]) is None


def test_a_macos_archive_of_a_folder_has_its_manifest_in_the_top_folder():
    # Archive Utility adds __MACOSX/ beside the folder; it is ignored, so the folder is the only top one.
    data = make_zip(
        [
            ("证据/manifest.csv", csv_bytes([["file", "order"], ["a.png", TRACKING[1]]])),
            ("__MACOSX/证据/._manifest.csv", b"\x00\x05\x16\x07"),
            ("证据/a.png", proof("a")),
        ]
    )
    listing = archives.archive_entries(io.BytesIO(data))

    found = manifest_entry(listing.entries)
    assert found is not None
    assert found.path == "证据/manifest.csv"


def test_a_utf8_csv_manifest_is_read_by_archive_path():
    data = csv_bytes(
        [
            ["file", "order", "kind"],
            [f"{TRACKING[1]}/a.png", TRACKING[1], "chat_log"],
            ["b.png", ORDER_ID[2], "签收"],
            ["", "", ""],
            ["c\\d.png", TRACKING[3], ""],
        ]
    )
    manifest = manifest_read(entry("manifest.csv"), data)

    assert manifest.path == "manifest.csv"
    assert {path: (row.order, row.kind) for path, row in manifest.rows.items()} == {
        f"{TRACKING[1]}/a.png": (TRACKING[1], "chat_log"),
        "b.png": (ORDER_ID[2], "签收"),
        "c/d.png": (TRACKING[3], ""),
    }
    assert manifest.rows["b.png"].row == 3
    assert manifest.problems == []


def test_a_csv_manifest_with_a_byte_order_mark():
    data = b"\xef\xbb\xbf" + csv_bytes([["File", "Tracking number", "Type"], ["a.png", TRACKING[1], "chat"]])

    manifest = manifest_read(entry("manifest.csv"), data)
    assert manifest.rows["a.png"].order == TRACKING[1]
    assert manifest.rows["a.png"].kind == "chat"


def test_a_gbk_csv_manifest_with_chinese_headers():
    data = csv_bytes(
        [
            ["文件名", "运单号", "证据类型"],
            ["聊天记录.png", TRACKING[2], "聊天"],
            ["签收/面单.jpg", TRACKING[3], "面单"],
        ],
        encoding="gbk",
    )
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really GBK

    manifest = manifest_read(entry("manifest.csv"), data)
    assert {path: (row.order, row.kind) for path, row in manifest.rows.items()} == {
        "聊天记录.png": (TRACKING[2], "聊天"),
        "签收/面单.jpg": (TRACKING[3], "面单"),
    }


@pytest.mark.parametrize(
    ("headers"),
    [
        ["文件", "订单号", "类型"],
        ["文件路径", "快递单号", "种类"],
        ["path", "order_id", "evidence kind"],
        ["Filename", "Order", "Kind"],
    ],
)
def test_manifest_headers_in_english_or_chinese(headers):
    manifest = manifest_read(entry("manifest.csv"), csv_bytes([headers, ["a.png", TRACKING[1], "chat_log"]]))

    assert manifest.rows["a.png"].order == TRACKING[1]
    assert manifest.rows["a.png"].kind == "chat_log"


def test_an_xlsx_manifest():
    data = xlsx_bytes(
        [
            [None, None, None],
            ["文件", "订单号", "类型"],
            [f"{TRACKING[1]}/签收.jpg", TRACKING[1], "signed_delivery"],
            ["聊天.png", ORDER_ID[2], "聊天"],
            ["jd.png", 302654789012, "面单"],  # a JD order id typed into a number cell
        ]
    )
    manifest = manifest_read(entry("manifest.xlsx"), data)

    assert {path: (row.row, row.order, row.kind) for path, row in manifest.rows.items()} == {
        f"{TRACKING[1]}/签收.jpg": (3, TRACKING[1], "signed_delivery"),
        "聊天.png": (4, ORDER_ID[2], "聊天"),
        "jd.png": (5, "302654789012", "面单"),
    }
    index = orders(order(4, platform_order_id="302654789012"))
    assert matched("jd.png", index, manifest=manifest).order_id == 4


def test_a_manifest_in_the_top_folder_names_files_from_its_folder():
    data = csv_bytes([["file", "order", "kind"], ["SF/a.png", TRACKING[1], "chat_log"]])
    manifest = manifest_read(entry("证据/manifest.csv"), data)

    assert list(manifest.rows) == ["证据/SF/a.png"]
    match = matched("证据/SF/a.png", manifest=manifest)
    assert (match.order_id, match.matched_by, match.kind, match.kind_by) == (
        1,
        MatchedBy.MANIFEST,
        EvidenceKind.CHAT_LOG,
        MatchedBy.MANIFEST,
    )


@pytest.mark.parametrize(
    ("rows", "missing"),
    [
        ([["name", "order", "kind"], ["a.png", TRACKING[1], "chat_log"]], "file"),
        ([["file", "kind"], ["a.png", "chat_log"]], "order"),
        ([["a.png", TRACKING[1], "chat_log"]], "file"),  # no header row at all
    ],
)
def test_a_manifest_without_the_needed_columns_is_refused(rows, missing):
    with pytest.raises(InvalidInput) as exc:
        manifest_read(entry("证据/manifest.csv"), csv_bytes(rows))

    reasons = exc.value.details["fields"]["file"]
    assert len(reasons) == 1
    assert "证据/manifest.csv" in reasons[0]
    assert missing in reasons[0].split("missing:")[1]


def test_a_manifest_without_a_kind_column_is_read():
    manifest = manifest_read(entry("manifest.csv"), csv_bytes([["file", "order"], ["a.png", TRACKING[1]]]))

    assert (manifest.rows["a.png"].order, manifest.rows["a.png"].kind) == (TRACKING[1], "")


def test_an_unreadable_manifest_is_refused_on_the_field_file():
    with pytest.raises(InvalidInput) as exc:
        manifest_read(entry("manifest.xlsx"), b"PK\x03\x04 not really a workbook")

    reasons = exc.value.details["fields"]["file"]
    assert "manifest.xlsx" in reasons[0]


def test_manifest_rows_listing_a_file_twice_or_no_file_are_problems():
    data = csv_bytes(
        [
            ["file", "order", "kind"],
            ["a.png", TRACKING[1], "chat_log"],
            ["a.png", TRACKING[2], "面单"],
            ["", TRACKING[3], "面单"],
        ]
    )
    manifest = manifest_read(entry("manifest.csv"), data)

    assert manifest.rows["a.png"].order == TRACKING[1]  # the first row counts
    assert [(problem["row"], problem.get("file")) for problem in manifest.problems] == [(3, "a.png"), (4, None)]


def test_the_manifest_wins_over_folder_and_file_name():
    manifest = manifest_of({f"{TRACKING[1]}/聊天/{TRACKING[1]}.png": (TRACKING[2], "面单")})

    match = matched(f"{TRACKING[1]}/聊天/{TRACKING[1]}.png", manifest=manifest)
    assert (match.order_id, match.matched_by, match.kind, match.kind_by, match.problem) == (
        2,
        MatchedBy.MANIFEST,
        EvidenceKind.SHIPPING_SLIP,
        MatchedBy.MANIFEST,
        None,
    )


def test_a_manifest_row_without_a_kind_leaves_the_kind_to_the_names():
    manifest = manifest_of({"聊天/a.png": (TRACKING[2], "")})

    match = matched("聊天/a.png", manifest=manifest)
    assert (match.order_id, match.matched_by, match.kind, match.kind_by) == (
        2,
        MatchedBy.MANIFEST,
        EvidenceKind.CHAT_LOG,
        MatchedBy.FOLDER,
    )


def test_a_manifest_row_without_an_order_leaves_the_order_to_the_names():
    manifest = manifest_of({f"{TRACKING[3]}/a.png": ("", "确认")})

    match = matched(f"{TRACKING[3]}/a.png", manifest=manifest)
    assert (match.order_id, match.matched_by, match.kind, match.kind_by) == (
        3,
        MatchedBy.FOLDER,
        EvidenceKind.CUSTOMER_CONFIRMATION,
        MatchedBy.MANIFEST,
    )


def test_a_file_the_manifest_does_not_list_is_matched_by_its_names():
    manifest = manifest_of({"other.png": (TRACKING[2], "chat_log")})

    match = matched(f"{TRACKING[1]}/面单.png", manifest=manifest)
    assert (match.order_id, match.matched_by, match.kind, match.kind_by) == (
        1,
        MatchedBy.FOLDER,
        EvidenceKind.SHIPPING_SLIP,
        MatchedBy.FILE_NAME,
    )


def test_a_manifest_naming_an_order_not_on_the_case_is_unmatched():
    manifest = manifest_of({f"{TRACKING[1]}/面单.png": ("SF9999999999", "面单")})

    match = matched(f"{TRACKING[1]}/面单.png", manifest=manifest)
    assert (match.order_id, match.problem) == (None, MatchProblem.UNMATCHED)
    assert "SF9999999999" in match.reason


def test_a_manifest_naming_a_shared_tracking_number_is_ambiguous():
    index = orders(order(4, tracking=TRACKING[2]))
    manifest = manifest_of({"a.png": (TRACKING[2], "面单")})

    match = matched("a.png", index, manifest=manifest)
    assert (match.problem, match.candidates) == (MatchProblem.AMBIGUOUS, [2, 4])


def test_a_manifest_kind_that_is_no_kind_is_kind_unknown():
    manifest = manifest_of({"聊天/a.png": (TRACKING[1], "照片")})

    match = matched("聊天/a.png", manifest=manifest)
    assert (match.order_id, match.kind, match.problem) == (1, None, MatchProblem.KIND_UNKNOWN)
    assert "照片" in match.reason


def test_a_manifest_kind_may_be_a_label():
    manifest = manifest_of({"a.png": (TRACKING[1], "Screenshot of the courier's internal tracking")})

    assert matched("a.png", manifest=manifest).kind == EvidenceKind.COURIER_TRACKING


def test_a_gbk_archive_with_a_manifest_end_to_end():
    manifest = csv_bytes(
        [
            ["文件", "运单号", "类型"],
            ["聊天记录.png", TRACKING[2], "旺旺"],
            [f"{TRACKING[1]}/截图.png", TRACKING[3], "signed"],
        ],
        encoding="gbk",
    )
    data = gbk_zip(
        [
            ("证据/manifest.csv", manifest),
            ("证据/聊天记录.png", proof("chat")),
            (f"证据/{TRACKING[1]}/截图.png", proof("signed")),
            (f"证据/{TRACKING[1]}/面单.png", proof("slip")),
        ]
    )
    listing = archives.archive_entries(io.BytesIO(data))
    found = manifest_entry(listing.entries)
    assert found is not None
    with ArchiveReader(io.BytesIO(data)) as reader, reader.extract(found) as (content, _size, _sha256):
        read = manifest_read(found, content.read())
    index = orders()

    results = {
        item.path: (result.order_id, result.matched_by, result.kind, result.problem)
        for item in listing.entries
        if item is not found
        for result in [entry_match(item, index, VOCABULARY, read)]
    }
    assert results == {
        "证据/聊天记录.png": (2, MatchedBy.MANIFEST, EvidenceKind.CHAT_LOG, None),
        f"证据/{TRACKING[1]}/截图.png": (3, MatchedBy.MANIFEST, EvidenceKind.SIGNED_DELIVERY, None),
        f"证据/{TRACKING[1]}/面单.png": (1, MatchedBy.FOLDER, EvidenceKind.SHIPPING_SLIP, None),
    }


def test_files_of_a_zip_inside_match_by_its_name():
    data = make_zip([nested(f"{TRACKING[2]}.zip", [("签收.jpg", proof("s")), ("聊天/1.png", proof("c"))])])
    listing = archives.archive_entries(io.BytesIO(data))

    results = [
        (result.order_id, result.kind)
        for result in (entry_match(item, orders(), VOCABULARY, None) for item in listing.entries)
    ]
    assert results == [(2, EvidenceKind.SIGNED_DELIVERY), (2, EvidenceKind.CHAT_LOG)]


# --- Excluded orders --------------------------------------------------------------------------------


def test_a_file_for_an_excluded_order_is_reported():
    index = OrderIndex([order(1, excluded=True), order(2)])

    by_folder = matched(f"{TRACKING[1]}/面单.png", index)
    assert (by_folder.order_id, by_folder.problem) == (1, MatchProblem.ORDER_EXCLUDED)
    assert ORDER_ID[1] in by_folder.reason
    by_manifest = matched("a.png", index, manifest=manifest_of({"a.png": (TRACKING[1], "面单")}))
    assert by_manifest.problem == MatchProblem.ORDER_EXCLUDED
    assert matched(f"{TRACKING[2]}/面单.png", index).problem is None


def test_a_mapping_may_still_send_a_file_to_an_excluded_order():
    index = OrderIndex([order(1, excluded=True), order(2)])

    match = matched("a.png", index, rule=MappingRule(order_id=1, kind=EvidenceKind.SHIPPING_SLIP))
    assert (match.order_id, match.problem, match.matched_by) == (1, None, MatchedBy.MAPPING)


@pytest.mark.django_db
def test_an_order_excluded_through_the_service_is_reported(evidence_case: Case, manager):
    case_orders = list(evidence_case.flagged_orders.order_by("pk"))
    excluded = case_orders[1]
    services.flagged_order_set_excluded(
        case_id=evidence_case.pk, order_id=excluded.pk, actor=manager, excluded=True, reason="Refunded in full."
    )
    index = OrderIndex.for_case(evidence_case.pk)

    assert set(index.orders) == {item.pk for item in case_orders}
    assert [index.orders[item.pk].excluded for item in case_orders] == [False, True, False]
    match = entry_match(entry(f"{excluded.tracking_number}/面单.png"), index, VOCABULARY, None)
    assert (match.order_id, match.problem) == (excluded.pk, MatchProblem.ORDER_EXCLUDED)
    kept = entry_match(entry(f"{case_orders[0].platform_order_id} 聊天.png"), index, VOCABULARY, None)
    assert (kept.order_id, kept.kind, kept.problem) == (case_orders[0].pk, EvidenceKind.CHAT_LOG, None)


@pytest.mark.django_db
def test_for_case_holds_only_that_cases_orders(case_in, evidence_case: Case):
    other = case_in("evidence", orders=5, with_evidence=False)  # the same identifiers, another case
    index = OrderIndex.for_case(evidence_case.pk)

    assert set(index.orders) == set(evidence_case.flagged_orders.values_list("pk", flat=True))
    assert index.lookup(TRACKING[4]) == set()
    assert index.lookup(TRACKING[0]) == {evidence_case.flagged_orders.get(tracking_number=TRACKING[0]).pk}
    assert not set(index.orders) & set(other.flagged_orders.values_list("pk", flat=True))


# --- The mapping ------------------------------------------------------------------------------------


def test_the_mapping_wins_over_manifest_folder_and_file_name():
    manifest = manifest_of({f"{TRACKING[1]}/聊天.png": (TRACKING[2], "面单")})
    rule = MappingRule(order_id=3, kind=EvidenceKind.DELIVERY_RECORD)

    match = matched(f"{TRACKING[1]}/聊天.png", manifest=manifest, rule=rule)
    assert (match.order_id, match.matched_by, match.kind, match.kind_by, match.problem) == (
        3,
        MatchedBy.MAPPING,
        EvidenceKind.DELIVERY_RECORD,
        MatchedBy.MAPPING,
        None,
    )


def test_a_mapping_resolves_an_ambiguous_file():
    match = matched(f"{TRACKING[1]}/{TRACKING[2]} 聊天和签收.png", rule=MappingRule(order_id=2, kind="chat_log"))

    assert (match.order_id, match.kind, match.problem) == (2, EvidenceKind.CHAT_LOG, None)


def test_a_mapping_of_the_kind_only_leaves_the_order_to_the_names():
    match = matched(f"{TRACKING[1]}/聊天.png", rule=MappingRule(kind=EvidenceKind.OTHER))

    assert (match.order_id, match.matched_by, match.kind, match.kind_by) == (
        1,
        MatchedBy.FOLDER,
        EvidenceKind.OTHER,
        MatchedBy.MAPPING,
    )


def test_a_mapping_of_the_order_only_leaves_the_kind_to_the_names():
    match = matched("随便/聊天.png", rule=MappingRule(order_id=2))

    assert (match.order_id, match.matched_by, match.kind, match.kind_by) == (
        2,
        MatchedBy.MAPPING,
        EvidenceKind.CHAT_LOG,
        MatchedBy.FILE_NAME,
    )


def test_a_skipped_file_is_skipped_whatever_its_names_say():
    match = matched(f"{TRACKING[1]}/聊天.png", rule=MappingRule(skip=True))

    assert (match.problem, match.order_id, match.kind, match.matched_by) == (
        MatchProblem.SKIPPED,
        None,
        None,
        MatchedBy.MAPPING,
    )


def test_mapping_rules_reads_orders_kinds_and_skips():
    index = orders()

    rules = mapping_rules(
        {
            "a.png": {"order": TRACKING[1], "kind": "chat_log"},
            "b.png": {"order": ORDER_ID[2]},
            "c.png": {"kind": "signed_delivery"},
            "d.png": "skip",
            "e.png": {"skip": True},
            "f.png": {"order": "sf0000000003", "kind": ""},
            "g.png": {"order": int(ORDER_ID[3])},
        },
        index,
        VOCABULARY,
    )
    assert rules == {
        "a.png": MappingRule(order_id=1, kind="chat_log"),
        "b.png": MappingRule(order_id=2),
        "c.png": MappingRule(kind="signed_delivery"),
        "d.png": MappingRule(skip=True),
        "e.png": MappingRule(skip=True),
        "f.png": MappingRule(order_id=3),
        "g.png": MappingRule(order_id=3),
    }


@pytest.mark.parametrize("raw", [None, "", {}])
def test_no_mapping_is_no_rules(raw):
    assert mapping_rules(raw, orders(), VOCABULARY) == {}


@pytest.mark.parametrize("raw", [["a.png", "skip"], "skip", 42])
def test_a_mapping_that_is_not_an_object_is_refused(raw):
    assert len(mapping_error(raw)) == 1


@pytest.mark.parametrize("value", ["ignore", 42, None, [TRACKING[1]], {}, {"skip": False}])
def test_a_mapping_value_of_the_wrong_shape_is_refused(value):
    reasons = mapping_error({"a.png": value})

    assert len(reasons) == 1
    assert "a.png" in reasons[0]


def test_a_mapping_with_unknown_keys_is_refused():
    reasons = mapping_error({"a.png": {"order": TRACKING[1], "colour": "red"}})

    assert "colour" in reasons[0]


@pytest.mark.parametrize("order_value", ["SF9999999999", f"1{ORDER_ID[1]}", "chat_log"])
def test_a_mapping_naming_an_order_not_on_the_case_is_refused(order_value):
    reasons = mapping_error({"a.png": {"order": order_value, "kind": "chat_log"}})

    assert order_value in reasons[0]


def test_a_mapping_naming_a_shared_tracking_number_is_refused():
    reasons = mapping_error({"a.png": {"order": TRACKING[1]}}, orders(order(4, tracking=TRACKING[1])))

    assert TRACKING[1] in reasons[0]


@pytest.mark.parametrize("kind", ["photo", "聊天", "Chat log with the buyer", "CHAT_LOG"])
def test_a_mapping_naming_no_kind_code_is_refused(kind):
    reasons = mapping_error({"a.png": {"order": TRACKING[1], "kind": kind}})

    assert kind in reasons[0]


def test_a_mapping_reports_every_bad_file_at_once():
    reasons = mapping_error(
        {
            "good.png": {"order": TRACKING[1], "kind": "chat_log"},
            "bad-order.png": {"order": "SF9999999999"},
            "bad-kind.png": {"kind": "photo"},
            "bad-shape.png": "later",
        }
    )

    assert len(reasons) == 3
    assert [path for path in ("bad-order.png", "bad-kind.png", "bad-shape.png") if any(path in r for r in reasons)] == [
        "bad-order.png",
        "bad-kind.png",
        "bad-shape.png",
    ]
