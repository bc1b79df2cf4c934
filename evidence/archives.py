"""Reading evidence archives safely: the ZIP files merchants make, entry by entry, in constant memory.

What people send is a ZIP made on Windows, macOS or a phone, sometimes with ZIPs inside.
This module turns one into a list of entries (``archive_entries``) and unpacks one entry at
a time into a temporary file (``entry_extract``), so memory does not grow with the archive.

- **Names.** A ZIP made on Chinese Windows stores names in GBK without the UTF-8 flag;
  Python's zipfile then reads them as CP437 mojibake. The raw bytes are recovered and
  decoded as UTF-8 if they are valid UTF-8, else as GB18030 (a superset of GBK), else left
  as CP437. An Info-ZIP Unicode Path field, when present, wins.
- **Noise.** ``__MACOSX/``, ``.DS_Store``, ``Thumbs.db``, ``desktop.ini`` and AppleDouble
  ``._`` files are ignored; folders are not entries.
- **Nesting.** A ZIP inside the archive is opened, one level deep, as if it were a folder
  named after it; a ZIP inside that is reported, not opened.
- **Safety.** Nothing is ever written by the entry's name. Entries with an absolute path,
  ``..``, a NUL, a symlink or encryption are refused one by one. The whole archive is
  refused, before anything is inflated, when the central directory declares more entries,
  more bytes in all, or a higher compression ratio than the limits in settings; while an
  entry is unpacked, the bytes are counted and unpacking stops at its declared size (a
  member that inflates further fails, as zipfile never returns more than it declared).
"""

from __future__ import annotations

import hashlib
import lzma
import os
import stat
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from agency.errors import InvalidInput
from evidence.uploads import CHUNK_BYTES, MAX_NAME_LENGTH

__all__ = ["MAX_NAME_LENGTH", "ArchiveEntry", "ArchiveReader", "archive_checked", "archive_entries", "pack_files"]

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a ZIP with entries; an empty ZIP
# Bits of a ZIP entry's general purpose flags.
_ENCRYPTED = 0x1
_UTF8_NAME = 0x800
_UNICODE_PATH_FIELD = 0x7075
IGNORED_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db"})
# A member this small cannot hold a bomb whatever its ratio (a text file of blanks compresses 1000:1);
# the archive as a whole is held to the ratio as well, so many such members cannot add up to one.
RATIO_FLOOR_BYTES = 1024 * 1024
# What a damaged member raises while it is unpacked (lzma's error is not an OSError).
_DAMAGED = (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, zlib.error, lzma.LZMAError)
# The largest central directory read: this many bytes per allowed entry (a header is 46 bytes
# and a name at most 255 characters, with room for extra fields), checked before zipfile reads it.
DIRECTORY_BYTES_PER_ENTRY = 1024


class EntryProblem:
    """Why one entry of an archive is not read (the values appear in the preview as the file's status)."""

    UNSAFE_PATH = "unsafe_path"
    SYMLINK = "symlink"
    ENCRYPTED = "encrypted"
    TOO_LARGE = "too_large"
    EMPTY = "empty"
    NESTED_TOO_DEEP = "nested_too_deep"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class ArchiveEntry:
    """One file inside the archive: its path as people read it, and where its bytes are.

    ``path`` uses ``/`` between folders; a file inside a nested ZIP is under a folder
    named after that ZIP (``couriers.zip/SF123.jpg``). ``problem`` is set when the entry
    is refused without being unpacked, with ``reason`` saying why in words.
    """

    index: int
    path: str
    size: int
    compressed_size: int
    # The member's position in its ZIP's directory (two members may share a name).
    member: int
    # The position, in the archive, of the ZIP inside it that holds this entry.
    nested_in: int | None = None
    problem: str | None = None
    reason: str = ""

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def folders(self) -> tuple[str, ...]:
        return PurePosixPath(self.path).parts[:-1]


@dataclass
class ArchiveListing:
    """What the archive holds: the entries to match, and the noise that was ignored."""

    entries: list[ArchiveEntry] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def archive_error(message: str, **details: object) -> InvalidInput:
    return InvalidInput(message, details={"fields": {"file": [message]}, **details})


def is_zip(file: IO[bytes]) -> bool:
    file.seek(0)
    head = file.read(4)
    file.seek(0)
    return head in ZIP_SIGNATURES


# --- Names -------------------------------------------------------------------------------------


