"""Read the text of an evidence file: a chat export's text, a PDF's text layer, and OCR for the rest.

- Chat exports (text/plain, text/csv) are decoded: by their byte-order mark (UTF-8,
  UTF-16), else by the charset the upload found (evidence.uploads.text_charset), else as
  UTF-8, else as GB18030 (which also reads GBK and GB2312).
- PDFs: each page's text layer through PDFium (pypdfium2); a page without one (a scan) is
  rendered at ``OCR_DPI`` and read by OCR. At most EVIDENCE_CHECK_MAX_PAGES pages are
  read; the reading says how many there were.
- Images: turned upright by their EXIF orientation, scaled to at most ``MAX_SIDE`` pixels,
  and read by OCR. A picture that gives little text is tried again turned a quarter each
  way (a phone photo taken sideways) and the best reading is kept.

OCR is RapidOCR on ONNX Runtime with PP-OCRv4's Chinese and Latin models, which ship inside
the rapidocr-onnxruntime wheel: it runs on the CPU, offline. The engine is loaded once
per process, on first use. OCR gives boxes of text; boxes on one row are joined into one
line, left to right, and rows are read top to bottom, so a label and its value
("运单号" and the number) share a line as they do on the page.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings

from evidence.models import ReadMethod

logger = logging.getLogger(__name__)

OCR_DPI = 200
MAX_SIDE = 2400
# Images of more pixels than this (a 50-megapixel photo) are decoded at a reduced size, or not at all.
MAX_PIXELS = 50_000_000
# A page with fewer characters than this in its text layer is taken for a scan.
MIN_TEXT_LAYER_CHARS = 8
# An image read with fewer characters than this is tried again turned a quarter each way.
MIN_OCR_CHARS = 12
TEXT_TYPES = ("text/plain", "text/csv")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


class Unreadable(Exception):
    """The file cannot be read at all (damaged, encrypted, or of a type that has no text)."""


@dataclass
class Reading:
    """What was read: pages of lines, how, and how many pages the file has."""

    method: str
    pages: list[list[str]] = field(default_factory=list)
    pages_total: int = 0
    error: str = ""

    @property
    def text(self) -> str:
        return "\f".join("\n".join(lines) for lines in self.pages)


def read_file(file: IO[bytes], content_type: str, *, on_page: Callable[[], None] | None = None) -> Reading:
    """Read one stored evidence file; a file that cannot be read gives a reading with an error.

    ``on_page`` is called after each page of a PDF (the worker renews its hold on the check).
    Control characters other than tabs are dropped from the text (a NUL cannot be stored).
    """
    reading = _read(file.read(), content_type, on_page or (lambda: None))
    reading.pages = [[_CONTROL.sub("", line) for line in page] for page in reading.pages]
    return reading


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _read(data: bytes, content_type: str, on_page: Callable[[], None]) -> Reading:
    # What evidence.uploads found the bytes to be: "text/plain; charset=gb18030", "image/png".
    media_type, _sep, parameters = content_type.partition(";")
    media_type = media_type.strip()
    charset = parameters.strip().removeprefix("charset=") or None
    try:
        if media_type in TEXT_TYPES:
            return Reading(ReadMethod.TEXT, [decode_text(data, charset).splitlines()], 1)
        if media_type == "application/pdf":
            return read_pdf(data, on_page)
        if media_type in IMAGE_TYPES:
            return Reading(ReadMethod.OCR, [ocr_image(open_image(data))], 1)
    except Unreadable as exc:
        return Reading(ReadMethod.NONE, error=str(exc))
    return Reading(ReadMethod.NONE, error=f"no text can be read from {media_type}")


# --- Text ------------------------------------------------------------------------------------------

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_text(data: bytes, charset: str | None = None) -> str:
    """The text of a chat export: by its byte-order mark, else the charset its upload found, else UTF-8 or GB18030."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if charset:
        try:
            return data.decode(charset, errors="replace")
        except LookupError:
            pass  # a charset Python does not know: guess as below
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


