"""Importing flagged orders from a platform's CSV or XLSX export: every row valid, or nothing written.

This module reads and checks the file without touching the database, and holds the one
service that writes the result (``flagged_orders_import``). It lives beside services.py
rather than in it because the file handling is most of the code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.utils.translation import gettext as _

from agency import moments
from agency.accounts.models import User
from agency.accounts.permissions import require_role
from agency.errors import InvalidInput, InvalidState
from agency.spreadsheets import spreadsheet_rows
from cases.models import EDITABLE_STATES, EventKind, FlaggedOrder, GoodsType
from cases.permissions import CASE_EDITORS
from casework.services import _add_orders, _visible_case

MAX_IMPORT_ROWS = 50_000
# The same ceiling as an evidence upload; a 50,000-row export with the usual columns fits.
MAX_IMPORT_BYTES = 20 * 1024 * 1024
# How far an XLSX file (a ZIP archive) may unpack is in settings: IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES
# and IMPORT_XLSX_MAX_COMPRESSION_RATIO, checked in _check_xlsx_archive.
MAX_LISTED_ROW_ERRORS = 500

ORDER_FIELDS = (
    "platform_order_id",
    "order_time",
    "amount",
    "currency",
    "buyer_handle",
    "goods_type",
    "courier",
    "tracking_number",
)
REQUIRED_FIELDS = ("platform_order_id", "order_time", "amount")

# Headers the platforms' exports use, per field, most specific first: when an export has
# two columns that could be the amount (实付金额 and 订单金额, say), the earlier alias wins
# and the other column is ignored. Compared after _normalise_header, so case, spaces,
# underscores and a unit in brackets ("实付金额(元)") do not matter.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "platform_order_id": (
        "订单号",
        "订单编号",
        "主订单编号",
        "订单ID",
        "平台订单号",
        "order id",
        "order no",
        "order number",
        "platform order id",
    ),
    "order_time": (
        "下单时间",
        "创建时间",
        "订单创建时间",
        "成交时间",
        "order time",
        "order date",
        "order created",
        "created at",
        "create time",
    ),
    "amount": (
        "实付金额",
        "买家实际支付金额",
        "实际支付金额",
        "支付金额",
        "订单金额",
        "金额",
        "amount",
        "paid amount",
        "order amount",
        "total amount",
    ),
    "currency": ("币种", "货币", "currency"),
    "buyer_handle": (
        "买家",
        "买家昵称",
        "买家会员名",
        "买家账号",
        "买家旺旺",
        "buyer",
        "buyer handle",
        "buyer nick",
        "buyer nickname",
        "buyer account",
    ),
    "goods_type": ("商品类型", "货物类型", "goods type", "product type"),
    "courier": (
        "物流公司",
        "快递公司",
        "承运商",
        "courier",
        "carrier",
        "logistics company",
        "express company",
        "shipping company",
    ),
    "tracking_number": (
        "物流单号",
        "运单号",
        "快递单号",
        "物流编号",
        "tracking number",
        "tracking no",
        "waybill",
        "waybill number",
        "waybill no",
    ),
}
GOODS_TYPE_WORDS = {
    "实物": GoodsType.PHYSICAL,
    "实物商品": GoodsType.PHYSICAL,
    "实体": GoodsType.PHYSICAL,
    "physical": GoodsType.PHYSICAL,
    "虚拟": GoodsType.VIRTUAL,
    "虚拟商品": GoodsType.VIRTUAL,
    "虚拟物品": GoodsType.VIRTUAL,
    "virtual": GoodsType.VIRTUAL,
    "digital": GoodsType.VIRTUAL,
}
CURRENCY_WORDS = {"人民币": "CNY", "RMB": "CNY", "元": "CNY", "¥": "CNY"}

_BRACKETED = re.compile(r"[(\[【].*?[)\]】]")
_HEADER_NOISE = re.compile(r"[\s_\-.:/]+")
_AMOUNT_NOISE = re.compile(r"[\s¥$元]|CNY|RMB", re.IGNORECASE)
# Commas in an amount are thousands separators, so they must fall between groups of three
# digits: "12,50" (a decimal comma) would otherwise become 1250.
_GROUPED_AMOUNT = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
# An amount such as ¥1,234.50 written to a CSV without quotes becomes two cells, "¥1" and
# "234.50" (or more, for ¥1,234,567.00): a head of one to three digits after an optional
# currency sign, then cells of exactly three digits, the last perhaps with decimals.
_SPLIT_AMOUNT_HEAD = re.compile(r"(?:[¥$]|CNY|RMB)?\s*[+-]?\d{1,3}", re.IGNORECASE)
_SPLIT_AMOUNT_TAIL = re.compile(r"\d{3}(?:\.\d*)?\s*元?")
# The same head with a currency sign: proof enough of a split even when the row is not too long.
_SPLIT_AMOUNT_SIGNED_HEAD = re.compile(r"(?:[¥$]|CNY|RMB)\s*[+-]?\d{1,3}", re.IGNORECASE)
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
# 2026-03-01 12:30:00, 2026/3/1 12:30, 2026.03.01, 2026年3月1日 12:30, ISO 8601 with a T
# and an offset. Applied after NFKC, which turns full-width digits and colons into ASCII.
_DATETIME = re.compile(
    r"(?P<year>\d{4})[-/.年](?P<month>\d{1,2})[-/.月](?P<day>\d{1,2})日?"
    r"(?:[T\s]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6})\d*)?)?)?"
    r"\s*(?P<offset>Z|[+-]\d{2}:?\d{2})?"
)
# The first bytes of a ZIP archive (XLSX) and of an OLE compound file (old .xls, or an
# encrypted workbook).
# Integers a float holds exactly; a longer number in a spreadsheet has lost digits.
_EXACT_FLOAT_INTEGER = 2**53


def _normalise_header(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lstrip("\ufeff").casefold()
    return _HEADER_NOISE.sub("", _BRACKETED.sub("", text))


_ALIAS_INDEX: dict[str, tuple[str, int]] = {
    _normalise_header(alias): (name, rank)
    for name, aliases in HEADER_ALIASES.items()
    for rank, alias in enumerate(aliases)
}


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote, or in a dry run would write."""

    imported: int
    columns: dict[str, str]
    ignored_columns: list[str]
    dry_run: bool
    file_name: str
    sha256: str


