"""Reading evidence files (evidence.reading): chat exports in their encodings, PDFs' text layers, scans and
photos by OCR."""

from __future__ import annotations

import codecs
import io

import pytest
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from evidence import reading
from evidence.models import ReadMethod
from tests.evidence.labelled import CJK_FONT

CHAT = "2026-11-02 20:15:03 tb_lin2024: 亲，什么时候发货？\n2026-11-02 20:16:10 掌柜: 今天下午发中通\n"


def read(data: bytes, content_type: str) -> reading.Reading:
    return reading.read_file(io.BytesIO(data), content_type)


@pytest.mark.parametrize(
    "encoded",
    [
        CHAT.encode("utf-8"),
        codecs.BOM_UTF8 + CHAT.encode("utf-8"),
        CHAT.encode("utf-16"),  # with its byte-order mark
        codecs.BOM_UTF16_BE + CHAT.encode("utf-16-be"),
        CHAT.encode("gb18030"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16", "utf-16-be-bom", "gb18030"],
)
@pytest.mark.parametrize("content_type", ["text/plain", "text/csv"])
def test_chat_exports_are_decoded_whatever_their_encoding(encoded, content_type):
    result = read(encoded, content_type)
    assert result.method == ReadMethod.TEXT
    assert result.pages == [CHAT.splitlines()]
    assert result.pages_total == 1


@pytest.mark.parametrize(
    ("charset", "encoded"),
    [("gb18030", CHAT.encode("gb18030")), ("utf-16", CHAT.encode("utf-16")), ("big5", CHAT.encode("utf-8"))],
)
def test_the_charset_the_upload_found_is_used(charset, encoded):
    # big5 is wrong for these bytes: undecodable bytes are replaced, nothing is dropped.
    result = read(encoded, f"text/plain; charset={charset}")
    assert result.pages[0][0].startswith("2026-11-02 20:15:03 tb_lin2024")


def lines_image(lines: list[str], *, size: int = 30) -> Image.Image:
    font = ImageFont.truetype(str(CJK_FONT), size)
    image = Image.new("RGB", (900, 80 + 60 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((40, 40 + 60 * index), line, fill="black", font=font)
    return image


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


SLIP = ["中通快递 电子面单", "运单号：75312345678901", "签收时间：2026-11-03 14:22"]


def test_an_image_is_read_by_ocr_line_by_line():
    result = read(encoded(lines_image(SLIP)), "image/png")
    assert result.method == ReadMethod.OCR
    [page] = result.pages
    assert len(page) == 3
    assert "75312345678901" in page[1]
    assert page[0].replace(" ", "").startswith("中通快递")


def test_boxes_on_one_row_are_one_line_read_left_to_right():
    image = Image.new("RGB", (1000, 160), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(CJK_FONT), 30)
    draw.text((40, 60), "运单号", fill="black", font=font)
    draw.text((600, 62), "75312345678901", fill="black", font=font)  # far to the right, a little lower
    [page] = read(encoded(image), "image/png").pages
    assert len(page) == 1
    assert page[0].index("运单号") < page[0].index("75312345678901")


def test_a_photo_taken_sideways_is_read():
    sideways = lines_image(SLIP).transpose(Image.Transpose.ROTATE_90)
    [page] = read(encoded(sideways, "JPEG"), "image/jpeg").pages
    assert any("75312345678901" in line for line in page)


def test_an_image_giving_little_text_is_tried_turned_a_quarter_each_way(monkeypatch):
    readings = {(100, 300): ["?"], (300, 100): ["运单号 75312345678901"]}
    turned = []

    def fake_ocr(image):
        turned.append(image.size)
        return readings[image.size] if len(turned) < 3 else []

    monkeypatch.setattr(reading, "ocr_lines", fake_ocr)
    assert reading.ocr_image(Image.new("RGB", (100, 300))) == ["运单号 75312345678901"]
    assert turned == [(100, 300), (300, 100), (300, 100)]  # as it came, then a quarter turn each way


def test_the_exif_orientation_is_applied_before_reading(monkeypatch):
    calls = []
    ocr_lines = reading.ocr_lines
    monkeypatch.setattr(reading, "ocr_lines", lambda image: calls.append(image.size) or ocr_lines(image))
    image = lines_image(SLIP).transpose(Image.Transpose.ROTATE_270)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    [page] = read(buffer.getvalue(), "image/jpeg").pages
    assert "75312345678901" in page[1]
    assert calls == [lines_image(SLIP).size]  # read upright at once, not found by turning it


def text_pdf(pages: list[list[str]]) -> bytes:
    pdf = FPDF()
    pdf.add_font("wqy", fname=str(CJK_FONT), collection_font_number=0)
    pdf.set_font("wqy", size=14)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def test_a_pdf_is_read_from_its_text_layer_page_by_page():
    result = read(text_pdf([SLIP, ["第二页", "订单号：3512345678901234567"]]), "application/pdf")
    assert result.method == ReadMethod.TEXT_LAYER
    assert result.pages[0] == SLIP
    assert result.pages[1] == ["第二页", "订单号：3512345678901234567"]
    assert result.pages_total == 2


def test_a_scanned_pdf_page_is_read_by_ocr_beside_a_text_page():
    scan = io.BytesIO()
    lines_image(["订单号：3512345678901234567"]).save(scan, "PDF", resolution=150)
    result = read(scan.getvalue(), "application/pdf")
    assert result.method == ReadMethod.OCR
    assert any("3512345678901234567" in line for line in result.pages[0])


def test_only_the_first_pages_are_read_and_the_reading_says_how_many_there_are(settings):
    settings.EVIDENCE_CHECK_MAX_PAGES = 1
    result = read(text_pdf([SLIP, ["第二页"], ["第三页"]]), "application/pdf")
    assert (len(result.pages), result.pages_total) == (1, 3)


@pytest.mark.parametrize(
    ("data", "content_type", "reason"),
    [
        (b"%PDF-1.4\nnot really a PDF", "application/pdf", "the PDF cannot be opened"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "image/png", "the image cannot be decoded"),
        (b"PK\x03\x04", "application/zip", "no text can be read from application/zip"),
    ],
)
def test_a_file_that_cannot_be_read_says_why(data, content_type, reason):
    result = read(data, content_type)
    assert result.method == ReadMethod.NONE
    assert result.pages == []
    assert result.error.startswith(reason)


def test_the_text_keeps_pages_and_lines():
    result = reading.Reading(ReadMethod.TEXT_LAYER, [["a", "b"], ["c"]], 2)
    assert result.text == "a\nb\fc"


def test_an_image_of_too_many_pixels_is_not_decoded(monkeypatch):
    from PIL import Image as PILImage

    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 1000)  # an error past twice this
    result = read(encoded(Image.new("RGB", (100, 100), "white")), "image/png")
    assert result.error.startswith("the image cannot be decoded")


def test_a_huge_pdf_page_is_rendered_no_larger_than_the_limit(monkeypatch):
    poster = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(poster, "PDF", resolution=2)  # 200 x 150 inches
    sizes = []
    monkeypatch.setattr(reading, "ocr_image", lambda image: sizes.append(image.size) or [])
    read(poster.getvalue(), "application/pdf")
    assert max(sizes[0]) <= reading.MAX_SIDE


def test_control_characters_are_dropped_from_the_text():
    result = read("订单\x00号：3512\x07345678901234567\tok".encode(), "text/plain")
    assert result.pages == [["订单号：3512345678901234567\tok"]]


def test_a_very_large_jpeg_is_decoded_at_a_reduced_size(monkeypatch):
    monkeypatch.setattr(reading, "MAX_PIXELS", 500 * 400)
    monkeypatch.setattr(reading, "MAX_SIDE", 200)
    image = reading.open_image(encoded(Image.new("RGB", (800, 600), "white"), "JPEG"))
    assert image.size == (200, 150)  # decoded at half the size, then scaled


def test_a_very_large_png_is_not_read(monkeypatch):
    monkeypatch.setattr(reading, "MAX_PIXELS", 200 * 200)
    result = read(encoded(Image.new("RGB", (800, 600), "white")), "image/png")
    assert result.error == "the image is too large to read (800 x 600 pixels)"
