"""Which order and which kind of evidence each file of a bulk upload is for, or why that cannot be said.

The order, in this order of precedence:

1. a row of the archive's manifest (``manifest.csv`` or ``manifest.xlsx``, with columns
   file, order, kind; the order by its platform order id or its tracking number);
2. the folders on the file's path: a folder named by an order id or a tracking number,
   at any depth (``SF1234567890/``, ``订单 2026120112345/``);
3. the file name, when it holds exactly one order id or tracking number of the case.

An identifier counts only as a whole word: ``123`` is not found in ``91234``. A file that
matches no order, or two (a folder saying one order and the file name another, a
tracking number shared by two orders), is reported with the candidates, never guessed.

The kind comes from the manifest, else the deepest folder that names one, else the file
name, by the keywords of ``KindKeywords`` (editable data; ``DEFAULT_KIND_KEYWORDS`` is what
a new installation starts with; a Latin keyword counts at the start of a word). A name
that holds the words of two kinds names no kind. An explicit ``mapping`` (file -> order,
kind, or skip) from the person uploading wins over all of this.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from django.utils.translation import gettext as _

from agency.errors import InvalidInput
from agency.spreadsheets import spreadsheet_rows
from cases.kinds import EvidenceKind
from cases.models import FlaggedOrder
from evidence.archives import ArchiveEntry, clean_path
from evidence.models import KindKeywords

# What a new installation starts with (migration 0003 writes the same into KindKeywords).
DEFAULT_KIND_KEYWORDS: dict[str, list[str]] = {
    EvidenceKind.CHAT_LOG: ["聊天", "旺旺", "千牛", "咚咚", "chat", "chat_log"],
    EvidenceKind.SHIPPING_SLIP: ["面单", "快递单", "运单", "shipping", "waybill", "shipping_slip"],
    EvidenceKind.SIGNED_DELIVERY: ["签收", "signed", "signed_delivery", "signed delivery"],
    EvidenceKind.COURIER_TRACKING: ["物流", "轨迹", "tracking", "courier_tracking", "courier tracking"],
    EvidenceKind.DELIVERY_RECORD: ["发货记录", "充值", "delivery", "delivery_record", "delivery record"],
    EvidenceKind.CUSTOMER_CONFIRMATION: [
        "确认",
        "confirmation",
        "customer_confirmation",
        "customer confirmation",
    ],
    EvidenceKind.PAYMENT_RECORD: ["付款", "支付", "payment", "payment_record", "payment record"],
    EvidenceKind.MALICIOUS_BRUSHING: ["恶意刷单", "malicious", "malicious_brushing"],
    EvidenceKind.OTHER: [],
}
MANIFEST_NAMES = ("manifest.csv", "manifest.xlsx")
MANIFEST_MAX_BYTES = 5 * 1024 * 1024
# Manifest column headers, compared in lower case with spaces and underscores removed.
MANIFEST_COLUMNS: dict[str, tuple[str, ...]] = {
    "file": ("file", "filename", "path", "文件", "文件名", "文件路径"),
    "order": ("order", "orderid", "tracking", "trackingnumber", "订单", "订单号", "运单号", "快递单号", "物流单号"),
    "kind": ("kind", "type", "evidencekind", "类型", "证据类型", "种类"),
}


class MatchedBy:
    MAPPING = "mapping"
    MANIFEST = "manifest"
    FOLDER = "folder"
    FILE_NAME = "file_name"


class MatchProblem:
    UNMATCHED = "unmatched"
    AMBIGUOUS = "ambiguous"
    KIND_UNKNOWN = "kind_unknown"
    ORDER_EXCLUDED = "order_excluded"
    SKIPPED = "skipped"


def _normalised(identifier: str) -> str:
    return "".join(identifier.split()).upper()


def _header_key(value: Any) -> str:
    return re.sub(r"[\s_\-]+", "", str(value or "")).lower()


# --- Orders ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRef:
    id: int
    platform_order_id: str
    tracking_number: str
    goods_type: str
    excluded: bool


class OrderIndex:
    """The case's orders by platform order id and tracking number, found as whole words in names."""

    def __init__(self, orders: Iterable[FlaggedOrder]) -> None:
        self.orders: dict[int, OrderRef] = {}
        self._by_identifier: dict[str, set[int]] = {}
        for order in orders:
            ref = OrderRef(
                id=order.pk,
                platform_order_id=order.platform_order_id,
                tracking_number=order.tracking_number,
                goods_type=order.goods_type,
                excluded=order.excluded_at is not None,
            )
            self.orders[order.pk] = ref
            for identifier in (order.platform_order_id, order.tracking_number):
                key = _normalised(identifier)
                if key:
                    self._by_identifier.setdefault(key, set()).add(order.pk)
        alternatives = "|".join(re.escape(key) for key in sorted(self._by_identifier, key=len, reverse=True))
        self._pattern = (
            re.compile(rf"(?<![0-9A-Z])(?:{alternatives})(?![0-9A-Z])", re.IGNORECASE) if alternatives else None
        )

    @classmethod
    def for_case(cls, case_id: int) -> OrderIndex:
        return cls(
            FlaggedOrder.objects.filter(case_id=case_id).only(
                "pk", "platform_order_id", "tracking_number", "goods_type", "excluded_at"
            )
        )

    def lookup(self, identifier: str) -> set[int]:
        """The orders an identifier names exactly (a tracking number may be shared by two)."""
        return set(self._by_identifier.get(_normalised(identifier), set()))

    def found_in(self, text: str) -> set[int]:
        """The orders whose id or tracking number appears in ``text`` as a whole word."""
        if self._pattern is None:
            return set()
        found: set[int] = set()
        for match in self._pattern.finditer(text):
            found |= self._by_identifier.get(match.group(0).upper(), set())
        return found