def _unicode_path_field(info: zipfile.ZipInfo) -> str | None:
    """The name from an Info-ZIP Unicode Path extra field (0x7075), if present and current."""
    extra = info.extra
    offset = 0
    while offset + 4 <= len(extra):
        header_id, length = struct.unpack_from("<HH", extra, offset)
        body = extra[offset + 4 : offset + 4 + length]
        offset += 4 + length
        if header_id != _UNICODE_PATH_FIELD or len(body) < 5 or body[0] != 1:
            continue
        # The field names the CRC of the header's own name; a tool that renamed the entry
        # without updating the field leaves a stale one, which is then ignored.
        (name_crc,) = struct.unpack_from("<I", body, 1)
        if name_crc != zlib.crc32(_raw_name(info)):
            return None
        try:
            return body[5:].decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    if info.flag_bits & _UTF8_NAME:
        return info.orig_filename.encode("utf-8")
    try:
        return info.orig_filename.encode("cp437")
    except UnicodeEncodeError:
        return info.orig_filename.encode("utf-8", "surrogateescape")


def decoded_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as its author saw it: UTF-8, else GBK (GB18030), else CP437."""
    unicode_field = _unicode_path_field(info)
    if unicode_field is not None:
        return unicode_field
    if info.flag_bits & _UTF8_NAME:
        return info.orig_filename
    raw = _raw_name(info)
    if raw.isascii():
        return raw.decode("ascii")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.orig_filename


def clean_path(name: str) -> tuple[str, str | None]:
    """The path with ``/`` separators, NFC-normalised (macOS writes decomposed names), and any problem."""
    path = unicodedata.normalize("NFC", name.replace("\\", "/"))
    if "\x00" in path:
        return path.replace("\x00", ""), _("The name contains a NUL character.")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return path, _("The name is an absolute path.")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        return path, _("The name leads out of the archive with “..”.")
    return "/".join(parts), None


def _is_ignored(path: str) -> bool:
    parts = path.split("/")
    if "__MACOSX" in parts[:-1]:
        return True
    name = parts[-1]
    return name.lower() in IGNORED_NAMES or name.startswith("._")


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


# --- The listing --------------------------------------------------------------------------------


def _check_directory(infos: list[zipfile.ZipInfo], *, label: str) -> None:
    """Refuse an archive from its central directory alone: too many entries, too many bytes, a bomb."""
    max_entries = settings.EVIDENCE_BULK_MAX_ENTRIES
    files = [info for info in infos if not info.is_dir()]
    if len(files) > max_entries:
        raise archive_error(
            _("%(archive)s holds %(count)d files; at most %(max)d are read from one upload. Split it.")
            % {"archive": label, "count": len(files), "max": max_entries}
        )
    max_total = settings.EVIDENCE_BULK_MAX_UNPACKED_BYTES
    total = sum(info.file_size for info in files)
    if total > max_total:
        raise archive_error(
            _("%(archive)s unpacks to %(size)s, more than the limit of %(limit)s. Split it.")
            % {"archive": label, "size": filesizeformat(total), "limit": filesizeformat(max_total)}
        )
    max_ratio = settings.EVIDENCE_BULK_MAX_COMPRESSION_RATIO
    for info in files:
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > max_ratio * max(info.compress_size, 1):
            raise archive_error(
                _("%(archive)s is refused: “%(name)s” would unpack to %(ratio)d times its size (a “ZIP bomb”).")
                % {
                    "archive": label,
                    "name": decoded_name(info),
                    "ratio": info.file_size // max(info.compress_size, 1),
                },
                entry=decoded_name(info),
            )
    packed = sum(info.compress_size for info in files)
    if total > RATIO_FLOOR_BYTES and total > max_ratio * max(packed, 1):
        raise archive_error(
            _("%(archive)s is refused: it would unpack to %(ratio)d times its size (a “ZIP bomb”).")
            % {"archive": label, "ratio": total // max(packed, 1)}
        )


def _check_end_record(file: IO[bytes], *, label: str) -> None:
    """Refuse a directory too large to read before zipfile reads it (it makes an object per entry).

    The end record gives the number of entries and the directory's size: an archive of a
    few megabytes can declare millions of empty entries.
    """
    max_entries = settings.EVIDENCE_BULK_MAX_ENTRIES
    try:
        end = zipfile._EndRecData(file)  # type: ignore[attr-defined]  # the record zipfile itself reads first
    except OSError:
        end = None
    finally:
        file.seek(0)
    if not end:
        return  # not a ZIP at all: ZipFile says so in words below
    entries, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
    # Folders are entries too; allow as many of them as files.
    if entries > 2 * max_entries or size > 2 * max_entries * DIRECTORY_BYTES_PER_ENTRY:
        raise archive_error(
            _("%(archive)s holds %(count)d entries; at most %(max)d files are read from one upload. Split it.")
            % {"archive": label, "count": entries, "max": max_entries}
        )


def _open_zip(file: IO[bytes], *, label: str) -> zipfile.ZipFile:
    _check_end_record(file, label=label)
    try:
        return zipfile.ZipFile(file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise archive_error(
            _("%(archive)s cannot be read as a ZIP archive; make it again and resend it.") % {"archive": label}
        ) from exc


def _entry(
    info: zipfile.ZipInfo,
    position: int,
    path: str,
    index: int,
    *,
    nested_in: int | None,
    problem: str | None,
    reason: str,
) -> ArchiveEntry:
    return ArchiveEntry(
        index=index,
        path=path,
        size=info.file_size,
        compressed_size=info.compress_size,
        member=position,
        nested_in=nested_in,
        problem=problem,
        reason=reason,
    )


def _problem_of(info: zipfile.ZipInfo, path_problem: str | None) -> tuple[str | None, str]:
    if path_problem:
        return EntryProblem.UNSAFE_PATH, path_problem
    if _is_symlink(info):
        return EntryProblem.SYMLINK, _("The entry is a symbolic link, not a file.")
    if info.flag_bits & _ENCRYPTED:
        return EntryProblem.ENCRYPTED, _("The entry is encrypted; send it without a password.")
    if info.file_size == 0:
        return EntryProblem.EMPTY, _("The file is empty.")
    max_bytes = settings.EVIDENCE_MAX_UPLOAD_BYTES
    if info.file_size > max_bytes:
        return EntryProblem.TOO_LARGE, _("The file is larger than the limit of %(limit)s.") % {
            "limit": filesizeformat(max_bytes)
        }
    return None, ""


def _looks_like_zip(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    if not info.filename.lower().endswith(".zip"):
        return False
    try:
        with archive.open(info) as member:
            return member.read(4) in ZIP_SIGNATURES
    except _DAMAGED:
        return False


def archive_entries(file: IO[bytes], *, label: str = "") -> ArchiveListing:
    """Every file in the archive (and in ZIPs inside it), refused ones included, in archive order.

    InvalidInput on field ``file`` when the archive itself is unreadable or over a limit;
    nothing has been unpacked then. Nested ZIPs are unpacked to a temporary file to read
    their own directory, which is checked against the same limits (counting the outer's).
    """
    label = label or _("The archive")
    listing = ArchiveListing()
    with _open_zip(file, label=label) as archive:
        infos = archive.infolist()
        _check_directory(infos, label=label)
        budget_entries = settings.EVIDENCE_BULK_MAX_ENTRIES
        budget_bytes = settings.EVIDENCE_BULK_MAX_UNPACKED_BYTES
        for position, info in enumerate(infos):
            if info.is_dir():
                continue
            path, path_problem = clean_path(decoded_name(info))
            if not path_problem and _is_ignored(path):
                listing.ignored.append(path)
                continue
            problem, reason = _problem_of(info, path_problem)
            opened = False
            if problem is None and _looks_like_zip(archive, info):
                try:
                    nested = _nested_entries(archive, info, position, path, start=len(listing.entries))
                except EntryUnreadable as exc:
                    problem, reason = EntryProblem.UNREADABLE, str(exc)
                else:
                    listing.entries.extend(nested.entries)
                    listing.ignored.extend(nested.ignored)
                    opened = True
            if not opened:
                listing.entries.append(
                    _entry(info, position, path, len(listing.entries), nested_in=None, problem=problem, reason=reason)
                )
            if len(listing.entries) > budget_entries:
                raise archive_error(
                    _("%(archive)s holds more than %(max)d files with the ZIPs inside it; split it.")
                    % {"archive": label, "max": budget_entries}
                )
        unpacked = sum(entry.size for entry in listing.entries if entry.problem is None)
        if unpacked > budget_bytes:
            raise archive_error(
                _("%(archive)s unpacks to more than the limit of %(limit)s with the ZIPs inside it. Split it.")
                % {"archive": label, "limit": filesizeformat(budget_bytes)}
            )
    return listing


def archive_checked(file: IO[bytes], *, label: str = "") -> int:
    """Check only the outer directory's limits; the bytes its files declare they unpack to.

    Whether an archive is read within the request goes by this (and its own size), so a
    small archive that unpacks to gigabytes is left to a worker. Opening the ZIPs inside it
    is left to whoever reads it (``archive_entries``).
    """
    label = label or _("The archive")
    with _open_zip(file, label=label) as archive:
        infos = archive.infolist()
        _check_directory(infos, label=label)
    file.seek(0)
    return sum(info.file_size for info in infos if not info.is_dir())


def _nested_entries(
    archive: zipfile.ZipFile, outer: zipfile.ZipInfo, outer_position: int, folder: str, *, start: int
) -> ArchiveListing:
    """The entries of a ZIP inside the archive; EntryUnreadable when that ZIP is damaged.

    Its limits are the archive's: breaking one refuses the whole upload (InvalidInput).
    """
    listing = ArchiveListing()
    with tempfile.TemporaryFile(dir=temp_dir()) as spooled:
        _copy_member(archive, outer, spooled)
        nested_label = _("“%(name)s” inside the archive") % {"name": folder}
        _check_end_record(spooled, label=nested_label)
        try:
            inner = zipfile.ZipFile(spooled)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            raise EntryUnreadable(_("The ZIP inside the archive is damaged and cannot be opened.")) from exc
        with inner:
            infos = inner.infolist()
            _check_directory(infos, label=nested_label)
            for position, info in enumerate(infos):
                if info.is_dir():
                    continue
                name, path_problem = clean_path(decoded_name(info))
                path = f"{folder}/{name}"
                if not path_problem and _is_ignored(name):
                    listing.ignored.append(path)
                    continue
                problem, reason = _problem_of(info, path_problem)
                if problem is None and info.filename.lower().endswith(".zip") and _looks_like_zip(inner, info):
                    problem = EntryProblem.NESTED_TOO_DEEP
                    reason = _("A ZIP inside a ZIP inside the archive is not opened; put its files in the archive.")
                listing.entries.append(
                    _entry(
                        info,
                        position,
                        path,
                        start + len(listing.entries),
                        nested_in=outer_position,
                        problem=problem,
                        reason=reason,
                    )
                )
    return listing


# --- Unpacking one entry -------------------------------------------------------------------------


class EntryUnreadable(Exception):
    """The entry's bytes are damaged (a CRC error, a truncated member) or not what it declared."""


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: IO[bytes]) -> tuple[int, str]:
    """Unpack a member into ``target`` in pieces, counting and hashing; stop past its declared size."""
    digest = hashlib.sha256()
    size = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(CHUNK_BYTES):
                size += len(chunk)
                if size > info.file_size:
                    raise EntryUnreadable(_("The entry unpacks to more than it declares."))
                digest.update(chunk)
                target.write(chunk)
    except _DAMAGED as exc:
        raise EntryUnreadable(_("The entry is damaged and cannot be unpacked.")) from exc
    target.flush()
    target.seek(0)
    return size, digest.hexdigest()