# --- PDF -------------------------------------------------------------------------------------------


def read_pdf(data: bytes, on_page: Callable[[], None] = lambda: None) -> Reading:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise Unreadable(f"the PDF cannot be opened ({exc})") from exc
    try:
        total = len(document)
        pages: list[list[str]] = []
        methods: set[str] = set()
        for index in range(min(total, settings.EVIDENCE_CHECK_MAX_PAGES)):
            page = document[index]
            try:
                textpage = page.get_textpage()
                text = textpage.get_text_range()
                textpage.close()
                if len("".join(text.split())) >= MIN_TEXT_LAYER_CHARS:
                    pages.append([line.strip() for line in text.splitlines()])
                    methods.add(ReadMethod.TEXT_LAYER)
                    continue
                # At OCR_DPI, but never larger than MAX_SIDE pixels (a poster-sized page is no bomb).
                scale = min(OCR_DPI / 72, MAX_SIDE / max(*page.get_size(), 1))
                image = page.render(scale=scale).to_pil()
                pages.append(ocr_image(image))
                methods.add(ReadMethod.OCR)
            finally:
                page.close()
                on_page()
    finally:
        document.close()
    method = methods.pop() if len(methods) == 1 else (ReadMethod.MIXED if methods else ReadMethod.NONE)
    return Reading(method, pages, total)


# --- Images and OCR --------------------------------------------------------------------------------


def open_image(data: bytes) -> Any:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        opened = Image.open(io.BytesIO(data))
        width, height = opened.size
        if width * height > MAX_PIXELS:
            # A JPEG decodes straight to a smaller size; other formats that large are not read.
            opened.draft("RGB", (MAX_SIDE, MAX_SIDE))
            if opened.size[0] * opened.size[1] > MAX_PIXELS:
                raise Unreadable(f"the image is too large to read ({width} x {height} pixels)")
        opened.seek(0)  # the first frame of an animation
        image = (ImageOps.exif_transpose(opened) or opened).convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise Unreadable(f"the image cannot be decoded ({exc})") from exc
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    return image


_engine: Any = None
_engine_lock = threading.Lock()


def engine() -> Any:
    """The OCR engine of this process, loaded on first use (about a tenth of a second)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR

            threads = settings.EVIDENCE_OCR_THREADS
            options = {"intra_op_num_threads": threads} if threads > 0 else {}
            _engine = RapidOCR(**options)
        return _engine


def ocr_lines(image: Any) -> list[str]:
    """The image's text as lines: boxes on one row joined left to right, rows top to bottom."""
    result, _elapsed = engine()(image)
    boxes = []
    for box, text, _score in result or []:
        ys = [point[1] for point in box]
        xs = [point[0] for point in box]
        boxes.append((min(ys), max(ys), min(xs), text))
    boxes.sort()
    rows: list[list[tuple[float, float, float, str]]] = []
    for top, bottom, left, text in boxes:
        row = rows[-1] if rows else None
        if row is not None:
            row_top, row_bottom = row[0][0], row[0][1]
            # The same row when the boxes overlap by more than half the shorter one's height.
            overlap = min(bottom, row_bottom) - max(top, row_top)
            if overlap > 0.5 * min(bottom - top, row_bottom - row_top):
                row.append((top, bottom, left, text))
                continue
        rows.append([(top, bottom, left, text)])
    return [" ".join(text for *_place, text in sorted(row, key=lambda box: box[2])) for row in rows]


def ocr_image(image: Any) -> list[str]:
    from PIL import Image

    lines = ocr_lines(image)
    if sum(len(line) for line in lines) >= MIN_OCR_CHARS:
        return lines
    best = lines
    for turn in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270):
        turned = ocr_lines(image.transpose(turn))
        if sum(map(len, turned)) > sum(map(len, best)):
            best = turned
    return best