# --- Kinds ----------------------------------------------------------------------------------------


class KindVocabulary:
    """The keywords of each kind; finds the kinds a name speaks of (longest keyword wins an overlap)."""

    def __init__(self, keywords: Mapping[str, Sequence[str]]) -> None:
        self.keywords = {kind: [word for word in words if word.strip()] for kind, words in keywords.items()}
        pairs = sorted(
            ((word.lower(), kind) for kind, words in self.keywords.items() for word in words),
            key=lambda pair: len(pair[0]),
            reverse=True,
        )
        self._kind_of = dict(reversed(pairs))  # a word given to two kinds keeps the first (validated elsewhere)
        # A Latin keyword counts at the start of a word only: "signed" is not in "designed",
        # while "tracking" is in "tracking2" and "SF123_chat". Chinese has no spaces to go by.
        alternatives = "|".join(
            (r"(?<![a-z])" if word[:1].isascii() and word[:1].isalpha() else "") + re.escape(word)
            for word, _kind in pairs
        )
        self._pattern = re.compile(alternatives, re.IGNORECASE) if alternatives else None

    @classmethod
    def current(cls) -> KindVocabulary:
        stored = {row.kind: list(row.keywords) for row in KindKeywords.objects.all()}
        return cls({kind: stored.get(kind, DEFAULT_KIND_KEYWORDS.get(kind, [])) for kind in EvidenceKind.values})

    def kinds_in(self, text: str) -> set[str]:
        """The kinds whose keywords occur in ``text``; a keyword inside a longer match does not count."""
        if self._pattern is None:
            return set()
        # The alternation tries longer words first and matches do not overlap, so a
        # keyword inside a longer one that matched there is never reported on its own.
        return {self._kind_of[match.group(0).lower()] for match in self._pattern.finditer(text)}

    def kind_named(self, value: str) -> str | None:
        """A kind from a manifest cell or a mapping: its code, its label, or one kind's keywords."""
        text = str(value or "").strip()
        if not text:
            return None
        if text in EvidenceKind.values:
            return text
        for kind in EvidenceKind:
            if text.lower() == str(kind.label).lower():
                return kind.value
        kinds = self.kinds_in(text)
        return kinds.pop() if len(kinds) == 1 else None