@dataclass
class RowErrors:
    """Problems found in rows, in row order; all are counted, the first few hundred listed."""

    listed: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0

    def add(self, row: int, column: str, name: str | None, message: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_LISTED_ROW_ERRORS:
            self.listed.append({"row": row, "column": column, "field": name, "message": message})


@dataclass(frozen=True)
class ColumnPlan:
    """Which file column feeds which field, and which columns are left out."""

    indexes: dict[str, int]  # field -> position in the row
    headers: dict[str, str]  # field -> the column's header, as written in the file
    ignored: list[str]
    width: int  # columns up to the last one with a header; a cell further right belongs to none

    @property
    def columns(self) -> dict[str, str]:
        return {header: name for name, header in self.headers.items()}


@dataclass
class OrderFile:
    """A read and checked file: the orders, the spreadsheet row of each, and the problems found."""

    file_name: str
    sha256: str
    plan: ColumnPlan
    orders: list[dict[str, Any]]
    rows: list[int]
    errors: RowErrors


class _CellError(ValueError):
    """One cell's value cannot be used; the message says why, for the person who made the file."""


def _file_error(message: str) -> InvalidInput:
    return InvalidInput(message, details={"fields": {"file": [message]}})


# --- Reading the bytes ---------------------------------------------------------------------


def _read_upload(upload: File[Any]) -> tuple[bytes, str]:
    """The whole file (at most MAX_IMPORT_BYTES) and its SHA-256, hashed while reading."""
    digest = hashlib.sha256()
    chunks = []
    size = 0
    for chunk in upload.chunks():
        size += len(chunk)
        if size > MAX_IMPORT_BYTES:
            raise _file_error(
                _("The file is larger than %(mb)d MB; split it into smaller files.") % {"mb": MAX_IMPORT_BYTES >> 20}
            )
        digest.update(chunk)
        chunks.append(chunk)
    return b"".join(chunks), digest.hexdigest()


def _is_blank(cells: Sequence[Any]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


# --- Columns -------------------------------------------------------------------------------


def _check_mapping(mapping: Mapping[str, str | None], headers: Sequence[str]) -> dict[int, str | None]:
    """The user's mapping as column position -> field (None: ignore the column)."""
    problems = []
    by_header: dict[str, int] = {}
    by_normalised: dict[str, int] = {}
    for index, header in enumerate(headers):
        if header:
            by_header.setdefault(header, index)
            by_normalised.setdefault(_normalise_header(header), index)
    chosen: dict[int, str | None] = {}
    fields_taken: dict[str, str] = {}
    for header, name in mapping.items():
        target = name or None
        if target is not None and target not in ORDER_FIELDS:
            problems.append(
                _("“%(header)s”: “%(field)s” is not a field; use one of %(fields)s.")
                % {"header": header, "field": target, "fields": ", ".join(ORDER_FIELDS)}
            )
            continue
        position = by_header.get(header.strip(), by_normalised.get(_normalise_header(header)))
        if position is None:
            problems.append(_("The file has no column “%(header)s”.") % {"header": header})
            continue
        if target is not None and target in fields_taken:
            problems.append(
                _("“%(header)s” and “%(other)s” are both mapped to %(field)s.")
                % {"header": header, "other": fields_taken[target], "field": target}
            )
            continue
        if target is not None:
            fields_taken[target] = header
        chosen[position] = target
    if problems:
        raise InvalidInput(details={"fields": {"mapping": problems}})
    return chosen


def _plan_columns(headers: Sequence[str], mapping: Mapping[str, str | None]) -> ColumnPlan:
    """The user's mapping first; every other column by its header's known aliases."""
    chosen = _check_mapping(mapping, headers)
    indexes = {name: index for index, name in chosen.items() if name is not None}
    guesses: dict[str, tuple[int, int]] = {}  # field -> (alias rank, column position)
    for index, header in enumerate(headers):
        if index in chosen or not header:
            continue
        known = _ALIAS_INDEX.get(_normalise_header(header))
        if known is None or known[0] in indexes:
            continue
        name, rank = known
        if name not in guesses or rank < guesses[name][0]:
            guesses[name] = (rank, index)
    indexes.update({name: index for name, (_rank, index) in guesses.items()})
    used = set(indexes.values())
    plan = ColumnPlan(
        indexes={name: indexes[name] for name in ORDER_FIELDS if name in indexes},
        headers={name: headers[indexes[name]] for name in ORDER_FIELDS if name in indexes},
        ignored=[header for index, header in enumerate(headers) if header and index not in used],
        width=max((index + 1 for index, header in enumerate(headers) if header), default=0),
    )
    missing = [name for name in REQUIRED_FIELDS if name not in plan.indexes]
    if missing:
        message = _("No column found for %(fields)s; rename the column or send a mapping.") % {
            "fields": ", ".join(missing)
        }
        raise InvalidInput(
            message,
            details={
                "fields": {"file": [message]},
                "missing_fields": {name: list(HEADER_ALIASES[name]) for name in missing},
                "columns": plan.columns,
                "ignored_columns": plan.ignored,
            },
        )
    return plan


def _header_text(cell: Any) -> str:
    return "" if cell is None else str(cell).strip().lstrip("\ufeff").strip()


def _column_letter(index: int) -> str:
    """The spreadsheet's name for the column at this position: 0 is A, 26 is AA."""
    letters = ""
    number = index + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


# --- Row shape -----------------------------------------------------------------------------


def _is_blank_cell(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _looks_like_split_amount(cells: Sequence[Any], index: int, *, signed: bool = False) -> bool:
    """Whether the amount cell and the one after it look like one amount cut at a thousands separator."""
    if index + 1 >= len(cells):
        return False
    head, tail = cells[index], cells[index + 1]
    head_pattern = _SPLIT_AMOUNT_SIGNED_HEAD if signed else _SPLIT_AMOUNT_HEAD
    return (
        isinstance(head, str)
        and isinstance(tail, str)
        and head_pattern.fullmatch(unicodedata.normalize("NFKC", head).strip()) is not None
        and _SPLIT_AMOUNT_TAIL.fullmatch(unicodedata.normalize("NFKC", tail).strip()) is not None
    )


def _split_amount_error(cells: Sequence[Any], plan: ColumnPlan, message: str = "") -> tuple[str, str, str]:
    """(column, field, message) for an amount cut in two by an unquoted thousands separator."""
    hint = _("Is it an amount with an unquoted thousands separator? Quote amounts such as “1,234.50”.")
    return plan.headers["amount"], "amount", f"{message} {hint}".strip()


def _extra_cells_error(cells: Sequence[Any], plan: ColumnPlan) -> tuple[str, str | None, str] | None:
    """(column, field, message) when a row has more cells than the header, or None if they are all empty.

    Empty cells past the header are harmless: some exports end every line with a delimiter,
    and nothing is lost in them. A cell with anything in it has no column to go to, and
    usually means that an unquoted delimiter inside a cell has split it, moving every later
    cell one column to the right; the row is refused as a whole rather than read shifted.
    The common case, an amount written as ¥1,234.50 without quotes, is recognised even when
    the cell that fell off the end is empty, and reported on the amount column; the message
    also suggests it when the first cell past the header is a group of three digits.
    """
    message = _("This row has %(cells)d cells, more than the header's %(columns)d.") % {
        "cells": len(cells),
        "columns": plan.width,
    }
    if _looks_like_split_amount(cells, plan.indexes["amount"]):
        return _split_amount_error(cells, plan, message)
    hint = _("Is it an amount with an unquoted thousands separator? Quote amounts such as “1,234.50”.")
    for index in range(plan.width, len(cells)):
        cell = cells[index]
        if not _is_blank_cell(cell):
            if isinstance(cell, str) and _SPLIT_AMOUNT_TAIL.fullmatch(unicodedata.normalize("NFKC", cell).strip()):
                message = f"{message} {hint}"
            return _column_letter(index), None, message
    return None


# --- Cells ---------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A cell as text, undoing the tricks exports use to keep long numbers intact."""
    if value is None:
        return ""
    if isinstance(value, float):
        if not value.is_integer():
            return repr(value)
        if abs(value) >= _EXACT_FLOAT_INTEGER:
            raise _CellError(_("This long number was stored as a number and lost digits; format the column as text."))
        return str(int(value))
    text = str(value).strip()
    # Platform CSVs write ="3912..." (or put a tab or an apostrophe first) so that a
    # spreadsheet does not turn a 19-digit order number into 3.91E+18.
    if text.startswith('="') and text.endswith('"'):
        return text[2:-1].strip()
    if text.startswith("'") and text[1:].isalnum():
        return text[1:]
    return text


def _limited_text(value: Any, max_length: int, *, required: bool = False) -> str:
    text = _text(value)
    if required and not text:
        raise _CellError(_("Required."))
    if len(text) > max_length:
        raise _CellError(_("Longer than %(n)d characters.") % {"n": max_length})
    return text


def _parse_order_time(value: Any, zone: dt.tzinfo) -> dt.datetime:
    """A point in time; times without an offset are in the agency's time zone.

    A date alone is taken as the start of that day: the earliest the order can have
    been placed, so the chat-evidence deadline counted from it is never too late.
    """
    if value is None:  # an empty XLSX cell, or a CSV row that ends before this column
        raise _CellError(_("Required."))
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=zone)
    if isinstance(value, int | float | Decimal | dt.time):
        raise _CellError(_("Not a date and time; format the column as date and time."))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        raise _CellError(_("Required."))
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise _CellError(
            _("“%(value)s” is not a date and time; write it like 2026-03-01 12:30:00.") % {"value": text[:40]}
        )
    parts = match.groupdict()
    offset = parts["offset"]
    tzinfo: dt.tzinfo = zone
    if offset == "Z":
        tzinfo = dt.UTC
    elif offset:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        tzinfo = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return dt.datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int((parts["fraction"] or "0").ljust(6, "0")),
            tzinfo=tzinfo,
        )
    except ValueError as exc:
        raise _CellError(_("“%(value)s” is not a real date or time.") % {"value": text[:40]}) from exc


def _order_time(value: Any, zone: dt.tzinfo) -> dt.datetime:
    """An order time within the range of a past moment (agency.moments): 1900 or 2099 is a typing slip."""
    moment = _parse_order_time(value, zone)
    problem = moments.range_error(moment, moments.PAST)
    if problem is not None:
        raise _CellError(problem)
    return moment


_CENT = Decimal("0.01")
_AMOUNT_CEILING = Decimal("1e10")  # FlaggedOrder.amount: 12 digits, 2 of them decimals


def _amount(value: Any) -> Decimal:
    """A non-negative amount with at most two decimal places; currency signs and thousands separators are dropped."""
    if isinstance(value, bool):
        raise _CellError(_("Not an amount."))
    if isinstance(value, float):
        text = repr(value)
    elif isinstance(value, int | Decimal):
        text = str(value)
    else:
        text = _AMOUNT_NOISE.sub("", unicodedata.normalize("NFKC", _text(value)))
        if not text:
            raise _CellError(_("Required."))
        if "," in text:
            if not _GROUPED_AMOUNT.fullmatch(text):
                message = _("“%(value)s” is not an amount: a comma may only separate thousands, as in 1,234.50.")
                raise _CellError(message % {"value": str(value)[:40]})
            text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise _CellError(_("“%(value)s” is not an amount.") % {"value": str(value)[:40]}) from exc
    if not amount.is_finite():
        raise _CellError(_("“%(value)s” is not an amount.") % {"value": str(value)[:40]})
    if amount < 0:
        raise _CellError(_("An amount cannot be negative."))
    if amount >= _AMOUNT_CEILING:
        raise _CellError(_("The amount is too large."))
    if amount != amount.quantize(_CENT):
        raise _CellError(_("An amount has at most two decimal places."))
    return amount.quantize(_CENT).copy_abs()


def _currency(value: Any, default: str) -> str:
    text = unicodedata.normalize("NFKC", _text(value)).upper()
    if not text:
        return default
    text = CURRENCY_WORDS.get(text, text)
    if not _CURRENCY_CODE.fullmatch(text):
        raise _CellError(_("“%(value)s” is not a currency code such as CNY.") % {"value": text[:40]})
    return text


def _goods_type(value: Any, default: str) -> str:
    text = unicodedata.normalize("NFKC", _text(value)).casefold()
    if not text:
        return default
    goods_type = GOODS_TYPE_WORDS.get(text)
    if goods_type is None:
        message = _("“%(value)s” is not a goods type; use 实物/physical or 虚拟/virtual.")
        raise _CellError(message % {"value": text[:40]})
    return goods_type.value


# --- Reading the file ----------------------------------------------------------------------


def read_order_file(
    *,
    upload: File[Any],
    mapping: Mapping[str, str | None] | None = None,
    default_goods_type: str = GoodsType.PHYSICAL,
    default_currency: str = "CNY",
) -> OrderFile:
    """Read every row and check every cell, without touching the database.

    Problems with the file as a whole (empty, unreadable, too large, required columns
    missing, a bad mapping) raise InvalidInput at once. Problems with rows, duplicates
    within the file included, are collected in ``errors`` so that the caller can add the
    duplicates against the case's orders and answer with all of them together.
    """
    if default_goods_type not in GoodsType.values:
        raise InvalidInput(details={"fields": {"default_goods_type": [_("Not a goods type.")]}})
    if not _CURRENCY_CODE.fullmatch(default_currency):
        raise InvalidInput(details={"fields": {"default_currency": [_("Not a currency code such as CNY.")]}})
    data, sha256 = _read_upload(upload)
    zone = ZoneInfo(settings.TIME_ZONE)
    lengths = {name: getattr(FlaggedOrder._meta.get_field(name), "max_length", None) or 0 for name in ORDER_FIELDS}
    with closing(spreadsheet_rows(data)) as numbered_rows:
        header_cells = next((cells for _number, cells in numbered_rows if not _is_blank(cells)), None)
        if header_cells is None:
            raise _file_error(_("The file is empty."))
        plan = _plan_columns([_header_text(cell) for cell in header_cells], mapping or {})
        orders, rows, errors = _read_rows(numbered_rows, plan, zone, lengths, default_goods_type, default_currency)
    if not orders and not errors.count:
        raise _file_error(_("The file has a header row but no orders."))
    return OrderFile(
        file_name=PurePath(upload.name or "").name[:255],
        sha256=sha256,
        plan=plan,
        orders=orders,
        rows=rows,
        errors=errors,
    )


def _read_rows(
    numbered_rows: Iterator[tuple[int, Sequence[Any]]],
    plan: ColumnPlan,
    zone: dt.tzinfo,
    lengths: Mapping[str, int],
    default_goods_type: str,
    default_currency: str,
) -> tuple[list[dict[str, Any]], list[int], RowErrors]:
    parsers: dict[str, Callable[[Any], Any]] = {
        "platform_order_id": lambda v: _limited_text(v, lengths["platform_order_id"], required=True),
        "order_time": lambda v: _order_time(v, zone),
        "amount": _amount,
        "currency": lambda v: _currency(v, default_currency),
        "buyer_handle": lambda v: _limited_text(v, lengths["buyer_handle"]),
        "goods_type": lambda v: _goods_type(v, default_goods_type),
        "courier": lambda v: _limited_text(v, lengths["courier"]),
        "tracking_number": lambda v: _limited_text(v, lengths["tracking_number"]),
    }
    defaults = {
        "currency": default_currency,
        "buyer_handle": "",
        "goods_type": default_goods_type,
        "courier": "",
        "tracking_number": "",
    }
    columns = [(name, index, plan.headers[name], parsers[name]) for name, index in plan.indexes.items()]
    id_header = plan.headers["platform_order_id"]
    orders: list[dict[str, Any]] = []
    rows: list[int] = []
    errors = RowErrors()
    first_row_of: dict[str, int] = {}
    data_rows = 0
    for number, cells in numbered_rows:
        if _is_blank(cells):
            continue
        data_rows += 1
        if data_rows > MAX_IMPORT_ROWS:
            raise _file_error(
                _("The file has more than %(n)d orders; split it into smaller files.") % {"n": MAX_IMPORT_ROWS}
            )
        amount_index = plan.indexes["amount"]
        if len(cells) <= plan.width and _looks_like_split_amount(cells, amount_index, signed=True):
            # A short row (its trailing empty cells left out) can hide the cell the split
            # pushed off the end; a currency sign before 1-3 digits followed by a group of
            # three digits is an amount cut at its separator, not an amount and a buyer.
            errors.add(number, *_split_amount_error(cells, plan))
            continue
        if len(cells) > plan.width:
            extra = _extra_cells_error(cells, plan)
            if extra is not None:
                # The row's cells do not line up with the header, so its other cells are
                # not checked: their errors would only be echoes of the shift.
                errors.add(number, *extra)
                continue
        order: dict[str, Any] = dict(defaults)
        valid = True
        for name, index, header, parse in columns:
            if index >= len(cells):
                # A row that ends early is read as if its last cells were empty (Excel leaves
                # trailing empty cells out of some lines), so only a required cell is missed.
                if name in REQUIRED_FIELDS:
                    message = _("Missing: this row has only %(cells)d cells, fewer than the header's %(columns)d.")
                    errors.add(number, header, name, message % {"cells": len(cells), "columns": plan.width})
                    valid = False
                continue
            try:
                order[name] = parse(cells[index])
            except _CellError as exc:
                errors.add(number, header, name, str(exc))
                valid = False
        order_id = order.get("platform_order_id")
        if order_id is not None:
            earlier = first_row_of.setdefault(order_id, number)
            if earlier != number:
                errors.add(
                    number,
                    id_header,
                    "platform_order_id",
                    _("Order %(id)s is already in row %(row)d.") % {"id": order_id, "row": earlier},
                )
                valid = False
        if valid:
            orders.append(order)
            rows.append(number)
    return orders, rows, errors


# --- The service ---------------------------------------------------------------------------


def _refuse_rows(order_file: OrderFile, already_on_case: RowErrors) -> InvalidInput:
    listed = sorted(order_file.errors.listed + already_on_case.listed, key=lambda error: error["row"])
    count = order_file.errors.count + already_on_case.count
    return InvalidInput(
        _("Problems found in the file: %(count)d. Nothing was imported.") % {"count": count},
        details={
            "rows": listed[:MAX_LISTED_ROW_ERRORS],
            "error_count": count,
            "columns": order_file.plan.columns,
            "ignored_columns": order_file.plan.ignored,
        },
    )


def _check_editable(state: str) -> None:
    if state not in EDITABLE_STATES:
        raise InvalidState(_("Flagged orders can be added only in intake or assessment."), details={"state": state})


def flagged_orders_import(
    *,
    case_id: int,
    actor: User,
    upload: File[Any],
    mapping: Mapping[str, str | None] | None = None,
    default_goods_type: str = GoodsType.PHYSICAL,
    default_currency: str = "CNY",
    dry_run: bool = False,
) -> ImportResult:
    """Import a platform's export of flagged orders: every row is checked first, then all are written, or none.

    1. Check the role, that the case is visible (404) and still being set up (409), before
       reading the file, so nobody learns about a case through answers about a file.
    2. Read and check every row outside the transaction; reading 50,000 rows should not
       hold the case's row lock.
    3. In one transaction: lock the case, check its state again, report duplicates of the
       orders already on it together with the file's own problems (400, nothing written),
       then bulk-create the orders, bump the case's order count and write one history event
       with the file's name and SHA-256. A dry run stops before writing.
    """
    require_role(actor, CASE_EDITORS)
    _check_editable(_visible_case(actor, case_id).state)
    order_file = read_order_file(
        upload=upload, mapping=mapping, default_goods_type=default_goods_type, default_currency=default_currency
    )
    with transaction.atomic():
        case = _visible_case(actor, case_id, for_update=not dry_run)
        _check_editable(case.state)
        # All the case's order ids in one query: an IN list of 50,000 ids would pass
        # SQLite's limit on query parameters.
        existing = set(
            FlaggedOrder.objects.filter(case_id=case.pk).order_by().values_list("platform_order_id", flat=True)
        )
        already_on_case = RowErrors()
        id_header = order_file.plan.headers["platform_order_id"]
        for order, row in zip(order_file.orders, order_file.rows, strict=True):
            if order["platform_order_id"] in existing:
                already_on_case.add(
                    row,
                    id_header,
                    "platform_order_id",
                    _("Order %(id)s is already on the case.") % {"id": order["platform_order_id"]},
                )
        if order_file.errors.count or already_on_case.count:
            raise _refuse_rows(order_file, already_on_case)
        if not dry_run:
            _add_orders(
                case=case,
                actor=actor,
                orders=order_file.orders,
                kind=EventKind.FLAGGED_ORDERS_IMPORTED,
                event_values={"file_name": order_file.file_name, "sha256": order_file.sha256},
                validated=True,
            )
    return ImportResult(
        imported=len(order_file.orders),
        columns=order_file.plan.columns,
        ignored_columns=order_file.plan.ignored,
        dry_run=dry_run,
        file_name=order_file.file_name,
        sha256=order_file.sha256,
    )
