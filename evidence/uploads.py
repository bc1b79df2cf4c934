"""Receiving evidence files: the streaming upload handler, file-name checks and type detection by content."""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import html
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import puremagic
from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParser
from django.template.defaultfilters import filesizeformat
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agency.errors import InvalidInput

# Read files in pieces of this size when hashing or checking text, so memory stays flat.
CHUNK_BYTES = 64 * 1024
# The longest original file name kept (the column is 255 characters).
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class FileType:
    """One type on the allow-list: what the bytes are, how people call it, which extensions it may carry."""

    content_type: str
    label: Promise
    extensions: tuple[str, ...]


JPEG = FileType("image/jpeg", gettext_lazy("a JPEG image"), (".jpg", ".jpeg", ".jpe", ".jfif"))
PNG = FileType("image/png", gettext_lazy("a PNG image"), (".png",))
GIF = FileType("image/gif", gettext_lazy("a GIF image"), (".gif",))
WEBP = FileType("image/webp", gettext_lazy("a WebP image"), (".webp",))
PDF = FileType("application/pdf", gettext_lazy("a PDF document"), (".pdf",))
TEXT = FileType("text/plain", gettext_lazy("plain text"), (".txt", ".csv", ".log"))

# Binary types recognised by their magic numbers (puremagic); text is recognised separately.
BINARY_TYPES = {file_type.content_type: file_type for file_type in (JPEG, PNG, GIF, WEBP, PDF)}
# Every media type an evidence file is stored and served as (text with its charset as a parameter).
SERVED_MEDIA_TYPES = (*BINARY_TYPES, "text/plain", "text/csv")

# Control characters that never occur in a chat export; finding one means the bytes are
# binary data that merely happens to decode. Tab, line feed, vertical tab, form feed and
# carriage return are allowed.
_BINARY_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class InspectedFile:
    """What an upload is, found from its bytes: the facts an evidence item stores."""

    name: str
    size: int
    sha256: str
    content_type: str


def _refuse(message: str, **details: Any) -> InvalidInput:
    return InvalidInput(message, details={"fields": {"file": [message]}, **details})


def file_too_large(max_bytes: int) -> InvalidInput:
    message = _("The file is larger than the limit of %(limit)s.") % {"limit": filesizeformat(max_bytes)}
    return _refuse(message, max_bytes=max_bytes)


def _accepted_types_hint() -> str:
    return _("Send a JPEG, PNG, GIF or WebP image, a PDF, or a plain-text or CSV chat export.")


def _text_rule() -> str:
    return _("Text must be UTF-8, UTF-16 with a byte-order mark, or GB18030, without NUL or control characters.")


# --- File names --------------------------------------------------------------------------


def file_name_problem(name: str) -> str | None:
    """Why a file name is refused, or None. Checked on the name as the client sent it.

    A name that tries to say where the file goes (a path separator, a parent directory
    ``..``) or hides something (a NUL byte) is refused outright rather than cleaned up:
    the client made a mistake or is probing, and silently storing a different name would
    hide either. HTML character references are decoded first, as Django's parser does,
    so ``&#47;`` counts as a slash.
    """
    for candidate in (name, html.unescape(name)):
        if "/" in candidate or "\\" in candidate:
            return _("The file name must not contain a path (“/” or “\\”); send the file name only.")
        if "\x00" in candidate:
            return _("The file name must not contain a NUL character.")
        if ".." in candidate:
            return _("The file name must not contain “..”.")
    if not name.strip():
        return _("The file has no name.")
    if len(name) > MAX_NAME_LENGTH:
        return _("The file name is longer than %(max)s characters.") % {"max": MAX_NAME_LENGTH}
    return None


# --- Type detection ----------------------------------------------------------------------


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    file.seek(0)
    while chunk := file.read(CHUNK_BYTES):
        yield chunk


