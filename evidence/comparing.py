"""Compare the text read from an evidence file with its order: the checks, and the rule that combines them.

Pure functions on text: nothing here reads a file or the database. Each check looks for
one fact of the order in the text and gives a finding:

- ``tracking_number``, ``order_id``: the order's value as a whole token, compared after
  removing spaces, case-insensitively. A token of the same shape (the same length, letters
  and digits in the same places) but another value is a mismatch: the file belongs to
  another parcel or order.
- ``courier``: the order's courier by any of its names (中通 or ZTO); another known courier
  alone is a mismatch.
- ``delivered_after_order``: a date (2026-11-03, 2026/11/03, 2026年11月3日, with or without
  a time) on or after the order; dates that all lie before it are a mismatch.
- ``time_near_order``: a date or time within the rule's window of the order time.
- ``buyer``: the buyer's handle or account; it is found or not (another handle cannot be
  told from other words).
- ``amount``: a money amount (¥ or 元, after 金额/实付/付款, or with two decimals) equal to the
  order's; money amounts that all differ are a mismatch.

A check whose order field is blank (no courier on the order) gives no finding. A rule
(``EvidenceCheckRule``) lists groups of checks per kind; the item matches when every check
of one group matches. Its outcome, in the order a reviewer looks at it: ``mismatch`` when an
identifier (tracking number, order id) contradicts the order or when no group matches and
some check contradicts it; ``match`` when a group matches; ``unreadable`` when the file gave
no text; ``not_found`` otherwise.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from cases.kinds import EvidenceKind
from evidence.models import CheckName, CheckOutcome, FindingResult

# The rules a new installation starts with (migration 0005); administrators edit them.
DEFAULT_WINDOW_HOURS = 72
_PARCEL: list[list[str]] = [[CheckName.TRACKING_NUMBER, CheckName.COURIER, CheckName.DELIVERED_AFTER_ORDER]]
_VIRTUAL: list[list[str]] = [
    [CheckName.ORDER_ID, CheckName.AMOUNT, CheckName.TIME_NEAR_ORDER],
    [CheckName.BUYER, CheckName.AMOUNT, CheckName.TIME_NEAR_ORDER],
]
DEFAULT_RULES: dict[str, list[list[str]]] = {
    EvidenceKind.SHIPPING_SLIP: _PARCEL,
    EvidenceKind.SIGNED_DELIVERY: _PARCEL,
    EvidenceKind.COURIER_TRACKING: _PARCEL,
    EvidenceKind.CHAT_LOG: [[str(CheckName.ORDER_ID)], [CheckName.BUYER, CheckName.TIME_NEAR_ORDER]],
    EvidenceKind.DELIVERY_RECORD: _VIRTUAL,
    EvidenceKind.CUSTOMER_CONFIRMATION: _VIRTUAL,
}

# A contradiction in one of these decides the outcome even when another group matched.
IDENTIFIERS = (CheckName.TRACKING_NUMBER, CheckName.ORDER_ID)

# Known couriers by every name they go by on slips and screenshots (Latin names as whole words).
COURIERS: dict[str, tuple[str, ...]] = {
    "zto": ("中通", "ZTO"),
    "yto": ("圆通", "YTO"),
    "sto": ("申通", "STO"),
    "yunda": ("韵达", "YUNDA"),
    "sf": ("顺丰", "SF EXPRESS", "SF"),
    "jd": ("京东", "JD"),
    "ems": ("邮政", "EMS"),
    "jt": ("极兔", "J&T"),
    "deppon": ("德邦", "DEPPON"),
    "best": ("百世", "BEST EXPRESS"),
}

SNIPPET_CHARS = 200
VALUE_CHARS = 255


@dataclass(frozen=True)
class OrderFacts:
    """What a check compares against: the order's fields, in the case's time zone."""

    platform_order_id: str
    order_time: dt.datetime
    amount: Decimal | None
    buyer_handle: str
    courier: str
    tracking_number: str


@dataclass(frozen=True)
class Finding:
    name: str
    result: str
    expected: str = ""
    found: str = ""
    snippet: str = ""
    page: int | None = None
    line: int | None = None


@dataclass(frozen=True)
class Rule:
    groups: list[list[str]]
    window_hours: int = DEFAULT_WINDOW_HOURS

    @property
    def check_names(self) -> list[str]:
        return list(dict.fromkeys(name for group in self.groups for name in group))


@dataclass
class Text:
    """The text of a file as pages of lines (what evidence.reading produced)."""

    pages: list[list[str]] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> Text:
        return cls([page.split("\n") for page in text.split("\f")] if text else [])

    def lines(self) -> Iterator[tuple[int, int, str]]:
        """(page, line, text), both counted from 1, skipping blank lines."""
        for page_number, page in enumerate(self.pages, start=1):
            for line_number, line in enumerate(page, start=1):
                if line.strip():
                    yield page_number, line_number, line

    @property
    def is_empty(self) -> bool:
        return not any(True for _ in self.lines())


def _finding(
    name: str, result: str, expected: str, hit: tuple[int, int, str] | None = None, found: str = ""
) -> Finding:
    page, line, text = hit if hit is not None else (None, None, "")
    return Finding(
        name=name,
        result=result,
        expected=expected[:VALUE_CHARS],
        found=found[:VALUE_CHARS],
        snippet=" ".join(text.split())[:SNIPPET_CHARS],
        page=page,
        line=line,
    )


# --- Identifiers: tracking numbers and order ids -------------------------------------------------

_TOKEN = re.compile(r"[A-Z0-9](?:[A-Z0-9-]*[A-Z0-9])?")


def normalise_identifier(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


def _shape(value: str) -> str:
    return re.sub(r"[A-Z]", "A", re.sub(r"\d", "9", value))


def _tokens(line: str) -> set[str]:
    """The line's alphanumeric tokens, as written and with the spaces inside it removed (OCR splits and joins)."""
    upper = line.upper()
    return set(_TOKEN.findall(upper)) | set(_TOKEN.findall(re.sub(r"\s+", "", upper)))


