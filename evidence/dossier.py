"""The appeal dossier: a case's accepted evidence as one streamed ZIP, laid out order by order for a platform reviewer.

Layout of the archive (every path is built here, never taken from a user's file name):

    index.html                    the case at a glance, with links to every file, each marked
                                  when checking it against its order found they agree
    index.csv                     one row per flagged order, with the paths of its files by kind
    manifest.csv                  path, evidence item id, order id, kind, size, SHA-256 and
                                  "checked" (the same mark) of every other file in the archive

The dossier goes to the platform's reviewer, so it says of the checks (evidence.checks) only
what supports the appeal: a file whose every check matched its order is marked checked.
Other outcomes (a mismatch, a file not read) are the agency's business, in the staff API.
    case/<kind>[-n].<ext>         case-level evidence (for example a competitor's brushing)
    orders/<order>/<kind>[-n].<ext>
                                  the evidence of one order in the appeal

``dossier_contents`` is the selector: it reads everything the archive describes in a fixed
number of queries, whatever the number of orders. ``dossier_stream`` turns that into a
sized ``ZipStream``: the three index files are small and built up front, the evidence
files are read from storage in chunks only while the archive is being sent, so the
memory a download takes does not grow with the size of the dossier.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import mimetypes
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.utils import timezone, translation
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from zipstream import ZipStream  # type: ignore[import-untyped]

from agency.errors import InvalidState, NotFound
from cases.kinds import EvidenceKind
from cases.models import AppealAttempt, Case, FlaggedOrder, GoodsType
from evidence.models import CheckOutcome, CheckState, EvidenceItem, ReviewState

logger = logging.getLogger(__name__)

# Platform reviewers read times in Beijing time, whatever the server's own time zone.
PLATFORM_TIME_ZONE = ZoneInfo("Asia/Shanghai")
# Big enough that streaming 800 MB is not dominated by Python overhead, small enough
# that a download holds only one chunk per file in memory at a time.
CHUNK_SIZE = 256 * 1024

INDEX_HTML = "index.html"
INDEX_CSV = "index.csv"
MANIFEST_CSV = "manifest.csv"
INCLUDED = "included"
EXCLUDED = "excluded"

# The extension a reviewer's computer needs to open the file, from the type detected
# from its bytes; the original name is only a fallback for types not listed here.
EXTENSIONS = {
    "application/pdf": "pdf",
    "image/bmp": "bmp",
    "image/gif": "gif",
    "image/heic": "heic",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/tiff": "tif",
    "image/webp": "webp",
    "text/csv": "csv",
    "text/html": "html",
    "text/plain": "txt",
}
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSION = re.compile(r"^[A-Za-z0-9]{1,8}$")
# Text a spreadsheet would run as a formula (CSV injection); such cells get a leading quote.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class DossierIntegrityError(Exception):
    """A stored file no longer matches the SHA-256 recorded when it was uploaded.

    Raised while the archive streams, so the download breaks off instead of handing the
    platform a file the manifest misdescribes.
    """


@dataclass(frozen=True)
class DossierFile:
    """One evidence file and the path it takes inside the archive."""

    path: str
    item: EvidenceItem


@dataclass
class DossierOrder:
    """A flagged order as the dossier shows it: in the appeal with its files, or excluded."""

    order: FlaggedOrder
    included: bool
    folder: str | None = None
    files: list[DossierFile] = field(default_factory=list)


@dataclass
class DossierContents:
    """Everything the archive holds, read from the database before a byte is sent."""

    case: Case
    orders: list[DossierOrder]
    case_files: list[DossierFile]
    attempt: AppealAttempt | None = None

    @property
    def files(self) -> Iterator[DossierFile]:
        """Every evidence file in archive order: the case folder first, then order by order."""
        yield from self.case_files
        for entry in self.orders:
            yield from entry.files

    @property
    def filename(self) -> str:
        return f"{self.case.reference}-dossier.zip"


# --- Selecting ----------------------------------------------------------------------------


def dossier_contents(*, case: Case, attempt_number: int | None = None) -> DossierContents:
    """What the dossier of ``case`` holds now, or what appeal attempt ``attempt_number`` carried.

    The caller has already checked that the user may see ``case`` (``cases.selectors.case_get``).
    Two queries (three with an attempt), whatever the number of orders or items:

    1. the appeal attempt, when one is asked for (unknown number: ``NotFound``);
    2. the case's flagged orders;
    3. the evidence items: now, the accepted items that count (not removed, not
       superseded) of the case and of its orders in the appeal; for an attempt, exactly
       the items its manifest lists, whatever has happened to them since.

    For an attempt, an order is in the appeal when the attempt carried evidence for it.
    Items are placed by their own order and kind, and each must still have the SHA-256
    the manifest recorded; if any is missing or changed the dossier cannot be rebuilt
    faithfully, and ``InvalidState`` names them.
    """
    attempt = None
    if attempt_number is not None:
        attempt = AppealAttempt.objects.filter(case_id=case.pk, number=attempt_number).first()
        if attempt is None:
            raise NotFound(_("This case has no appeal attempt with that number."))

    orders = list(FlaggedOrder.objects.filter(case_id=case.pk).order_by("order_time", "id"))
    orders_by_id = {order.pk: order for order in orders}
    # Fetched for the whole case and picked in Python: an IN list of tens of thousands of
    # ids would exceed SQLite's limit on query parameters. Each item's check comes along
    # (for the index), without the text read from the file.
    items_of_case = (
        EvidenceItem.objects.filter(case_id=case.pk)
        .select_related("evidence_check")
        .defer("evidence_check__text")
        .order_by("uploaded_at", "id")
    )

    if attempt is None:
        candidates = items_of_case.active().filter(review_state=ReviewState.ACCEPTED)
        items = [
            item
            for item in candidates
            if item.order_id is None
            or (item.order_id in orders_by_id and orders_by_id[item.order_id].excluded_at is None)
        ]
        included = {order.pk for order in orders if order.excluded_at is None}
    else:
        items = _attempt_items(attempt, items_of_case)
        included = {item.order_id for item in items if item.order_id is not None}

    by_order: dict[int | None, list[EvidenceItem]] = {}
    for item in items:
        by_order.setdefault(item.order_id, []).append(item)

    entries = []
    folders = _FolderNames()
    for order in orders:
        if order.pk not in included:
            entries.append(DossierOrder(order=order, included=False))
            continue
        folder = f"orders/{folders.claim(order.platform_order_id)}"
        entries.append(
            DossierOrder(
                order=order, included=True, folder=folder, files=_name_files(folder, by_order.get(order.pk, []))
            )
        )
    return DossierContents(
        case=case, orders=entries, case_files=_name_files("case", by_order.get(None, [])), attempt=attempt
    )


def _attempt_items(attempt: AppealAttempt, items_of_case: Iterable[EvidenceItem]) -> list[EvidenceItem]:
    """The items ``attempt.manifest`` lists, in upload order, each checked against its recorded hash."""
    recorded: dict[int, str] = {}
    for entry in attempt.manifest:
        recorded[int(entry["item"])] = str(entry.get("sha256", ""))
    items = [item for item in items_of_case if item.pk in recorded]
    found = {item.pk for item in items}
    missing = sorted(set(recorded) - found)
    changed = sorted(item.pk for item in items if item.sha256 != recorded[item.pk])
    if missing or changed:
        raise InvalidState(
            _("The evidence recorded for this appeal attempt no longer matches the stored evidence."),
            details={"missing_items": missing, "changed_items": changed},
        )
    return items


class _FolderNames:
    """Folder names for orders: safe in any file system, and unique even ignoring case.

    Platform order ids are usually digits, but an import can carry anything: separators,
    ``..``, spaces, markup. Everything outside ``A-Z a-z 0-9 . _ -`` becomes ``_``, leading
    dots go (no ``..``, no hidden folders), and a name already taken gets ``-2``, ``-3``...
    """

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, order_id: str) -> str:
        base = safe_name(order_id, fallback="order")
        name, number = base, 1
        while name.lower() in self._taken:
            number += 1
            name = f"{base}-{number}"
        self._taken.add(name.lower())
        return name


def safe_name(value: str, *, fallback: str) -> str:
    """``value`` reduced to characters that are safe as one path segment on any system."""
    name = _UNSAFE_NAME_CHARACTERS.sub("_", value).lstrip(".")[:80]
    return name or fallback


def file_extension(item: EvidenceItem) -> str:
    """The extension for the stored bytes: from their detected type, else the original name."""
    content_type = item.content_type.split(";", 1)[0].strip().lower()
    if content_type in EXTENSIONS:
        return EXTENSIONS[content_type]
    guessed = mimetypes.guess_extension(content_type) if content_type else None
    if guessed:
        return guessed.lstrip(".")
    _stem, dot, suffix = item.original_name.rpartition(".")
    if dot and _EXTENSION.match(suffix):
        return suffix.lower()
    return "bin"


def _name_files(folder: str, items: list[EvidenceItem]) -> list[DossierFile]:
    """``<folder>/<kind>.<ext>`` for a kind's only file, ``<kind>-1``, ``<kind>-2``... for several."""
    by_kind: dict[str, list[EvidenceItem]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    files = []
    for kind, kind_items in by_kind.items():
        stem = safe_name(kind, fallback="evidence")
        for number, item in enumerate(kind_items, start=1):
            suffix = f"-{number}" if len(kind_items) > 1 else ""
            files.append(DossierFile(path=f"{folder}/{stem}{suffix}.{file_extension(item)}", item=item))
    return files


# --- The archive --------------------------------------------------------------------------


def dossier_stream(contents: DossierContents) -> ZipStream:
    """A sized ZipStream of the dossier: ``len()`` is the archive's size before it is sent.

    Files are stored, not compressed: evidence is mostly images and PDFs, which do not
    shrink, and a stored archive's size is known in advance (so the response can carry a
    Content-Length). The index files are built here, once, in the active language.
    """
    index_html = render_index_html(contents).encode("utf-8")
    index_csv = render_index_csv(contents)
    manifest = render_manifest_csv(contents, {INDEX_HTML: index_html, INDEX_CSV: index_csv})

    archive = ZipStream(sized=True)
    archive.add(index_html, INDEX_HTML)
    archive.add(index_csv, INDEX_CSV)
    archive.add(manifest, MANIFEST_CSV)
    for dossier_file in contents.files:
        archive.add(stored_file_chunks(dossier_file.item), dossier_file.path, size=dossier_file.item.size)
    return archive


def stored_file_chunks(item: EvidenceItem) -> Iterator[bytes]:
    """The stored bytes of ``item`` in chunks, hashed on the way; a mismatch breaks off the stream.

    The file is opened only when the archive reaches it and closed as soon as it is done,
    also when the download is abandoned (closing the generator closes the file).
    """
    digest = hashlib.sha256()
    with item.file.storage.open(item.file.name, "rb") as stored:
        while chunk := stored.read(CHUNK_SIZE):
            digest.update(chunk)
            yield chunk
    if digest.hexdigest() != item.sha256:
        logger.error("evidence item %s no longer matches its recorded SHA-256; dossier aborted", item.pk)
        raise DossierIntegrityError(f"evidence item {item.pk} no longer matches its recorded SHA-256")


def checked_and_matching(item: EvidenceItem) -> bool:
    """Whether the item's check is done and every check matched its order (the dossier's mark)."""
    check = getattr(item, "evidence_check", None)
    return check is not None and check.state == CheckState.DONE and check.outcome == CheckOutcome.MATCH


def platform_time(value: datetime | None) -> str:
    return timezone.localtime(value, PLATFORM_TIME_ZONE).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _csv_bytes(rows: Iterable[Iterable[object]]) -> bytes:
    """UTF-8 with a byte-order mark, so that spreadsheet programs read Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def _paths_by_kind(files: list[DossierFile]) -> dict[str, list[str]]:
    paths: dict[str, list[str]] = {}
    for dossier_file in files:
        paths.setdefault(dossier_file.item.kind, []).append(dossier_file.path)
    return paths


def render_index_csv(contents: DossierContents) -> bytes:
    """One row per flagged order; the column names are stable identifiers, not translated."""
    kinds = list(EvidenceKind.values)
    header: list[object] = [
        "order_id",
        "folder",
        "order_time_asia_shanghai",
        "amount",
        "currency",
        "goods_type",
        "courier",
        "tracking_number",
        "status",
        "exclusion_reason",
        *kinds,
    ]
    rows: list[list[object]] = [header]
    for entry in contents.orders:
        order = entry.order
        paths = _paths_by_kind(entry.files)
        rows.append(
            [
                order.platform_order_id,
                entry.folder or "",
                platform_time(order.order_time),
                f"{order.amount}",
                order.currency,
                order.goods_type,
                order.courier,
                order.tracking_number,
                INCLUDED if entry.included else EXCLUDED,
                "" if entry.included else order.exclusion_reason,
                *("; ".join(paths.get(kind, [])) for kind in kinds),
            ]
        )
    return _csv_bytes(rows)


def render_manifest_csv(contents: DossierContents, index_files: dict[str, bytes]) -> bytes:
    """Every file in the archive but the manifest itself, with its size and SHA-256.

    Evidence files carry the hash recorded at upload; ``stored_file_chunks`` checks the
    bytes against it while they stream, so the manifest cannot describe other bytes.
    ``checked`` is "match" when every check of the file matched its order, else blank.
    """
    rows: list[list[object]] = [
        ["path", "evidence_item_id", "order_id", "kind", "size", "sha256", "original_name", "uploaded_at", "checked"]
    ]
    for path, data in index_files.items():
        rows.append([path, "", "", "", len(data), hashlib.sha256(data).hexdigest(), "", "", ""])
    order_ids = {entry.order.pk: entry.order.platform_order_id for entry in contents.orders}
    for dossier_file in contents.files:
        item = dossier_file.item
        rows.append(
            [
                dossier_file.path,
                item.pk,
                order_ids.get(item.order_id, "") if item.order_id else "",
                item.kind,
                item.size,
                item.sha256,
                item.original_name,
                platform_time(item.uploaded_at),
                CheckOutcome.MATCH if checked_and_matching(item) else "",
            ]
        )
    return _csv_bytes(rows)


_STYLE = (
    "body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}tr.excluded{color:#888}"
    "ul.files{margin:0;padding-left:1.2em}.muted{color:#888}.checked{color:#17692f}"
)


def _kind_label(kind: str) -> str:
    return str(EvidenceKind(kind).label) if kind in EvidenceKind.values else kind


def _file_links(files: list[DossierFile]) -> SafeString:
    if not files:
        return format_html('<span class="muted">{}</span>', _("No accepted evidence"))
    return format_html(
        '<ul class="files">{}</ul>',
        format_html_join(
            "",
            '<li>{}: <a href="{}" title="{}">{}</a>{}</li>',
            (
                (
                    _kind_label(f.item.kind),
                    quote(f.path),
                    f.item.original_name,
                    f.path.rsplit("/", 1)[-1],
                    format_html(' <span class="checked">{}</span>', _("✓ checked: agrees with the order"))
                    if checked_and_matching(f.item)
                    else "",
                )
                for f in files
            ),
        ),
    )


def _order_row(entry: DossierOrder) -> SafeString:
    order = entry.order
    if entry.included:
        status = _("In the appeal")
    elif order.exclusion_reason:
        status = _("Excluded: %(reason)s") % {"reason": order.exclusion_reason}
    else:
        status = _("Excluded")
    goods = str(GoodsType(order.goods_type).label) if order.goods_type in GoodsType.values else order.goods_type
    return format_html(
        '<tr class="{}"><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
        "<td>{}</td></tr>",
        INCLUDED if entry.included else EXCLUDED,
        order.platform_order_id,
        platform_time(order.order_time),
        order.amount,
        order.currency,
        goods,
        order.courier,
        order.tracking_number,
        status,
        _file_links(entry.files) if entry.included else "",
    )


def render_index_html(contents: DossierContents) -> str:
    """A self-contained page (no scripts, no outside resources) and every value escaped."""
    case = contents.case
    shop = case.shop
    in_appeal = sum(1 for entry in contents.orders if entry.included)
    facts: list[tuple[str, str]] = [
        (_("Case reference"), case.reference),
        (_("Shop"), f"{shop.name} ({shop.platform_shop_id})"),
        (_("Platform"), shop.get_platform_display()),
        (_("Violation"), case.get_violation_type_display()),
        (_("Severity"), case.get_severity_display()),
        (_("Penalty points"), str(case.penalty_points)),
        (_("Notice received (Beijing time)"), platform_time(case.notice_received_at)),
        (_("Orders in the appeal"), str(in_appeal)),
        (_("Orders excluded"), str(len(contents.orders) - in_appeal)),
    ]
    if contents.attempt is not None:
        facts.append((_("Appeal attempt"), str(contents.attempt.number)))
        facts.append((_("Submitted (Beijing time)"), platform_time(contents.attempt.submitted_at)))
    facts.append((_("Generated (Beijing time)"), platform_time(timezone.now())))

    headings = [
        _("Order"),
        _("Order time (Beijing time)"),
        _("Amount"),
        _("Goods"),
        _("Courier"),
        _("Tracking number"),
        _("Status"),
        _("Evidence"),
    ]
    parts = [
        mark_safe("<!DOCTYPE html>\n"),
        format_html('<html lang="{}"><head><meta charset="utf-8">', translation.get_language() or "en"),
        # Nothing in the page may load or run anything, whatever the data holds.
        mark_safe(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        ),
        format_html("<title>{}</title>", _("Appeal dossier %(reference)s") % {"reference": case.reference}),
        # A constant: <style> is raw text, where escaped quotes would not be read back.
        mark_safe(f"<style>{_STYLE}</style></head><body>"),  # noqa: S308
        format_html("<h1>{}</h1>", _("Appeal dossier %(reference)s") % {"reference": case.reference}),
        format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", facts),
        ),
        format_html("<h2>{}</h2>", _("Flagged orders")),
        format_html(
            "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>",
            format_html_join("", "<th>{}</th>", ((heading,) for heading in headings)),
            format_html_join("", "{}", ((_order_row(entry),) for entry in contents.orders)),
        ),
        format_html("<h2>{}</h2>", _("Case-level evidence")),
        _file_links(contents.case_files),
        format_html(
            "<p>{}</p>",
            _("manifest.csv lists the size and SHA-256 of every file; index.csv lists the orders."),
        ),
        mark_safe("</body></html>\n"),
    ]
    return "".join(parts)