# --- The manifest ---------------------------------------------------------------------------------


@dataclass
class ManifestRow:
    row: int
    file: str
    order: str
    kind: str


@dataclass
class Manifest:
    """The manifest's rows by the path of the file they describe (relative to the archive)."""

    path: str
    rows: dict[str, ManifestRow] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)


def manifest_entry(entries: Sequence[ArchiveEntry]) -> ArchiveEntry | None:
    """The manifest: at the archive's root, or in its single top folder."""
    candidates = [
        entry
        for entry in entries
        if entry.problem is None and entry.nested_in is None and entry.name.lower() in MANIFEST_NAMES
    ]
    tops = {entry.path.split("/", 1)[0] for entry in entries if "/" in entry.path}
    for entry in sorted(candidates, key=lambda entry: entry.path.count("/")):
        depth = entry.path.count("/")
        if depth == 0 or (depth == 1 and len(tops) == 1):
            return entry
    return None


def _cell(values: list[str], header: dict[str, int], column: str) -> str:
    position = header.get(column)
    return values[position] if position is not None and position < len(values) else ""


def manifest_read(entry: ArchiveEntry, data: bytes) -> Manifest:
    """Read the manifest's rows; InvalidInput on ``file`` when it cannot be read or lacks a column."""
    manifest = Manifest(path=entry.path)
    folder = str(PurePosixPath(entry.path).parent)
    prefix = "" if folder == "." else folder + "/"
    try:
        rows = spreadsheet_rows(data)
        header: dict[str, int] | None = None
        for number, cells in rows:
            values = ["" if cell is None else str(cell).strip() for cell in cells]
            if header is None:
                if not any(values):
                    continue
                header = {}
                for position, value in enumerate(values):
                    for column, aliases in MANIFEST_COLUMNS.items():
                        if _header_key(value) in aliases and column not in header:
                            header[column] = position
                missing = [column for column in ("file", "order") if column not in header]
                if missing:
                    message = _(
                        "The manifest %(path)s needs the columns file, order and kind (missing: %(missing)s)."
                    ) % {
                        "path": entry.path,
                        "missing": ", ".join(missing),
                    }
                    raise InvalidInput(message, details={"fields": {"file": [message]}})
                continue
            if not any(values):
                continue
            file_path = _cell(values, header, "file").replace("\\", "/").strip("/")
            if not file_path:
                manifest.problems.append({"row": number, "reason": _("The row names no file.")})
                continue
            # The same cleaning as the entries' own paths: "/" separators, NFC, no "./".
            key, _problem = clean_path(prefix + file_path)
            if key in manifest.rows:
                manifest.problems.append(
                    {"row": number, "file": file_path, "reason": _("The file is listed twice; the first row counts.")}
                )
                continue
            manifest.rows[key] = ManifestRow(
                row=number, file=file_path, order=_cell(values, header, "order"), kind=_cell(values, header, "kind")
            )
    except InvalidInput as exc:
        fields = exc.details.get("fields", {}) if isinstance(exc.details, dict) else {}
        reasons = [str(reason) for reason in fields.get("file", [exc.message])]
        message = _("The manifest %(path)s cannot be read: %(reason)s") % {
            "path": entry.path,
            "reason": " ".join(reasons),
        }
        if reasons and reasons[0].startswith(_("The manifest")):
            message = reasons[0]
        raise InvalidInput(message, details={"fields": {"file": [message]}}) from None
    return manifest


# --- One file -------------------------------------------------------------------------------------


@dataclass
class Match:
    """Where one file goes (order and kind, and by what rule), or the problem in the way."""

    order_id: int | None = None
    kind: str | None = None
    matched_by: str | None = None
    kind_by: str | None = None
    problem: str | None = None
    reason: str = ""
    candidates: list[int] = field(default_factory=list)


