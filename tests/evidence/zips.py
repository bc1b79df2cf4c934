"""Archives built by the tests, the way people's tools make them: Chinese Windows (GBK names without
the UTF-8 flag), macOS (``__MACOSX/`` and ``.DS_Store``), ZIPs inside ZIPs, and hostile ones."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable

from tests.evidence.samples import png

Entry = tuple[str, bytes]


# Every entry carries this time, so the same entries always make the same bytes (and SHA-256).
ENTRY_TIME = (2026, 12, 1, 9, 30, 0)


def make_zip(entries: Iterable[Entry], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP with these (name, bytes) entries; names with non-ASCII characters carry the UTF-8 flag.

    As ``ZipFile.writestr(name, ...)`` writes them, except for the fixed time: an archive
    built twice is the same archive, whatever the clock did in between.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=ENTRY_TIME)
            info.compress_type = compression
            info.external_attr = (0o40775 << 16) | 0x10 if name.endswith("/") else 0o600 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def gbk_zip(entries: Iterable[Entry]) -> bytes:
    """A ZIP as Chinese Windows' own "send to compressed folder" makes it: names in GBK, no UTF-8 flag."""
    return unflagged_zip(entries, encoding="gbk")


def unflagged_zip(entries: Iterable[Entry], *, encoding: str) -> bytes:
    """A ZIP whose names are in ``encoding`` without the UTF-8 flag (GBK, or UTF-8 by a careless tool).

    zipfile writes non-ASCII names as UTF-8 with the flag, so each name is written as an
    ASCII placeholder of the same byte length and swapped for its encoded bytes afterwards
    (a name is not covered by any checksum).
    """
    entries = list(entries)
    placeholders = []
    for number, (name, _content) in enumerate(entries):
        encoded = name.encode(encoding)
        tag = f"#{number:04d}#"
        if encoded.isascii():
            placeholders.append((name, encoded))
            continue
        assert len(encoded) >= len(tag), f"{name!r} is too short to stand in for"
        placeholders.append((tag + "x" * (len(encoded) - len(tag)), encoded))
    data = make_zip(
        (placeholder, content) for (placeholder, _encoded), (_name, content) in zip(placeholders, entries, strict=True)
    )
    for placeholder, encoded in placeholders:
        data = data.replace(placeholder.encode("ascii"), encoded)
    return data


def _central_records(data: bytes) -> list[int]:
    """Offsets of the central directory records."""
    end = data.rindex(b"PK\x05\x06")
    count, _size, start = struct.unpack_from("<HII", data, end + 10)
    offsets = []
    offset = start
    for _ in range(count):
        assert data[offset : offset + 4] == b"PK\x01\x02"
        offsets.append(offset)
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, offset + 28)
        offset += 46 + name_length + extra_length + comment_length
    return offsets


def with_flags(data: bytes, member: str, *, flags: int = 0, external_attr: int | None = None) -> bytes:
    """The archive with extra general-purpose flag bits (and maybe other file attributes) on one member."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    patched = bytearray(data)
    local = info.header_offset
    (local_flags,) = struct.unpack_from("<H", patched, local + 6)
    struct.pack_into("<H", patched, local + 6, local_flags | flags)
    for offset in _central_records(data):
        name_length = struct.unpack_from("<H", data, offset + 28)[0]
        if data[offset + 46 : offset + 46 + name_length] == info.orig_filename.encode():
            (central_flags,) = struct.unpack_from("<H", patched, offset + 8)
            struct.pack_into("<H", patched, offset + 8, central_flags | flags)
            if external_attr is not None:
                struct.pack_into("<I", patched, offset + 38, external_attr)
    return bytes(patched)


def encrypted_entry(data: bytes, member: str) -> bytes:
    return with_flags(data, member, flags=0x1)


def symlink_entry(data: bytes, member: str) -> bytes:
    return with_flags(data, member, external_attr=(stat.S_IFLNK | 0o777) << 16)


def lying_size(data: bytes, member: str, declared: int) -> bytes:
    """The archive with one member declaring a smaller unpacked size than it really has."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    patched = bytearray(data)
    struct.pack_into("<I", patched, info.header_offset + 22, declared)
    for offset in _central_records(data):
        name_length = struct.unpack_from("<H", data, offset + 28)[0]
        if data[offset + 46 : offset + 46 + name_length] == info.orig_filename.encode():
            struct.pack_into("<I", patched, offset + 24, declared)
    return bytes(patched)


def bomb(megabytes: int = 5) -> bytes:
    """A small archive whose one file unpacks to ``megabytes`` of zeros (about 1000 times its packed size)."""
    return make_zip([("SF0000000000/面单.png", b"\x00" * (megabytes * 1024 * 1024))])


def proof(tag: str) -> bytes:
    """A distinct little PNG: evidence bytes for one file of an archive."""
    return png(tag)


def renamed(data: bytes, placeholder: str, raw_name: bytes) -> bytes:
    """The archive with a member's name bytes replaced (same length): names zipfile will not write, like a NUL."""
    encoded = placeholder.encode("ascii")
    assert len(encoded) == len(raw_name), "the placeholder must have the raw name's length"
    assert data.count(encoded) == 2, "the placeholder must occur once in the local and once in the central header"
    return data.replace(encoded, raw_name)


def unicode_path_zip(
    raw_name: str, unicode_name: str, content: bytes, *, name_crc: int | None = None, version: int = 1
) -> bytes:
    """One member whose header name is ``raw_name`` (ASCII, as WinRAR writes "?" for what it cannot encode)
    with an Info-ZIP Unicode Path extra field (0x7075) naming it ``unicode_name``.

    The field carries the CRC-32 of the header's name; ``name_crc`` gives another (a stale field).
    """
    crc = zlib.crc32(raw_name.encode("ascii")) if name_crc is None else name_crc
    body = struct.pack("<BI", version, crc) + unicode_name.encode("utf-8")
    info = zipfile.ZipInfo(raw_name, date_time=(2026, 12, 1, 10, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.extra = struct.pack("<HH", 0x7075, len(body)) + body
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, content)
    return buffer.getvalue()


def nested(name: str, entries: Iterable[Entry], *, gbk: bool = False) -> Entry:
    """An entry that is itself a ZIP of these entries (a merchant zipping the courier's ZIPs together)."""
    return name, gbk_zip(entries) if gbk else make_zip(entries)


def member_offset(data: bytes, member: str) -> int:
    """Where a member's packed bytes start in the archive (after its local header)."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    return info.header_offset + 30 + name_length + extra_length
