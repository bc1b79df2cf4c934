"""Reading evidence archives (``evidence.archives``): the names people's tools write (GBK without the
UTF-8 flag, UTF-8, decomposed macOS names, the Info-ZIP Unicode Path field), the noise that is ignored,
ZIPs inside ZIPs, each entry that is refused and why, the limits that refuse a whole archive before
anything is inflated, unpacking one entry (its size and SHA-256, and a member lying about its size),
and ``pack_files`` for several files sent together.

No database is needed: archives are built in memory by tests/evidence/zips.py.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import types
import zipfile
import zlib
from typing import IO, Any

import pytest

from agency.errors import InvalidInput
from evidence import archives
from evidence.archives import ArchiveEntry, ArchiveListing, ArchiveReader, EntryProblem, EntryUnreadable
from tests.evidence.zips import (
    Entry,
    bomb,
    encrypted_entry,
    gbk_zip,
    lying_size,
    make_zip,
    member_offset,
    nested,
    proof,
    renamed,
    symlink_entry,
    unflagged_zip,
    unicode_path_zip,
)

# --- Helpers ---------------------------------------------------------------------------------------


def listing_of(data: bytes, *, label: str = "") -> ArchiveListing:
    return archives.archive_entries(io.BytesIO(data), label=label)


def paths(data: bytes) -> list[str]:
    return [entry.path for entry in listing_of(data).entries]


def entry_named(listing: ArchiveListing, path: str) -> ArchiveEntry:
    found = [entry for entry in listing.entries if entry.path == path]
    assert len(found) == 1, f"{path!r} not listed once in {[entry.path for entry in listing.entries]}"
    return found[0]


def problems(data: bytes) -> dict[str, str | None]:
    return {entry.path: entry.problem for entry in listing_of(data).entries}


def file_error(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    """The reason given on the field ``file`` (where the upload form shows it)."""
    details = exc.value.details
    assert isinstance(details, dict)
    reasons = details["fields"]["file"]
    assert reasons, "the refusal names no reason on the field file"
    return " ".join(str(reason) for reason in reasons)


def extracted(data: bytes, entry: ArchiveEntry) -> tuple[bytes, int, str]:
    with ArchiveReader(io.BytesIO(data)) as reader, reader.extract(entry) as (target, size, sha256):
        return target.read(), size, sha256


def packed(files: list[tuple[str, bytes]]) -> bytes:
    target = io.BytesIO()
    archives.pack_files([(name, io.BytesIO(content)) for name, content in files], target)
    return target.getvalue()


class CountingFile:
    """A temporary file that counts the bytes written to it (for the member that lies about its size)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.written = 0

    def write(self, chunk: bytes) -> int:
        self.written += len(chunk)
        return int(self.real.write(chunk))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __enter__(self) -> CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.real.close()