class ArchiveReader:
    """An open archive from which entries are unpacked one at a time (use as a context manager).

    Nested ZIPs are unpacked once to a temporary file each and kept open while the reader is.
    """

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._stack = ExitStack()
        self._outer: zipfile.ZipFile | None = None
        self._nested: dict[int, zipfile.ZipFile] = {}

    def __enter__(self) -> ArchiveReader:
        self._outer = self._stack.enter_context(_open_zip(self._file, label=_("The archive")))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _zip_for(self, entry: ArchiveEntry) -> zipfile.ZipFile:
        assert self._outer is not None
        if entry.nested_in is None:
            return self._outer
        nested = self._nested.get(entry.nested_in)
        if nested is None:
            spooled = self._stack.enter_context(tempfile.TemporaryFile(dir=temp_dir()))  # noqa: SIM115
            _copy_member(self._outer, self._outer.infolist()[entry.nested_in], spooled)
            nested = self._stack.enter_context(zipfile.ZipFile(spooled))
            self._nested[entry.nested_in] = nested
        return nested

    @contextmanager
    def extract(self, entry: ArchiveEntry) -> Iterator[tuple[IO[bytes], int, str]]:
        """The entry's bytes in a temporary file (deleted afterwards), with their size and SHA-256."""
        archive = self._zip_for(entry)
        with tempfile.NamedTemporaryFile(prefix="evidence-entry-", dir=temp_dir()) as target:
            size, sha256 = _copy_member(archive, archive.infolist()[entry.member], target)
            yield target, size, sha256


def temp_dir() -> str | None:
    """Where temporary files go: Django's FILE_UPLOAD_TEMP_DIR, else the system's."""
    folder = settings.FILE_UPLOAD_TEMP_DIR
    return str(folder) if folder else None


# --- Several files sent together ------------------------------------------------------------------


def pack_files(files: list[tuple[str, IO[bytes]]], target: IO[bytes]) -> None:
    """Put several uploaded files into one uncompressed ZIP, so they are read like an archive.

    ZIP files among them become nested archives. Names are the files' own names (UTF-8);
    two files with the same name keep both, the second numbered.
    """
    taken: set[str] = set()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, source in files:
            stem, extension = os.path.splitext(name)
            unique, number = name, 1
            while unique.lower() in taken:
                number += 1
                unique = f"{stem} ({number}){extension}"
            taken.add(unique.lower())
            source.seek(0)
            with archive.open(zipfile.ZipInfo(unique, date_time=(2000, 1, 1, 0, 0, 0)), "w", force_zip64=True) as out:
                while chunk := source.read(CHUNK_BYTES):
                    out.write(chunk)
    target.flush()
    target.seek(0)