def _contains_token(line: str, value: str) -> bool:
    upper = line.upper()
    pattern = re.compile(rf"(?<![A-Z0-9]){re.escape(value)}(?![A-Z0-9])")
    return bool(pattern.search(upper) or pattern.search(re.sub(r"\s+", "", upper)))


def check_identifier(name: str, expected: str, text: Text, *, others: Sequence[str] = ()) -> Finding:
    """The order's identifier as a whole token; another of the same shape is a mismatch.

    ``others`` are the order's other identifiers (its tracking number when this is the
    order id): a token equal to one of them is never taken for a contradiction.
    """
    value = normalise_identifier(expected)
    for hit in text.lines():
        if _contains_token(hit[2], value):
            return _finding(name, FindingResult.MATCH, expected, hit, value)
    shape = _shape(value)
    known = {normalise_identifier(other) for other in others if other}
    for hit in text.lines():
        for token in sorted(_tokens(hit[2])):
            if token != value and token not in known and _shape(token) == shape:
                return _finding(name, FindingResult.MISMATCH, expected, hit, token)
    return _finding(name, FindingResult.NOT_FOUND, expected)


# --- Courier -----------------------------------------------------------------------------------------


def _courier_pattern(alias: str) -> re.Pattern[str]:
    if alias.isascii():
        return re.compile(rf"(?<![A-Z]){re.escape(alias)}(?![A-Z])")
    return re.compile(re.escape(alias))


def courier_names(courier: str) -> tuple[str, tuple[str, ...]]:
    """The known courier an order's courier field names (its key and names), or the field itself."""
    upper = courier.upper()
    for key, aliases in COURIERS.items():
        if any(_courier_pattern(alias).search(upper) for alias in aliases):
            return key, aliases
    return "", (re.sub(r"\s+", " ", upper.strip()),)