def _order_named(index: OrderIndex, value: str, *, source: str) -> tuple[int | None, Match | None]:
    found = index.lookup(value)
    if len(found) == 1:
        return found.pop(), None
    if not found:
        reason = _("The %(source)s names order “%(value)s”, which is not on this case.") % {
            "source": source,
            "value": value,
        }
        return None, Match(problem=MatchProblem.UNMATCHED, reason=reason)
    reason = _("The %(source)s names “%(value)s”, the tracking number of several orders.") % {
        "source": source,
        "value": value,
    }
    return None, Match(problem=MatchProblem.AMBIGUOUS, reason=reason, candidates=sorted(found))


def _order_from_names(entry: ArchiveEntry, index: OrderIndex) -> Match:
    folder_orders: set[int] = set()
    for folder in entry.folders:
        folder_orders |= index.found_in(folder)
    stem = PurePosixPath(entry.name).stem
    name_orders = index.found_in(stem)
    if len(folder_orders) > 1:
        return Match(
            problem=MatchProblem.AMBIGUOUS,
            reason=_("The folders name more than one order of the case."),
            candidates=sorted(folder_orders),
        )
    if folder_orders:
        if name_orders - folder_orders:
            return Match(
                problem=MatchProblem.AMBIGUOUS,
                reason=_("The folder names one order and the file name another."),
                candidates=sorted(folder_orders | name_orders),
            )
        return Match(order_id=next(iter(folder_orders)), matched_by=MatchedBy.FOLDER)
    if len(name_orders) > 1:
        return Match(
            problem=MatchProblem.AMBIGUOUS,
            reason=_("The file name holds more than one order id or tracking number of the case."),
            candidates=sorted(name_orders),
        )
    if name_orders:
        return Match(order_id=next(iter(name_orders)), matched_by=MatchedBy.FILE_NAME)
    return Match(
        problem=MatchProblem.UNMATCHED,
        reason=_("Neither its folders nor its name hold an order id or tracking number of this case."),
    )


def _kind_label(kinds: Iterable[str]) -> str:
    return ", ".join(str(EvidenceKind(kind).label) for kind in sorted(kinds))


def _kind_from_names(entry: ArchiveEntry, vocabulary: KindVocabulary) -> tuple[str | None, str | None, str]:
    """(kind, where it came from, problem reason)."""
    folder_kind: str | None = None
    for folder in reversed(entry.folders):
        kinds = vocabulary.kinds_in(folder)
        if len(kinds) > 1:
            return (
                None,
                None,
                _("The folder “%(folder)s” names several kinds: %(kinds)s.")
                % {
                    "folder": folder,
                    "kinds": _kind_label(kinds),
                },
            )
        if kinds:
            folder_kind = kinds.pop()
            break
    name_kinds = vocabulary.kinds_in(PurePosixPath(entry.name).stem)
    if folder_kind is not None:
        if name_kinds and name_kinds != {folder_kind}:
            return (
                None,
                None,
                _("The folder says %(folder)s but the file name says %(name)s.")
                % {
                    "folder": _kind_label([folder_kind]),
                    "name": _kind_label(name_kinds),
                },
            )
        return folder_kind, MatchedBy.FOLDER, ""
    if len(name_kinds) > 1:
        return None, None, _("The file name names several kinds: %(kinds)s.") % {"kinds": _kind_label(name_kinds)}
    if name_kinds:
        return name_kinds.pop(), MatchedBy.FILE_NAME, ""
    return None, None, _("No folder or file name says which kind of evidence this is.")


@dataclass(frozen=True)
class MappingRule:
    """One person's decision about one file: skip it, or send it to this order and/or kind."""

    skip: bool = False
    order_id: int | None = None
    kind: str | None = None


