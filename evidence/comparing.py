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
(``EvidenceCheckRule``) lists groups of checks per kind. The item's outcome, in the order a
reviewer looks at it: ``mismatch`` when any check contradicts the order; ``unreadable`` when
the file gave no text; ``match`` when every check of one group matches (a group that names
the tracking number, order id or buyer counts only if the order has that value);
``not_found`` otherwise.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

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

# What tells one order from another: a group with one of these can match only when the order has it.
GROUP_IDENTIFIERS = (CheckName.TRACKING_NUMBER, CheckName.ORDER_ID, CheckName.BUYER)

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
    """What a check compares against: the order's fields; dates read from a file without a zone are
    taken to be in ``order_time``'s zone (the agency's, TIME_ZONE)."""

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


# Groups of at most this many characters, separated by single spaces, are read as one token
# ("7531 2345 678901"); longer ones are separate numbers (a phone number beside a count).
GROUP_CHARS = 6
_GROUPS = re.compile(rf"(?<![A-Z0-9])[A-Z0-9]{{1,{GROUP_CHARS}}}(?: [A-Z0-9]{{1,{GROUP_CHARS}}})+(?![A-Z0-9])")


def _tokens(line: str) -> set[str]:
    """The line's alphanumeric tokens as written, and runs of short groups joined (numbers printed in groups)."""
    upper = line.upper()
    return set(_TOKEN.findall(upper)) | {run.replace(" ", "") for run in _GROUPS.findall(upper)}


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


# Where a courier's Chinese name is part of another word: 南京东路 (an address), 邮政编码 (a postcode).
NOT_A_COURIER = {"京东": (r"[南北]", r"[路街大]"), "邮政": ("", r"编码|编号")}


def _courier_pattern(alias: str) -> re.Pattern[str]:
    if alias.isascii():
        return re.compile(rf"(?<![A-Z]){re.escape(alias)}(?![A-Z])")
    before, after = NOT_A_COURIER.get(alias, ("", ""))
    return re.compile((rf"(?<!{before})" if before else "") + re.escape(alias) + (rf"(?!{after})" if after else ""))


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
        # Documents give minutes (or seconds): 10:00 is not before an order placed at 10:00:30.
        precision = dt.timedelta(minutes=1) if moment.at.second == 0 else dt.timedelta(seconds=1)
        return moment.at + precision > order_time
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
    """The handle as a whole word: "tb_lin" is not found in "tb_lin2024"."""
    wanted = re.sub(r"\s+", "", expected).casefold()
    pattern = re.compile(rf"(?<![a-z0-9_]){re.escape(wanted)}(?![a-z0-9_])")
    for hit in text.lines():
        line = hit[2].casefold()
        # As written, or with spaces removed (OCR may split a handle: "TB_LIN 2024").
        if pattern.search(line) or pattern.search(re.sub(r"\s+", "", line)):
            return _finding(CheckName.BUYER, FindingResult.MATCH, expected, hit, expected)
    return _finding(CheckName.BUYER, FindingResult.NOT_FOUND, expected)


# A number that goes on as a date, a time, a range or a quantity is no amount: 2026-11-02, 1.20kg, 2 件.
_NOT_AN_AMOUNT = r"(?![\d.,]|\s*(?:[-/年月日:\uff1a件个次份]|kg|KG|g\b|ml|ML))"
_NUMBER = r"(\d{1,9}(?:,\d{3})*(?:\.\d{1,2})?)"
# Marked as money: after ¥ or a word for the price paid, or before 元.
_MARKED = re.compile(
    rf"(?:[¥\uffe5]|RMB|CNY|金额|实付款?|付款|合计|总价|总计|价格)\s*[:\uff1a]?\s*[¥\uffe5]?\s*{_NUMBER}{_NOT_AN_AMOUNT}"
    rf"|(?<![\d.]){_NUMBER}\s*元",
    re.IGNORECASE,
)
# With two decimals and nothing else around it: perhaps an amount, so it can match but not contradict.
_BARE = re.compile(r"(?<![\d.,:\-/])(\d{1,9}\.\d{2})(?![\d.,]|\s*(?:kg|KG|g\b|ml|ML))")