def check_courier(expected: str, text: Text) -> Finding:
    key, ours = courier_names(expected)
    patterns = [_courier_pattern(alias) for alias in ours]
    for hit in text.lines():
        for alias, pattern in zip(ours, patterns, strict=True):
            if pattern.search(hit[2].upper()):
                return _finding(CheckName.COURIER, FindingResult.MATCH, expected, hit, alias)
    for hit in text.lines():
        upper = hit[2].upper()
        for other, aliases in COURIERS.items():
            if other == key:
                continue
            for alias in aliases:
                if _courier_pattern(alias).search(upper):
                    return _finding(CheckName.COURIER, FindingResult.MISMATCH, expected, hit, aliases[0])
    return _finding(CheckName.COURIER, FindingResult.NOT_FOUND, expected)


# --- Dates and times ---------------------------------------------------------------------------------

# Colons may be full-width (\uff1a) in Chinese text.
_DATE = re.compile(
    r"(?<!\d)(20\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?:\s*日)?"
    r"(?:\s*(\d{1,2})\s*[:\uff1a]\s*(\d{2})(?:\s*[:\uff1a]\s*(\d{2}))?)?"
)


@dataclass(frozen=True)
class Moment:
    """A date read from the text, with its time when the text gives one; ``text`` is it written plainly."""

    at: dt.datetime
    has_time: bool
    text: str


def moments(line: str, zone: dt.tzinfo) -> list[Moment]:
    found = []
    for match in _DATE.finditer(line):
        year, month, day, hour, minute, second = match.groups()
        try:
            at = dt.datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=zone
            )
        except ValueError:
            continue  # not a date (2026-13-45), or OCR joined digits
        shown = at.strftime("%Y-%m-%d %H:%M" if hour is not None else "%Y-%m-%d")
        found.append(Moment(at=at, has_time=hour is not None, text=shown))
    return found


def _is_after(moment: Moment, order_time: dt.datetime) -> bool:
    if moment.has_time:
        return moment.at >= order_time
    return moment.at.date() >= order_time.astimezone(moment.at.tzinfo).date()


def _is_near(moment: Moment, order_time: dt.datetime, window: dt.timedelta) -> bool:
    if moment.has_time:
        return abs(moment.at - order_time) <= window
    # A date alone is near when it is within the window counted in whole days, rounded up.
    local = order_time.astimezone(moment.at.tzinfo).date()
    return abs((moment.at.date() - local).days) <= math.ceil(window / dt.timedelta(days=1))


def check_time(name: str, order_time: dt.datetime, text: Text, *, window: dt.timedelta | None) -> Finding:
    """A date on or after the order (window None), or within the window of it."""
    zone = order_time.tzinfo or dt.UTC
    expected = order_time.strftime("%Y-%m-%d %H:%M")
    first: tuple[tuple[int, int, str], Moment] | None = None
    for hit in text.lines():
        for moment in moments(hit[2], zone):
            fits = _is_after(moment, order_time) if window is None else _is_near(moment, order_time, window)
            if fits:
                return _finding(name, FindingResult.MATCH, expected, hit, moment.text)
            first = first or (hit, moment)
    if first is not None:
        return _finding(name, FindingResult.MISMATCH, expected, first[0], first[1].text)
    return _finding(name, FindingResult.NOT_FOUND, expected)


# --- Buyer and amount ----------------------------------------------------------------------------------


def check_buyer(expected: str, text: Text) -> Finding:
    wanted = re.sub(r"\s+", "", expected).casefold()
    for hit in text.lines():
        if wanted in re.sub(r"\s+", "", hit[2]).casefold():
            return _finding(CheckName.BUYER, FindingResult.MATCH, expected, hit, expected)
    return _finding(CheckName.BUYER, FindingResult.NOT_FOUND, expected)


