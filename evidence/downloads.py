"""Serving an evidence file: streamed from private storage, always as an attachment, never cached.

The bytes are checked on the way out as they were on the way in: the download hashes the
file while it streams and holds the last block back until the SHA-256 matches the one
recorded at upload. A file changed in storage (on disk or in the bucket) is never
delivered whole: the stream breaks off short of its Content-Length, so the client sees a
failed download, and the mismatch is logged.
"""

from __future__ import annotations

import hashlib
import logging
from typing import IO

from django.http import FileResponse

from evidence.models import EvidenceItem

logger = logging.getLogger(__name__)

# Bytes per read while streaming: large enough to keep system calls few, small enough
# that memory does not grow with the file.
STREAM_BLOCK_BYTES = 64 * 1024


class StoredFileMismatch(Exception):
    """A stored evidence file no longer matches the size or SHA-256 recorded when it was uploaded."""


class VerifyingReader:
    """Reads a stored file for ``FileResponse``, checking it against the item's record before the last block.

    ``read`` returns each block one call late: when the stored file ends, the whole file
    has been hashed, and the last block is returned only if size and SHA-256 match the
    item's. Otherwise ``StoredFileMismatch`` is raised, before the client has all the bytes.
    """

    def __init__(self, stored: IO[bytes], item: EvidenceItem) -> None:
        self._stored = stored
        self._item = item
        self._digest = hashlib.sha256()
        self._size = 0
        self._held: bytes | None = None
        self._finished = False

    def _next(self, size: int) -> bytes:
        block = self._stored.read(size)
        self._digest.update(block)
        self._size += len(block)
        return block

    def read(self, size: int = STREAM_BLOCK_BYTES) -> bytes:
        if self._finished:
            return b""
        if self._held is None:
            self._held = self._next(size)
        block, self._held = self._held, self._next(size)
        if not self._held:
            self._finished = True
            self._verify()
        return block

    def _verify(self) -> None:
        item = self._item
        if self._size == item.size and self._digest.hexdigest() == item.sha256:
            return
        logger.error(
            "evidence item %s: stored file %s no longer matches its record (size %s, expected %s); download broken off",
            item.pk,
            item.file.name,
            self._size,
            item.size,
        )
        raise StoredFileMismatch(f"evidence item {item.pk} no longer matches its recorded SHA-256")

    def close(self) -> None:
        self._stored.close()


def evidence_file_response(item: EvidenceItem) -> FileResponse:
    """The item's file as a download under its original name, with the content type found from its bytes.

    Callers have already checked that the user may see the item. The headers keep a
    browser from guessing another type (nosniff), from rendering it as a page that runs
    anything (sandbox), and any shared cache from keeping a copy (private, no-store).
    Django writes the name in RFC 6266/5987 form (``filename*=utf-8''...``) when it is
    not plain ASCII, such as 聊天记录.png. The length announced is the recorded size; the
    bytes are verified against the recorded SHA-256 as they stream (``VerifyingReader``).
    """
    stored = item.file.storage.open(item.file.name, "rb")
    response = FileResponse(
        VerifyingReader(stored, item),
        as_attachment=True,
        filename=item.original_name,
        content_type=item.content_type,
    )
    response.block_size = STREAM_BLOCK_BYTES
    response["Content-Length"] = str(item.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def stored_file_problem(item: EvidenceItem) -> str | None:
    """Why the item's stored file does not match its record (missing, other size, other SHA-256), or None.

    Reads the whole file from storage in blocks, as a download would; for audits of the
    folder or the bucket (``manage.py evidence_verify``).
    """
    try:
        stored = item.file.storage.open(item.file.name, "rb")
    except FileNotFoundError:
        return "missing from storage"
    digest = hashlib.sha256()
    size = 0
    with stored:
        while block := stored.read(STREAM_BLOCK_BYTES):
            digest.update(block)
            size += len(block)
    if size != item.size:
        return f"size {size}, recorded {item.size}"
    if digest.hexdigest() != item.sha256:
        return f"SHA-256 {digest.hexdigest()}, recorded {item.sha256}"
    return None
