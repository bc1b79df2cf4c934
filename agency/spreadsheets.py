"""Reading the rows of a spreadsheet someone exported: CSV in whatever encoding Excel wrote, or XLSX.

Shared by the flagged-order import (casework.importing) and the manifest of a bulk evidence
upload (evidence.matching). Every refusal is InvalidInput on the field ``file``, in words
for the person who made the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import warnings
import zipfile
from collections.abc import Generator, Sequence
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from agency.errors import InvalidInput

_ZIP_SIGNATURE = b"PK\x03\x04"
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _file_error(message: str) -> InvalidInput:
    return InvalidInput(message, details={"fields": {"file": [message]}})


def text_decoded(data: bytes) -> str:
    """UTF-8 (with or without a BOM) or UTF-16 with a BOM; else GB18030, a superset of GBK.

    Exports saved by Excel on a Chinese Windows are GBK without any marker, so a file
    that is not valid UTF-8 is read as GB18030 before giving up.
    """
    if data.startswith(codecs.BOM_UTF8):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text.removeprefix("\ufeff")
    raise _file_error(_("The file is neither an XLSX workbook nor a CSV file in UTF-8 or GBK."))


def _csv_rows(data: bytes) -> Generator[tuple[int, Sequence[Any]], None, None]:
    text = text_decoded(data)
    first_line = text.split("\n", 1)[0]
    # Exports are comma-separated, but "Unicode text" from Excel uses tabs and some locales semicolons.
    delimiter = max(",\t;", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise _file_error(
            _("The CSV file cannot be read after row %(row)d: %(reason)s") % {"row": reader.line_num, "reason": exc}
        ) from exc


def _check_xlsx_archive(members: Sequence[zipfile.ZipInfo]) -> None:
    """Refuse a ZIP bomb from the sizes in the archive's central directory, before anything is unpacked.

    openpyxl reads the members through zipfile, which never returns more of a member than
    its declared ``file_size`` (one that inflates further fails its CRC check), so the
    declared sizes bound what a workbook can make us unpack. The ratio is the whole
    archive's, not each member's: small members such as styles compress unevenly, and the
    total size limit already bounds a bomb hidden beside incompressible members.
    """
    max_bytes = settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES
    expanded = sum(member.file_size for member in members)
    if expanded > max_bytes:
        message = _("The XLSX file unpacks to more than %(size)s; export fewer rows per file.")
        raise _file_error(message % {"size": filesizeformat(max_bytes)})
    max_ratio = settings.IMPORT_XLSX_MAX_COMPRESSION_RATIO
    compressed = sum(member.compress_size for member in members)
    if expanded > max_ratio * max(compressed, 1):
        message = _("The XLSX file unpacks to more than %(ratio)d times its size, which no spreadsheet export does.")
        raise _file_error(message % {"ratio": max_ratio})


def _xlsx_rows(data: bytes) -> Generator[tuple[int, Sequence[Any]], None, None]:
    unreadable = _file_error(_("The XLSX file cannot be read; open it in a spreadsheet and save it again."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise unreadable from exc
    _check_xlsx_archive(members)

    # Only imports of workbooks pay for loading openpyxl (which ships no type hints).
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    # A workbook is a third-party format with many ways to be broken; whatever the reader
    # raises on a damaged file, the user's answer is the same: save it again.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # styles and extensions openpyxl skips
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise unreadable from exc
    try:
        if not workbook.worksheets:
            raise unreadable
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        while True:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    cells = next(rows)
            except StopIteration:
                return
            except Exception as exc:
                raise unreadable from exc
            yield cells
    finally:
        workbook.close()


def _numbered_xlsx_rows(data: bytes) -> Generator[tuple[int, Sequence[Any]], None, None]:
    # openpyxl yields an empty row for each row missing from the sheet, so counting keeps
    # the spreadsheet's own row numbers.
    yield from enumerate(_xlsx_rows(data), start=1)


def spreadsheet_rows(data: bytes) -> Generator[tuple[int, Sequence[Any]], None, None]:
    """(spreadsheet row number, cells) for each row of the file's first sheet."""
    if not data.strip():
        raise _file_error(_("The file is empty."))
    if data.startswith(_ZIP_SIGNATURE):
        return _numbered_xlsx_rows(data)
    if data.startswith(_OLE_SIGNATURE):
        raise _file_error(_("Old .xls workbooks and protected workbooks cannot be read; save the file as XLSX or CSV."))
    return _csv_rows(data)