_MONEY = re.compile(
    r"(?:[¥￥]|RMB|CNY|金额|实付|付款|合计|总价|总计|价格)\s*[:\uff1a]?\s*[¥￥]?\s*(\d{1,9}(?:,\d{3})*(?:\.\d{1,2})?)"
    r"|(\d{1,9}(?:,\d{3})*(?:\.\d{1,2})?)\s*元"
    r"|(?<![\d.])(\d{1,9}\.\d{2})(?![\d.])",
    re.IGNORECASE,
)


def amounts(line: str) -> list[tuple[Decimal, str]]:
    found = []
    for match in _MONEY.finditer(line):
        raw = next(group for group in match.groups() if group)
        try:
            found.append((Decimal(raw.replace(",", "")), match.group(0)))
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            continue
    return found


def check_amount(expected: Decimal, text: Text) -> Finding:
    shown = f"{expected:.2f}"
    first: tuple[tuple[int, int, str], str] | None = None
    for hit in text.lines():
        for value, raw in amounts(hit[2]):
            if value == expected:
                return _finding(CheckName.AMOUNT, FindingResult.MATCH, shown, hit, raw)
            first = first or (hit, raw)
    if first is not None:
        return _finding(CheckName.AMOUNT, FindingResult.MISMATCH, shown, first[0], first[1])
    return _finding(CheckName.AMOUNT, FindingResult.NOT_FOUND, shown)


# --- The rule -----------------------------------------------------------------------------------------


def run_check(name: str, order: OrderFacts, text: Text, rule: Rule) -> Finding | None:
    """One check's finding, or None when the order has nothing to compare (a blank field)."""
    if name == CheckName.TRACKING_NUMBER:
        if not order.tracking_number.strip():
            return None
        return check_identifier(name, order.tracking_number, text, others=[order.platform_order_id])
    if name == CheckName.ORDER_ID:
        return check_identifier(name, order.platform_order_id, text, others=[order.tracking_number])
    if name == CheckName.COURIER:
        return check_courier(order.courier, text) if order.courier.strip() else None
    if name == CheckName.DELIVERED_AFTER_ORDER:
        return check_time(name, order.order_time, text, window=None)
    if name == CheckName.TIME_NEAR_ORDER:
        return check_time(name, order.order_time, text, window=dt.timedelta(hours=rule.window_hours))
    if name == CheckName.BUYER:
        return check_buyer(order.buyer_handle, text) if order.buyer_handle.strip() else None
    if name == CheckName.AMOUNT:
        return check_amount(order.amount, text) if order.amount is not None else None
    raise ValueError(f"unknown check {name!r}")


def compare(order: OrderFacts, text: Text, rule: Rule | None, *, readable: bool = True) -> tuple[str, list[Finding]]:
    """The item's outcome and its findings, one per check of the rule that had something to compare."""
    if rule is None or not rule.check_names:
        return CheckOutcome.UNCHECKED, []
    if not readable or text.is_empty:
        findings = [
            Finding(name=name, result=FindingResult.UNREADABLE)
            for name in rule.check_names
            if run_check(name, order, Text(), rule) is not None
        ]
        return (CheckOutcome.UNREADABLE if findings else CheckOutcome.UNCHECKED), findings
    by_name = {name: run_check(name, order, text, rule) for name in rule.check_names}
    findings = [finding for finding in by_name.values() if finding is not None]
    return outcome_of(rule, by_name), findings


def outcome_of(rule: Rule, by_name: dict[str, Finding | None]) -> str:
    results = {name: finding.result for name, finding in by_name.items() if finding is not None}
    if not results:
        return CheckOutcome.UNCHECKED
    if any(results.get(name) == FindingResult.MISMATCH for name in IDENTIFIERS):
        return CheckOutcome.MISMATCH
    for group in rule.groups:
        ran = [name for name in group if name in results]
        if ran and all(results[name] == FindingResult.MATCH for name in ran):
            return CheckOutcome.MATCH
    if FindingResult.MISMATCH in results.values():
        return CheckOutcome.MISMATCH
    return CheckOutcome.NOT_FOUND