@pytest.fixture
def inflations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every member opened for reading (zipfile's ``open``) or copied out (``_copy_member``), by name.

    The calls still go through, so a refusal that comes too late is seen in the list, not hidden
    behind an exception the code under test might catch.
    """
    opened: list[str] = []
    real_open = zipfile.ZipFile.open
    real_copy = archives._copy_member

    def spy_open(self: zipfile.ZipFile, name: Any, mode: str = "r", *args: Any, **kwargs: Any) -> IO[bytes]:
        if mode == "r":  # the tests' own archives are written through open(..., "w")
            opened.append(getattr(name, "filename", name))
        return real_open(self, name, mode, *args, **kwargs)

    def spy_copy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: IO[bytes]) -> tuple[int, str]:
        opened.append(f"copy:{info.filename}")
        return real_copy(archive, info, target)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy_open)
    monkeypatch.setattr(archives, "_copy_member", spy_copy)
    return opened


# --- Names -----------------------------------------------------------------------------------------


def test_gbk_names_without_the_utf8_flag_come_out_in_chinese():
    data = gbk_zip(
        [
            ("订单/聊天记录.png", proof("chat")),
            ("SF0000000001/签收单（正面）.jpg", proof("signed")),  # noqa: RUF001 - full-width, as typed in Chinese
            ("旺旺截图.png", proof("wangwang")),
        ]
    )
    assert not any(info.flag_bits & 0x800 for info in zipfile.ZipFile(io.BytesIO(data)).infolist())

    expected = ["订单/聊天记录.png", "SF0000000001/签收单（正面）.jpg", "旺旺截图.png"]  # noqa: RUF001
    assert paths(data) == expected


def test_a_gbk_entry_is_found_by_its_position_not_by_zipfiles_reading_of_its_name():
    data = gbk_zip([("README.txt", b"x"), ("订单/聊天记录.png", proof("chat"))])
    entry = entry_named(listing_of(data), "订单/聊天记录.png")

    assert entry.member == 1
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[1].filename != entry.path  # CP437 mojibake
    assert entry.name == "聊天记录.png"
    assert entry.folders == ("订单",)
    assert extracted(data, entry)[0] == proof("chat")


def test_utf8_names_with_the_flag_are_read_as_they_are():
    data = make_zip([("证据/SF0000000001/面单.png", proof("slip")), ("確認 confirmation.pdf", proof("c"))])
    assert all(info.flag_bits & 0x800 for info in zipfile.ZipFile(io.BytesIO(data)).infolist())

    assert paths(data) == ["证据/SF0000000001/面单.png", "確認 confirmation.pdf"]


def test_utf8_names_without_the_flag_are_recognised_as_utf8():
    data = unflagged_zip([("物流轨迹/SF0000000002.png", proof("track"))], encoding="utf-8")

    assert paths(data) == ["物流轨迹/SF0000000002.png"]


def test_a_name_neither_utf8_nor_gbk_stays_as_cp437_reads_it():
    # "café" from an old Western DOS tool: 0x82 is é in CP437 and starts no GB18030 character before "."
    data = unflagged_zip([("café.png", proof("cafe"))], encoding="cp437")

    assert paths(data) == ["café.png"]


def test_decomposed_macos_names_are_normalised_to_nfc():
    decomposed = "cafe\u0301/re\u0301sume\u0301 ガイド.png"  # e + combining acute, カ + combining dakuten
    assert decomposed != "café/résumé ガイド.png"
    data = make_zip([(decomposed, proof("nfd"))])

    assert paths(data) == ["café/résumé ガイド.png"]


def test_backslashes_and_dot_folders_become_plain_slash_paths():
    data = make_zip([("证据\\SF0000000001\\面单.png", proof("a")), ("./聊天//SF0000000002.png", proof("b"))])

    assert paths(data) == ["证据/SF0000000001/面单.png", "聊天/SF0000000002.png"]


def test_the_unicode_path_field_names_the_entry():
    data = unicode_path_zip("????/??.png", "订单/签收.png", proof("signed"))

    listing = listing_of(data)
    assert [entry.path for entry in listing.entries] == ["订单/签收.png"]
    assert listing.entries[0].member == 0
    assert extracted(data, listing.entries[0])[0] == proof("signed")


def test_the_unicode_path_field_wins_over_a_gbk_name():
    gbk_name = "签收.png".encode("gbk")  # 8 bytes, like the placeholder
    data = unicode_path_zip("abcd.png", "签收单.png", proof("x"), name_crc=zlib.crc32(gbk_name))

    assert paths(renamed(data, "abcd.png", gbk_name)) == ["签收单.png"]


def test_a_unicode_path_field_for_another_name_leaves_the_gbk_name():
    gbk_name = "签收.png".encode("gbk")
    data = unicode_path_zip("abcd.png", "签收单.png", proof("x"))  # its CRC is of "abcd.png"

    assert paths(renamed(data, "abcd.png", gbk_name)) == ["签收.png"]


def test_a_stale_unicode_path_field_is_ignored():
    # A tool renamed the entry without updating the field: the field's CRC is of another name.
    data = unicode_path_zip("renamed.png", "旧名字.png", proof("x"), name_crc=0x12345678)

    assert paths(data) == ["renamed.png"]


def test_a_unicode_path_field_of_another_version_is_ignored():
    data = unicode_path_zip("legacy.png", "新名字.png", proof("x"), version=2)

    assert paths(data) == ["legacy.png"]


# --- Noise and folders -------------------------------------------------------------------------------


def test_macos_and_windows_noise_is_ignored_and_listed_as_such():
    data = make_zip(
        [
            ("证据/SF0000000001.png", proof("a")),
            ("__MACOSX/证据/._SF0000000001.png", b"\x00\x05\x16\x07apple double"),
            ("证据/.DS_Store", b"\x00\x00\x00\x01Bud1"),
            ("证据/Thumbs.db", b"thumbs"),
            ("THUMBS.DB", b"thumbs"),
            ("证据/desktop.ini", b"[.ShellClassInfo]"),
            ("证据/._面单.png", b"\x00\x05\x16\x07"),
            ("ehthumbs.db", b"x"),
            ("证据/DS_Store notes.png", proof("kept")),
        ]
    )
    listing = listing_of(data)

    assert [entry.path for entry in listing.entries] == ["证据/SF0000000001.png", "证据/DS_Store notes.png"]
    assert sorted(listing.ignored) == sorted(
        [
            "__MACOSX/证据/._SF0000000001.png",
            "证据/.DS_Store",
            "证据/Thumbs.db",
            "THUMBS.DB",
            "证据/desktop.ini",
            "证据/._面单.png",
            "ehthumbs.db",
        ]
    )
    assert [entry.index for entry in listing.entries] == [0, 1]


def test_folders_are_not_entries():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.mkdir("证据")
        archive.mkdir("证据/SF0000000001")
        archive.writestr("证据/SF0000000001/面单.png", proof("a"))
    listing = listing_of(buffer.getvalue())

    assert [entry.path for entry in listing.entries] == ["证据/SF0000000001/面单.png"]
    assert listing.ignored == []


def test_an_entry_records_its_sizes():
    content = b"chat " * 2000
    listing = listing_of(make_zip([("聊天.txt", content)]))

    entry = listing.entries[0]
    assert entry.size == len(content)
    assert 0 < entry.compressed_size < len(content)
    assert entry.nested_in is None
    assert entry.problem is None
    assert entry.reason == ""


# --- ZIPs inside the archive -------------------------------------------------------------------------


def test_a_zip_inside_is_opened_as_a_folder_named_after_it():
    data = make_zip(
        [
            ("SF0000000001/面单.png", proof("slip")),
            nested("SF0000000002/couriers.zip", [("签收.jpg", proof("signed")), ("物流/轨迹.png", proof("track"))]),
            ("聊天.png", proof("chat")),
        ]
    )
    listing = listing_of(data)

    assert [(entry.index, entry.path, entry.nested_in) for entry in listing.entries] == [
        (0, "SF0000000001/面单.png", None),
        (1, "SF0000000002/couriers.zip/签收.jpg", 1),
        (2, "SF0000000002/couriers.zip/物流/轨迹.png", 1),
        (3, "聊天.png", None),
    ]
    inner = entry_named(listing, "SF0000000002/couriers.zip/物流/轨迹.png")
    assert inner.member == 1  # its position inside couriers.zip, which is the archive's member 1
    assert inner.folders == ("SF0000000002", "couriers.zip", "物流")
    assert all(entry.problem is None for entry in listing.entries)


def test_a_zip_inside_with_gbk_names_and_noise():
    data = make_zip(
        [
            nested(
                "inner.zip",
                [
                    ("订单/聊天记录.png", proof("chat")),
                    ("__MACOSX/订单/._聊天记录.png", b"\x00\x05"),
                    (".DS_Store", b"x"),
                ],
                gbk=True,
            )
        ]
    )
    listing = listing_of(data)

    assert [entry.path for entry in listing.entries] == ["inner.zip/订单/聊天记录.png"]
    assert sorted(listing.ignored) == sorted(["inner.zip/__MACOSX/订单/._聊天记录.png", "inner.zip/.DS_Store"])
    assert extracted(data, listing.entries[0])[0] == proof("chat")


def test_a_zip_inside_a_zip_inside_is_reported_not_opened():
    deeper = nested("deeper.zip", [("SF0000000001.png", proof("deep"))])
    data = make_zip([nested("inner.zip", [deeper, ("a.png", proof("a"))])])
    listing = listing_of(data)

    assert [(entry.path, entry.problem) for entry in listing.entries] == [
        ("inner.zip/deeper.zip", EntryProblem.NESTED_TOO_DEEP),
        ("inner.zip/a.png", None),
    ]
    assert entry_named(listing, "inner.zip/deeper.zip").reason
    assert not any("SF0000000001" in entry.path for entry in listing.entries)


def test_a_file_named_zip_that_is_not_a_zip_is_an_ordinary_entry():
    data = make_zip([("notes.zip", b"not a zip at all, just text"), ("inner.ZIP", make_zip([("a.png", proof("a"))]))])

    assert problems(data) == {"notes.zip": None, "inner.ZIP/a.png": None}


def test_a_zip_under_another_name_is_not_opened():
    data = make_zip([("contract.docx", make_zip([("word/document.xml", b"<w/>")]))])

    assert paths(data) == ["contract.docx"]


def test_a_refused_zip_inside_is_not_opened():
    data = encrypted_entry(make_zip([nested("inner.zip", [("a.png", proof("a"))])]), "inner.zip")

    assert problems(data) == {"inner.zip": EntryProblem.ENCRYPTED}


def test_entries_inside_a_zip_inside_are_refused_one_by_one_too():
    inner = encrypted_entry(make_zip([("secret.png", proof("s")), ("ok.png", proof("ok"))]), "secret.png")
    data = make_zip([("inner.zip", inner), ("other.png", proof("o"))])

    assert problems(data) == {
        "inner.zip/secret.png": EntryProblem.ENCRYPTED,
        "inner.zip/ok.png": None,
        "other.png": None,
    }


def test_an_unsafe_name_inside_a_zip_inside_is_refused():
    data = make_zip([nested("inner.zip", [("../../escape.png", proof("e"))])])

    assert [entry.problem for entry in listing_of(data).entries] == [EntryProblem.UNSAFE_PATH]


def test_a_damaged_zip_inside_does_not_escape_as_an_unreadable_entry_error():
    """A ZIP inside whose packed bytes are damaged (its CRC fails once copied out of the outer archive).

    ``archive_entries`` promises InvalidInput on ``file`` for an archive it cannot read; the
    entry could also be listed as ``unreadable``. ``EntryUnreadable`` is the error of
    ``ArchiveReader.extract`` and nobody calling ``archive_entries`` handles it.
    """
    inner = make_zip([(f"SF000000000{i}.png", os.urandom(3000)) for i in range(4)], compression=zipfile.ZIP_STORED)
    data = bytearray(make_zip([("inner.zip", inner)], compression=zipfile.ZIP_STORED))
    data[member_offset(bytes(data), "inner.zip") + 5000] ^= 0xFF  # a byte of the third photo: the CRC fails

    outcome: object
    try:
        outcome = listing_of(bytes(data))
    except InvalidInput as exc:
        outcome = exc
    except EntryUnreadable as exc:
        pytest.fail(f"archive_entries raised EntryUnreadable for a damaged ZIP inside: {exc}")

    if isinstance(outcome, InvalidInput):
        assert outcome.details["fields"]["file"]
    else:
        assert isinstance(outcome, ArchiveListing)
        assert [(entry.path, entry.problem) for entry in outcome.entries] == [("inner.zip", EntryProblem.UNREADABLE)]


# --- Entries refused one by one ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "/etc/passwd",
        "../outside.png",
        "证据/../../outside.png",
        "..\\..\\Windows\\evil.png",
        "C:\\Windows\\evil.png",
        "C:/evil.png",
        "D:evil.png",
        "\\\\server\\share\\evil.png",
    ],
)
def test_unsafe_paths_are_refused(name):
    data = make_zip([(name, proof("bad")), ("SF0000000001.png", proof("good"))])
    listing = listing_of(data)

    assert [entry.problem for entry in listing.entries] == [EntryProblem.UNSAFE_PATH, None]
    assert listing.entries[0].reason
    assert listing.ignored == []


def test_a_name_with_a_nul_is_refused():
    data = renamed(make_zip([("evil#.png", proof("x"))]), "evil#.png", b"evil\x00.png")
    listing = listing_of(data)

    assert [(entry.path, entry.problem) for entry in listing.entries] == [("evil.png", EntryProblem.UNSAFE_PATH)]
    assert "NUL" in listing.entries[0].reason


def test_a_symlink_is_refused():
    data = symlink_entry(make_zip([("link.png", b"/etc/passwd"), ("SF0000000001.png", proof("a"))]), "link.png")

    assert problems(data) == {"link.png": EntryProblem.SYMLINK, "SF0000000001.png": None}


def test_an_encrypted_entry_is_refused():
    data = encrypted_entry(make_zip([("secret.png", proof("s")), ("SF0000000001.png", proof("a"))]), "secret.png")

    listing = listing_of(data)
    assert problems(data) == {"secret.png": EntryProblem.ENCRYPTED, "SF0000000001.png": None}
    assert "password" in entry_named(listing, "secret.png").reason


def test_an_empty_file_is_refused():
    data = make_zip([("empty.png", b""), ("SF0000000001.png", proof("a"))])

    assert problems(data) == {"empty.png": EntryProblem.EMPTY, "SF0000000001.png": None}


def test_a_file_over_the_upload_limit_is_refused_and_one_at_the_limit_is_not(settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 100
    data = make_zip([("big.png", b"x" * 101), ("exact.png", b"y" * 100)])

    listing = listing_of(data)
    assert problems(data) == {"big.png": EntryProblem.TOO_LARGE, "exact.png": None}
    assert "100" in entry_named(listing, "big.png").reason


def test_entries_keep_their_archive_order_and_numbers_with_refusals_among_them():
    data = make_zip([("a.png", proof("a")), ("../b.png", proof("b")), ("c.png", b""), ("d.png", proof("d"))])

    assert [(entry.index, entry.path, entry.problem) for entry in listing_of(data).entries] == [
        (0, "a.png", None),
        (1, "../b.png", EntryProblem.UNSAFE_PATH),
        (2, "c.png", EntryProblem.EMPTY),
        (3, "d.png", None),
    ]


# --- Whole archives refused --------------------------------------------------------------------------


def test_not_a_zip_is_refused_on_the_field_file():
    with pytest.raises(InvalidInput) as exc:
        listing_of(proof("a photo, not a zip"), label="evidence.zip")

    assert "evidence.zip" in file_error(exc)


def test_a_truncated_zip_is_refused_on_the_field_file():
    data = make_zip([("a.png", proof("a") * 100)])

    with pytest.raises(InvalidInput) as exc:
        listing_of(data[: len(data) // 2])
    assert file_error(exc)


def test_an_empty_zip_lists_nothing():
    assert listing_of(make_zip([])) == ArchiveListing()


def test_is_zip_reads_the_signature_and_rewinds():
    file = io.BytesIO(make_zip([("a.png", proof("a"))]))
    file.seek(10)

    assert archives.is_zip(file)
    assert file.tell() == 0
    assert archives.is_zip(io.BytesIO(make_zip([])))
    assert not archives.is_zip(io.BytesIO(proof("x")))


def test_the_inflation_spy_sees_members_being_read(inflations):
    # The guard for the "before anything is read" tests below: opening a ZIP inside is seen.
    listing_of(make_zip([nested("inner.zip", [("a.png", proof("a"))])]))

    assert "inner.zip" in inflations
    assert "copy:inner.zip" in inflations


def test_too_many_files_are_refused_before_anything_is_read(settings, inflations):
    settings.EVIDENCE_BULK_MAX_ENTRIES = 3
    # A ZIP inside comes first: a check made late would have unpacked it.
    data = make_zip([nested("inner.zip", [("x.png", proof("x"))]), *[(f"{i}.png", proof(str(i))) for i in range(3)]])

    with pytest.raises(InvalidInput) as exc:
        listing_of(data, label="bulk.zip")
    assert "bulk.zip" in file_error(exc)
    assert "4" in file_error(exc)
    assert "3" in file_error(exc)
    assert inflations == []


def test_as_many_files_as_the_limit_are_read_and_folders_do_not_count(settings):
    settings.EVIDENCE_BULK_MAX_ENTRIES = 3
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.mkdir("a")
        archive.mkdir("a/b")
        for i in range(3):
            archive.writestr(f"a/b/{i}.png", proof(str(i)))

    assert len(listing_of(buffer.getvalue()).entries) == 3


def test_noise_counts_towards_the_number_of_files(settings):
    settings.EVIDENCE_BULK_MAX_ENTRIES = 2
    data = make_zip([("a.png", proof("a")), ("b.png", proof("b")), ("__MACOSX/._a.png", b"x")])

    with pytest.raises(InvalidInput):
        listing_of(data)


def test_too_many_bytes_in_all_are_refused_before_anything_is_read(settings, inflations):
    small_zip = make_zip([("x.png", b"x")])
    settings.EVIDENCE_BULK_MAX_UNPACKED_BYTES = 1000 + len(small_zip)
    data = make_zip([("inner.zip", small_zip), ("a.png", b"a" * 500), ("b.png", b"b" * 501)])

    with pytest.raises(InvalidInput) as exc:
        listing_of(data)
    assert file_error(exc)
    assert inflations == []


def test_exactly_the_byte_limit_is_read(settings):
    settings.EVIDENCE_BULK_MAX_UNPACKED_BYTES = 1000

    assert len(listing_of(make_zip([("a.png", b"a" * 500), ("b.png", b"b" * 500)])).entries) == 2


def test_a_zip_bomb_is_refused_without_inflating_anything(inflations):
    # As bomb(5), after a ZIP inside: a check made late would have unpacked that one.
    zeros = b"\x00" * (5 * 1024 * 1024)
    data = make_zip([nested("inner.zip", [("x.png", proof("x"))]), ("SF0000000000/面单.png", zeros)])
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("SF0000000000/面单.png")
    assert info.file_size > 100 * info.compress_size  # really a bomb at the default ratio

    with pytest.raises(InvalidInput) as exc:
        listing_of(data, label="bomb.zip")
    assert "bomb.zip" in file_error(exc)
    assert "面单.png" in file_error(exc)
    assert exc.value.details["entry"] == "SF0000000000/面单.png"
    assert inflations == []


def test_the_compression_ratio_limit_is_a_setting(settings):
    settings.EVIDENCE_BULK_MAX_COMPRESSION_RATIO = 100_000

    assert paths(bomb(2)) == ["SF0000000000/面单.png"]


def test_a_small_member_may_compress_well(settings):
    # Under 1 MiB no ratio is a bomb: a text file of blanks compresses a thousand times.
    settings.EVIDENCE_BULK_MAX_COMPRESSION_RATIO = 10
    data = make_zip([("chat.txt", b" " * (archives.RATIO_FLOOR_BYTES - 1))])

    assert paths(data) == ["chat.txt"]


def test_a_bomb_inside_a_zip_inside_is_refused():
    data = make_zip([nested("inner.zip", [("zeros.png", b"\x00" * (3 * 1024 * 1024))])], compression=0)

    with pytest.raises(InvalidInput) as exc:
        listing_of(data)
    assert "inner.zip" in file_error(exc)


def test_the_files_of_zips_inside_count_towards_the_number_of_files(settings):
    settings.EVIDENCE_BULK_MAX_ENTRIES = 4
    # The outer directory holds 3 files, the inner one 3: each within the limit, 5 in all.
    data = make_zip(
        [
            ("a.png", proof("a")),
            ("b.png", proof("b")),
            nested("inner.zip", [("c.png", proof("c")), ("d.png", proof("d")), ("e.png", proof("e"))]),
        ]
    )

    with pytest.raises(InvalidInput) as exc:
        listing_of(data)
    assert file_error(exc)


def test_the_bytes_of_zips_inside_count_towards_the_limit(settings):
    settings.EVIDENCE_BULK_MAX_UNPACKED_BYTES = 10_000
    # The outer directory declares about 800 bytes, the inner one exactly 10 000: each within the limit.
    inner = make_zip([("c.png", b"c" * 5000), ("d.png", b"d" * 5000)])
    data = make_zip([("a.png", os.urandom(500)), ("inner.zip", inner)], compression=zipfile.ZIP_STORED)
    assert 500 + len(inner) <= 10_000

    with pytest.raises(InvalidInput) as exc:
        listing_of(data)
    assert file_error(exc)

    settings.EVIDENCE_BULK_MAX_UNPACKED_BYTES = 10_500
    assert len(listing_of(data).entries) == 3


def test_archive_checked_reads_the_outer_directory_only_and_rewinds(settings):
    inner_bomb = make_zip([nested("inner.zip", [("zeros.png", b"\x00" * (3 * 1024 * 1024))])], compression=0)
    file = io.BytesIO(inner_bomb)

    archives.archive_checked(file)  # the bomb inside is left to archive_entries
    assert file.tell() == 0

    with pytest.raises(InvalidInput):
        archives.archive_checked(io.BytesIO(bomb(5)))
    settings.EVIDENCE_BULK_MAX_ENTRIES = 1
    with pytest.raises(InvalidInput):
        archives.archive_checked(io.BytesIO(make_zip([("a.png", b"a"), ("b.png", b"b")])))
    with pytest.raises(InvalidInput) as exc:
        archives.archive_checked(io.BytesIO(b"PK\x03\x04 but nothing else"), label="odd.zip")
    assert "odd.zip" in file_error(exc)


# --- Unpacking one entry ---------------------------------------------------------------------------


def test_extract_gives_the_bytes_their_size_and_sha256():
    content = os.urandom(200_000)  # several chunks
    data = make_zip([("证据/SF0000000001/面单.png", content), ("other.png", proof("o"))])
    entry = entry_named(listing_of(data), "证据/SF0000000001/面单.png")

    read, size, sha256 = extracted(data, entry)
    assert read == content
    assert size == len(content)
    assert sha256 == hashlib.sha256(content).hexdigest()


def test_extract_from_a_zip_inside():
    inner_content = os.urandom(70_000)
    data = make_zip(
        [
            ("outer.png", proof("outer")),
            nested("inner.zip", [("签收.jpg", inner_content), ("轨迹.png", proof("t"))]),
        ]
    )
    listing = listing_of(data)

    with ArchiveReader(io.BytesIO(data)) as reader:
        for entry, expected in [
            (entry_named(listing, "inner.zip/签收.jpg"), inner_content),
            (entry_named(listing, "outer.png"), proof("outer")),
            (entry_named(listing, "inner.zip/轨迹.png"), proof("t")),
        ]:
            with reader.extract(entry) as (target, size, sha256):
                assert target.read() == expected
                assert size == len(expected)
                assert sha256 == hashlib.sha256(expected).hexdigest()


def test_extract_from_a_zip_inside_with_a_gbk_name():
    data = gbk_zip([nested("证据包.zip", [("签收.jpg", proof("signed"))], gbk=True)])
    listing = listing_of(data)

    assert [entry.path for entry in listing.entries] == ["证据包.zip/签收.jpg"]
    assert extracted(data, listing.entries[0])[0] == proof("signed")


def test_each_of_two_members_of_one_name_is_extracted_as_listed():
    """ZIP allows one name twice (zipfile writes it with a warning): each entry must give its own bytes."""
    with pytest.warns(UserWarning, match="Duplicate name"):
        data = make_zip([("SF0000000001/签收.png", proof("first")), ("SF0000000001/签收.png", proof("second, longer"))])
    listing = listing_of(data)
    assert [entry.size for entry in listing.entries] == [len(proof("first")), len(proof("second, longer"))]

    assert [extracted(data, entry)[:2] for entry in listing.entries] == [
        (proof("first"), len(proof("first"))),
        (proof("second, longer"), len(proof("second, longer"))),
    ]


def test_the_extracted_file_is_deleted_afterwards(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    data = make_zip([("a.png", proof("a"))])
    entry = listing_of(data).entries[0]

    with ArchiveReader(io.BytesIO(data)) as reader, reader.extract(entry) as (target, _size, _sha256):
        assert os.path.dirname(target.name) == str(tmp_path)
        assert os.path.exists(target.name)
    assert list(tmp_path.iterdir()) == []


def test_a_member_lying_about_its_size_is_unreadable_and_never_written_past_it(monkeypatch):
    content = os.urandom(300_000)  # several chunks
    declared = 1000
    data = lying_size(make_zip([("liar.png", content)]), "liar.png", declared)
    entry = listing_of(data).entries[0]
    assert entry.size == declared

    targets: list[CountingFile] = []

    def named_temporary_file(**kwargs: Any) -> CountingFile:
        target = CountingFile(tempfile.NamedTemporaryFile(**kwargs))  # noqa: SIM115 - closed by CountingFile
        targets.append(target)
        return target

    monkeypatch.setattr(
        archives,
        "tempfile",
        types.SimpleNamespace(NamedTemporaryFile=named_temporary_file, TemporaryFile=tempfile.TemporaryFile),
    )
    with ArchiveReader(io.BytesIO(data)) as reader, pytest.raises(EntryUnreadable), reader.extract(entry):
        pytest.fail("a member that unpacks past its declared size was handed out")

    assert len(targets) == 1
    assert targets[0].written <= declared


def test_a_stored_member_lying_about_its_size_is_unreadable():
    data = lying_size(make_zip([("liar.png", b"z" * 5000)], compression=zipfile.ZIP_STORED), "liar.png", 100)
    entry = listing_of(data).entries[0]

    with pytest.raises(EntryUnreadable):
        extracted(data, entry)


def test_copy_member_stops_at_the_declared_size():
    data = lying_size(make_zip([("liar.png", os.urandom(200_000))]), "liar.png", 70_000)
    target = io.BytesIO()

    with zipfile.ZipFile(io.BytesIO(data)) as archive, pytest.raises(EntryUnreadable):
        archives._copy_member(archive, archive.getinfo("liar.png"), target)
    assert len(target.getvalue()) <= 70_000


def test_a_damaged_member_is_unreadable():
    content = os.urandom(5000)
    data = bytearray(make_zip([("damaged.png", content)], compression=zipfile.ZIP_STORED))
    data[member_offset(bytes(data), "damaged.png") + 100] ^= 0xFF
    entry = listing_of(bytes(data)).entries[0]

    with pytest.raises(EntryUnreadable):
        extracted(bytes(data), entry)


# --- Several files sent together -----------------------------------------------------------------------


def test_pack_files_keeps_the_names_and_bytes():
    data = packed([("SF0000000001 面单.png", proof("a")), ("聊天记录.jpg", proof("b"))])
    listing = listing_of(data)

    assert [entry.path for entry in listing.entries] == ["SF0000000001 面单.png", "聊天记录.jpg"]
    assert all(info.compress_type == zipfile.ZIP_STORED for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    assert extracted(data, listing.entries[1])[0] == proof("b")


def test_pack_files_numbers_the_same_name():
    data = packed(
        [
            ("签收.png", proof("1")),
            ("签收.png", proof("2")),
            ("SIGNED.png", proof("3")),
            ("signed.png", proof("4")),
            ("签收.png", proof("5")),
        ]
    )
    listing = listing_of(data)

    assert [entry.path for entry in listing.entries] == [
        "签收.png",
        "签收 (2).png",
        "SIGNED.png",
        "signed (2).png",
        "签收 (3).png",
    ]
    assert [extracted(data, entry)[0] for entry in listing.entries] == [proof(str(i)) for i in range(1, 6)]


def test_pack_files_never_writes_two_members_of_one_name():
    """A file already called "a (2).png" and two called "a.png": three members, three names."""
    data = packed([("a.png", proof("1")), ("a.png", proof("2")), ("a (2).png", proof("3"))])
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()

    assert len(set(names)) == 3, names
    listing = listing_of(data)
    assert sorted(extracted(data, entry)[0] for entry in listing.entries) == sorted(
        [proof("1"), proof("2"), proof("3")]
    )


def test_pack_files_reads_each_upload_from_its_start():
    upload = io.BytesIO(proof("read before"))
    upload.read()
    target = io.BytesIO()

    archives.pack_files([("a.png", upload)], target)
    assert target.tell() == 0
    assert zipfile.ZipFile(target).read("a.png") == proof("read before")


def test_zips_among_packed_files_become_zips_inside():
    inner: Entry = nested("couriers.zip", [("SF0000000001.jpg", proof("a")), ("SF0000000002.jpg", proof("b"))])
    data = packed([("聊天.png", proof("chat")), inner])
    listing = listing_of(data)

    assert [(entry.path, entry.nested_in) for entry in listing.entries] == [
        ("聊天.png", None),
        ("couriers.zip/SF0000000001.jpg", 1),
        ("couriers.zip/SF0000000002.jpg", 1),
    ]
    assert extracted(data, listing.entries[2])[0] == proof("b")


# --- Found in review: the directory's size, the archive-wide ratio, LZMA damage -------------------------


def test_a_directory_of_too_many_entries_is_refused_before_zipfile_reads_it(settings, monkeypatch):
    settings.EVIDENCE_BULK_MAX_ENTRIES = 10
    data = make_zip([(f"folder{index}/", b"") for index in range(25)])  # 25 folders: entries, not files

    def must_not_open(*args, **kwargs):
        raise AssertionError("zipfile read the directory of an archive whose end record is over the limit")

    monkeypatch.setattr(archives.zipfile, "ZipFile", must_not_open)
    with pytest.raises(InvalidInput) as exc:
        listing_of(data, label="folders.zip")
    assert "25 entries" in file_error(exc)


def test_many_small_members_of_zeros_are_refused_as_a_bomb_together(settings):
    # Each member is under the 1 MiB floor of the per-member check; together they are a bomb.
    data = make_zip([(f"SF{index:010d}/面单.png", b"\x00" * (512 * 1024)) for index in range(8)])

    with pytest.raises(InvalidInput) as exc:
        listing_of(data, label="zeros.zip")
    assert "zeros.zip is refused: it would unpack to" in file_error(exc)


def test_a_damaged_lzma_member_is_unreadable_not_a_crash():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_LZMA) as archive:
        archive.writestr("SF0000000001/面单.png", proof("lzma") + os.urandom(4000))
    data = bytearray(buffer.getvalue())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("SF0000000001/面单.png")
    start = info.header_offset + 30 + len(info.orig_filename.encode()) + len(info.extra)
    for offset in range(start + 20, start + 60):
        data[offset] ^= 0xFF
    listing = listing_of(bytes(data))

    with pytest.raises(EntryUnreadable):
        extracted(bytes(data), listing.entries[0])