def entry_match(
    entry: ArchiveEntry,
    index: OrderIndex,
    vocabulary: KindVocabulary,
    manifest: Manifest | None,
    rule: MappingRule | None = None,
) -> Match:
    """Where one file goes, by the mapping, the manifest, its folders and its name, in that order."""
    if rule is not None and rule.skip:
        return Match(problem=MatchProblem.SKIPPED, reason=_("Skipped by the mapping."), matched_by=MatchedBy.MAPPING)
    row = manifest.rows.get(entry.path) if manifest is not None else None
    # The order.
    if rule is not None and rule.order_id is not None:
        match = Match(order_id=rule.order_id, matched_by=MatchedBy.MAPPING)
    elif row is not None and row.order:
        order_id, problem = _order_named(index, row.order, source=_("manifest"))
        match = problem if problem is not None else Match(order_id=order_id, matched_by=MatchedBy.MANIFEST)
    else:
        match = _order_from_names(entry, index)
    # The kind, even when the order is not known, so the preview says all that is wrong.
    if rule is not None and rule.kind is not None:
        match.kind, match.kind_by = rule.kind, MatchedBy.MAPPING
    elif row is not None and row.kind:
        match.kind = vocabulary.kind_named(row.kind)
        match.kind_by = MatchedBy.MANIFEST if match.kind else None
        if match.kind is None and match.problem is None:
            match.problem = MatchProblem.KIND_UNKNOWN
            match.reason = _("The manifest's kind “%(kind)s” is not a kind of evidence.") % {"kind": row.kind}
    else:
        kind, kind_by, reason = _kind_from_names(entry, vocabulary)
        match.kind, match.kind_by = kind, kind_by
        if kind is None and match.problem is None:
            match.problem, match.reason = MatchProblem.KIND_UNKNOWN, reason
    if match.problem is None and match.order_id is not None:
        order = index.orders[match.order_id]
        if order.excluded and match.matched_by != MatchedBy.MAPPING:
            match.problem = MatchProblem.ORDER_EXCLUDED
            match.reason = _("Order %(order)s is left out of the appeal; it needs no evidence.") % {
                "order": order.platform_order_id
            }
    return match


def mapping_rules(raw: Any, index: OrderIndex, vocabulary: KindVocabulary) -> dict[str, MappingRule]:
    """Check a mapping {path: {"order": id or tracking number, "kind": kind} or "skip"}; InvalidInput on ``mapping``."""
    if raw in (None, "", {}):
        return {}
    if not isinstance(raw, dict):
        raise _mapping_error(_("Send an object: the file's path in the archive -> its order and kind, or “skip”."))
    rules: dict[str, MappingRule] = {}
    problems: list[str] = []
    for path, value in raw.items():
        if value == "skip" or (isinstance(value, dict) and value.get("skip") is True):
            rules[str(path)] = MappingRule(skip=True)
            continue
        if not isinstance(value, dict) or not ({"order", "kind"} & set(value)):
            problems.append(_("“%(path)s”: give an order, a kind, or “skip”.") % {"path": path})
            continue
        unknown = set(value) - {"order", "kind", "skip"}
        if unknown:
            problems.append(
                _("“%(path)s”: unknown keys %(keys)s.") % {"path": path, "keys": ", ".join(sorted(map(str, unknown)))}
            )
            continue
        order_id = None
        if value.get("order") not in (None, ""):
            found = index.lookup(str(value["order"]))
            if len(found) != 1:
                problems.append(
                    _("“%(path)s”: “%(order)s” is not the order id or tracking number of one order of this case.")
                    % {"path": path, "order": value["order"]}
                )
                continue
            order_id = found.pop()
        kind = None
        if value.get("kind") not in (None, ""):
            if value["kind"] not in EvidenceKind.values:
                problems.append(
                    _("“%(path)s”: “%(kind)s” is not a kind of evidence (one of %(kinds)s).")
                    % {"path": path, "kind": value["kind"], "kinds": ", ".join(EvidenceKind.values)}
                )
                continue
            kind = str(value["kind"])
        rules[str(path)] = MappingRule(order_id=order_id, kind=kind)
    if problems:
        raise _mapping_error(*problems)
    return rules


def _mapping_error(*reasons: str) -> InvalidInput:
    return InvalidInput(details={"fields": {"mapping": list(reasons)}})