def amounts(line: str) -> list[tuple[Decimal, str, bool]]:
    """Amounts in the line: (value, as written, marked as money)."""
    found = []
    for pattern, marked in ((_MARKED, True), (_BARE, False)):
        for match in pattern.finditer(line):
            raw = next(group for group in match.groups() if group)
            found.append((Decimal(raw.replace(",", "")), match.group(0).strip(), marked))
    return found


def check_amount(expected: Decimal, text: Text) -> Finding:
    shown = f"{expected:.2f}"
    first: tuple[tuple[int, int, str], str] | None = None
    for hit in text.lines():
        for value, raw, marked in amounts(hit[2]):
            if value == expected:
                return _finding(CheckName.AMOUNT, FindingResult.MATCH, shown, hit, raw)
            if marked:
                first = first or (hit, raw)
    if first is not None:
        return _finding(CheckName.AMOUNT, FindingResult.MISMATCH, shown, first[0], first[1])
    return _finding(CheckName.AMOUNT, FindingResult.NOT_FOUND, shown)


# --- The rule -----------------------------------------------------------------------------------------


def compares(name: str, order: OrderFacts) -> bool:
    """Whether the order has what the check compares: a blank field (no courier on the order) gives no finding."""
    blank = {
        CheckName.TRACKING_NUMBER: not order.tracking_number.strip(),
        CheckName.COURIER: not order.courier.strip(),
        CheckName.BUYER: not order.buyer_handle.strip(),
        CheckName.AMOUNT: order.amount is None,
    }
    return not blank.get(CheckName(name), False)


def run_check(name: str, order: OrderFacts, text: Text, rule: Rule) -> Finding | None:
    """One check's finding, or None when the order has nothing to compare."""
    if not compares(name, order):
        return None
    if name == CheckName.TRACKING_NUMBER:
        return check_identifier(name, order.tracking_number, text, others=[order.platform_order_id])
    if name == CheckName.ORDER_ID:
        return check_identifier(name, order.platform_order_id, text, others=[order.tracking_number])
    if name == CheckName.COURIER:
        return check_courier(order.courier, text)
    if name == CheckName.DELIVERED_AFTER_ORDER:
        return check_time(name, order.order_time, text, window=None)
    if name == CheckName.TIME_NEAR_ORDER:
        return check_time(name, order.order_time, text, window=dt.timedelta(hours=rule.window_hours))
    if name == CheckName.BUYER:
        return check_buyer(order.buyer_handle, text)
    if name == CheckName.AMOUNT and order.amount is not None:
        return check_amount(order.amount, text)
    raise ValueError(f"unknown check {name!r}")


def compare(order: OrderFacts, text: Text, rule: Rule | None, *, readable: bool = True) -> tuple[str, list[Finding]]:
    """The item's outcome and its findings, one per check of the rule that had something to compare."""
    if rule is None or not rule.check_names:
        return CheckOutcome.UNCHECKED, []
    if not readable or text.is_empty:
        findings = [
            Finding(name=name, result=FindingResult.UNREADABLE) for name in rule.check_names if compares(name, order)
        ]
        return (CheckOutcome.UNREADABLE if findings else CheckOutcome.UNCHECKED), findings
    by_name = {name: run_check(name, order, text, rule) for name in rule.check_names}
    findings = [finding for finding in by_name.values() if finding is not None]
    return outcome_of(rule, by_name), findings


def outcome_of(rule: Rule, by_name: dict[str, Finding | None]) -> str:
    results = {name: finding.result for name, finding in by_name.items() if finding is not None}
    if not results:
        return CheckOutcome.UNCHECKED
    if FindingResult.MISMATCH in results.values():
        return CheckOutcome.MISMATCH
    for group in rule.groups:
        # A group whose identifier the order lacks cannot vouch for the file: a date alone
        # does not make a slip match an order without a tracking number.
        if any(name not in results for name in group if name in GROUP_IDENTIFIERS):
            continue
        ran = [name for name in group if name in results]
        if ran and all(results[name] == FindingResult.MATCH for name in ran):
            return CheckOutcome.MATCH
    return CheckOutcome.NOT_FOUND