def _decodes_as_text(file: IO[bytes], encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        for chunk in _chunks(file):
            if _BINARY_CONTROL.search(decoder.decode(chunk)):
                return False
        return not _BINARY_CONTROL.search(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        return False


def text_charset(file: IO[bytes]) -> str | None:
    """The charset a text file (a chat export) is in, or None if the bytes are not text.

    UTF-16 is accepted only with a byte-order mark, because without one any binary file
    of even length decodes as UTF-16. Otherwise UTF-8 (with or without a BOM) is tried,
    then GB18030, which Chinese Windows software still writes. Decoded text must hold no
    NUL and no other control character besides tab, line breaks and form feed.
    """
    file.seek(0)
    head = file.read(2)
    if head in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16" if _decodes_as_text(file, "utf-16") else None
    if _decodes_as_text(file, "utf-8-sig"):
        return "utf-8"
    if _decodes_as_text(file, "gb18030"):
        return "gb18030"
    return None


def _magic_matches(file: IO[bytes], name: str | None = None) -> list[Any]:
    file.seek(0)
    try:
        matches = puremagic.magic_stream(file, filename=name)
    except puremagic.PureError:
        return []
    finally:
        file.seek(0)
    return list(matches)


def _binary_type(file: IO[bytes]) -> FileType | None:
    """An allowed binary type, if the strongest magic-number matches include one."""
    matches = _magic_matches(file)
    if not matches:
        return None
    best = max(match.confidence for match in matches)
    for match in matches:
        if match.confidence == best and match.mime_type in BINARY_TYPES:
            return BINARY_TYPES[match.mime_type]
    return None


def _best_match(file: IO[bytes], name: str) -> Any | None:
    """The strongest magic-number match for a refused file, or None.

    The bytes alone often match several types equally (a ZIP archive is also a .docx);
    the name breaks the tie when it agrees with what the bytes are. When it does not (an
    executable called .png), the name is ignored, so it cannot talk the description into
    something the bytes are not. Well-known formats (those with a MIME type) are preferred
    to obscure ones sharing a signature: a Windows program is also a "ZoneAlarm data file".
    """
    extension = os.path.splitext(name)[1].lower()
    hinted = _magic_matches(file, name)
    if hinted:
        best = max(hinted, key=lambda match: match.confidence)
        if extension and best.extension.lower() == extension:
            return best
    plain = _magic_matches(file)
    return max(plain, key=lambda match: (bool(match.mime_type), match.confidence)) if plain else None


def detect_file_type(file: IO[bytes], name: str) -> tuple[FileType, str]:
    """The allowed type of the bytes and the content type to store and serve; refuse anything else."""
    binary = _binary_type(file)
    if binary is not None:
        return binary, binary.content_type
    charset = text_charset(file)
    if charset is not None:
        subtype = "csv" if name.lower().endswith(".csv") else "plain"
        return TEXT, f"text/{subtype}; charset={charset}"
    best = _best_match(file, name)
    described = str(best.name or best.extension.lstrip(".").upper()).strip() if best is not None else ""
    looks_like_text = best is not None and (
        best.mime_type.startswith("text/") or any(word in described.lower() for word in ("text", "utf"))
    )
    if described and not looks_like_text:
        raise _refuse(
            _("This type of file is not accepted (by its content it is: %(what)s). %(hint)s")
            % {"what": described, "hint": _accepted_types_hint()}
        )
    raise _refuse(
        _("The file's content is not of an accepted type. %(hint)s %(text)s")
        % {"hint": _accepted_types_hint(), "text": _text_rule()}
    )


def file_extension_problem(file_type: FileType, name: str) -> str | None:
    """Why the name's extension does not fit what the bytes are, or None."""
    extension = os.path.splitext(name)[1].lower()
    if extension in file_type.extensions:
        return None
    expected = ", ".join(file_type.extensions)
    if not extension:
        return _("The file name has no extension; for %(what)s it must end in %(extensions)s.") % {
            "what": file_type.label,
            "extensions": expected,
        }
    return _("The file's content is %(what)s, but its name ends in %(extension)s; it should end in %(extensions)s.") % {
        "what": file_type.label,
        "extension": extension,
        "extensions": expected,
    }


def _check_extension(file_type: FileType, name: str) -> None:
    problem = file_extension_problem(file_type, name)
    if problem:
        raise _refuse(problem)


# --- Hashing and the whole inspection ----------------------------------------------------


def file_digest(file: IO[bytes] | UploadedFile) -> tuple[int, str]:
    """Size and SHA-256 of an upload: as counted while it streamed in, or computed now."""
    if isinstance(file, HashedTemporaryUploadedFile) and file.sha256:
        return file.size or 0, file.sha256
    digest = hashlib.sha256()
    size = 0
    for chunk in _chunks(file):
        digest.update(chunk)
        size += len(chunk)
    file.seek(0)
    return size, digest.hexdigest()


def inspect_upload(file: UploadedFile) -> InspectedFile:
    """Check an uploaded file against every rule and say what it is; InvalidInput on field ``file``.

    1. The name: no path, no NUL, no ``..``, not too long.
    2. The size: not empty, not over ``EVIDENCE_MAX_UPLOAD_BYTES`` (streamed uploads were
       already cut off at the limit; this covers files handed to the service directly).
    3. The type, from the bytes only: an allowed image, a PDF, or text.
    4. The extension must be one that type carries, so nobody downloads a PNG named .pdf.
    """
    name = file.name or ""
    problem = file_name_problem(name)
    if problem:
        raise _refuse(problem)
    size, sha256 = file_digest(file)
    if size == 0:
        raise _refuse(_("The file is empty."))
    max_bytes = settings.EVIDENCE_MAX_UPLOAD_BYTES
    if size > max_bytes:
        raise file_too_large(max_bytes)
    file_type, content_type = detect_file_type(file, name)
    _check_extension(file_type, name)
    file.seek(0)
    return InspectedFile(name=name, size=size, sha256=sha256, content_type=content_type)


# --- Streaming upload --------------------------------------------------------------------


class HashedTemporaryUploadedFile(TemporaryUploadedFile):
    """A temporary upload that knows the SHA-256 of its bytes, computed as they arrived."""

    sha256 = ""


class _NameCheckingMultiPartParser(MultiPartParser):
    """Django's multipart parser, refusing unsafe file names instead of cleaning them.

    Django strips directories and NULs from the name a client sends (and drops a file
    called ``..`` altogether) before any upload handler sees it, so the handler cannot
    tell ``../../x.png`` from ``x.png``. The raw name passes through here first.
    """

    def sanitize_file_name(self, file_name: str) -> str | None:
        problem = file_name_problem(file_name)
        if problem:
            raise _refuse(problem)
        return super().sanitize_file_name(file_name)


class EvidenceUploadHandler(FileUploadHandler):
    """Streams one evidence file to a temporary file, hashing and counting it on the way.

    The upload is refused (400 on field ``file``) as soon as its size passes
    ``EVIDENCE_MAX_UPLOAD_BYTES``, before the rest is read, and the partial temporary
    file is deleted; a request whose declared length already exceeds the limit by more
    than the form's own allowance is refused before anything is read. One file per
    request. Installed only by the evidence upload views (``install_upload_handler``).
    """

    def __init__(self, request: HttpRequest | None = None, *, max_bytes: int | None = None) -> None:
        super().__init__(request)
        self.max_bytes = int(max_bytes if max_bytes is not None else settings.EVIDENCE_MAX_UPLOAD_BYTES)
        self._parsing = False
        self._files_seen = 0
        self._size = 0
        self._sha256 = hashlib.sha256()
        self.file: HashedTemporaryUploadedFile | None = None

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],  # noqa: N803 - Django's parameter name
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> tuple[Any, Any] | None:
        # Other form fields may take up to DATA_UPLOAD_MAX_MEMORY_SIZE besides the file.
        allowance = (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) + CHUNK_BYTES
        if content_length > self.max_bytes + allowance:
            raise file_too_large(self.max_bytes)
        if self._parsing:
            return None
        # Parse with the name-checking parser, whichever code path asked for the parse:
        # DRF's parser, or Django's request.POST (read early by the CSRF check of a
        # session-authenticated request). The nested parser calls this method again,
        # which then returns None and lets it parse.
        self._parsing = True
        post, files = _NameCheckingMultiPartParser(META, input_data, [self], encoding).parse()
        return post, files

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        self._files_seen += 1
        if self._files_seen > 1:
            self._discard()
            raise _refuse(_("Send one file per request."))
        super().new_file(field_name, file_name, *args, **kwargs)
        declared = self.content_length
        if declared is not None and declared > self.max_bytes:
            raise file_too_large(self.max_bytes)
        self._start_file()

    def _start_file(self) -> None:
        """A new temporary file for the file now arriving, counted and hashed from its first byte."""
        self._size = 0
        self._sha256 = hashlib.sha256()
        self.file = HashedTemporaryUploadedFile(
            self.file_name or "", self.content_type, 0, self.charset, self.content_type_extra
        )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        assert self.file is not None
        self._size += len(raw_data)
        if self._size > self.max_bytes:
            self._discard()
            raise file_too_large(self.max_bytes)
        self._sha256.update(raw_data)
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> HashedTemporaryUploadedFile | None:
        if self.file is None:
            return None
        self.file.seek(0)
        self.file.size = file_size
        self.file.sha256 = self._sha256.hexdigest()
        return self.file

    def upload_interrupted(self) -> None:
        self._discard()

    def _discard(self) -> None:
        """Close and delete the partial temporary file, so a refused upload leaves nothing behind."""
        if self.file is None:
            return
        path = self.file.temporary_file_path()
        try:
            self.file.close()
            os.remove(path)
        except FileNotFoundError:
            pass
        self.file = None


def install_upload_handler(request: HttpRequest) -> None:
    """Make this request stream its file through ``EvidenceUploadHandler`` (call before the body is read)."""
    request.upload_handlers = [EvidenceUploadHandler(request)]


# --- Several files in one request (the web pages) -----------------------------------------


@dataclass(frozen=True)
class RefusedFile:
    """A file of a multi-file upload refused while it arrived, and why."""

    name: str
    reason: str


class _LenientNameMultiPartParser(MultiPartParser):
    """Like ``_NameCheckingMultiPartParser``, but a bad name refuses that file only, not the request."""

    def __init__(self, *args: Any, refused: list[RefusedFile], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refused = refused

    def sanitize_file_name(self, file_name: str) -> str | None:
        problem = file_name_problem(file_name)
        if problem:
            self._refused.append(RefusedFile(name=file_name.replace("\x00", ""), reason=problem))
            return None  # Django's parser skips a file whose name comes back empty.
        return super().sanitize_file_name(file_name)


class EvidenceFilesUploadHandler(EvidenceUploadHandler):
    """Streams each file of a multi-file form to its own hashed temporary file.

    A file whose size passes the limit, or whose name is unsafe, is skipped and listed in
    ``refused`` with the reason, and the others are kept: one bad photo among ten must not
    cost the merchant the other nine. The number of files is Django's
    ``DATA_UPLOAD_MAX_NUMBER_FILES``.
    """

    def __init__(self, request: HttpRequest | None = None, *, max_bytes: int | None = None) -> None:
        super().__init__(request, max_bytes=max_bytes)
        self.refused: list[RefusedFile] = []

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],  # noqa: N803 - Django's parameter name
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> tuple[Any, Any] | None:
        if self._parsing:
            return None
        self._parsing = True
        parser = _LenientNameMultiPartParser(META, input_data, [self], encoding, refused=self.refused)
        return parser.parse()

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        FileUploadHandler.new_file(self, field_name, file_name, *args, **kwargs)
        self._start_file()
        declared = self.content_length
        if declared is not None and declared > self.max_bytes:
            self._skip()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        assert self.file is not None
        self._size += len(raw_data)
        if self._size > self.max_bytes:
            self._skip()
        self._sha256.update(raw_data)
        self.file.write(raw_data)
        return None

    def _skip(self) -> None:
        """Refuse this file only: delete what arrived of it and let the parser skip the rest.

        The closed file stays on the handler, because the parser closes every handler's
        ``file`` when a file is skipped.
        """
        message = str(file_too_large(self.max_bytes).message)
        self.refused.append(RefusedFile(name=self.file_name or "", reason=message))
        assert self.file is not None
        path = self.file.temporary_file_path()
        self.file.close()
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        raise SkipFile()


def install_files_upload_handler(request: HttpRequest) -> EvidenceFilesUploadHandler:
    """Make this request stream each of its files through ``EvidenceFilesUploadHandler``."""
    handler = EvidenceFilesUploadHandler(request)
    request.upload_handlers = [handler]
    return handler


# --- A bulk upload: one archive, or several files (evidence.batches) ------------------------------


class BulkUploadHandler(EvidenceUploadHandler):
    """Streams a bulk upload's archive, or each of its files, to hashed temporary files.

    The limit is ``EVIDENCE_BULK_MAX_ARCHIVE_BYTES`` for everything the request carries
    together; past it the request is refused (400 on field ``file``) before the rest is
    read, and the partial file is deleted. Each file's own limit is checked later, file by
    file, when the batch is read.
    """

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request, max_bytes=settings.EVIDENCE_BULK_MAX_ARCHIVE_BYTES)
        self._total = 0

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        FileUploadHandler.new_file(self, field_name, file_name, *args, **kwargs)
        self._start_file()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self._total += len(raw_data)
        if self._total > self.max_bytes:
            self._discard()
            raise file_too_large(self.max_bytes)
        return super().receive_data_chunk(raw_data, start)


def install_bulk_upload_handler(request: HttpRequest) -> BulkUploadHandler:
    """Make this request stream its archive or files through ``BulkUploadHandler`` (before the body is read)."""
    handler = BulkUploadHandler(request)
    request.upload_handlers = [handler]
    return handler
