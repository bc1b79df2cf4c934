"""Bulk evidence: an archive (or several files) for many orders, previewed, then stored in one commit.

The life of a batch (``EvidenceBatch.status``)::

    received -> previewing -> previewed -> committing -> committed
         \\____________\\____________\\__ cancelled, failed, expired

1. ``batch_create`` checks the request, refuses an archive that is not a ZIP or breaks a
   limit in its directory (400, nothing kept), stores the archive and the batch row.
   Up to ``EVIDENCE_BULK_INLINE_MAX_BYTES`` the archive is then read (and committed,
   unless it is a dry run) within the request; larger ones are left to the Celery task
   ``evidence.batch_work`` and the answer is 202.
2. Reading (``_preview``) unpacks each file once into a temporary file, checks it as a
   single upload is checked (type by its bytes, allow-list, extension, size), hashes it,
   and matches it to an order and a kind (``evidence.matching``). The preview lists every
   file with its destination or its problem, the totals, and per order the required kinds
   the batch would complete.
3. Committing (``_commit``) first writes each matched file to storage under the batch's
   own folder, then, in one transaction holding the case's row: re-checks duplicates,
   inserts every item (pending review), writes one history row (and with it one webhook
   event), and fulfils open evidence requests. Either every matched file becomes an
   item or none does; files written for a commit that failed are deleted again.

A worker (or a request doing the work itself) holds a batch by a lease (``lease_until``)
under its own token (``lease_token``), renewed as it goes; every write it makes is guarded
by the token and the state it expects, so it cannot undo a cancellation or overwrite the
worker that took over from it. A worker that dies leaves the lease to run out;
``batches_resume`` (every minute, from beat) hands the batch to the next worker, which
starts the preview over or continues the commit, skipping the files already written.
The same archive committed twice on a case, even concurrently, is stored once: the
second commit waits for the case's row and is refused (409) by name, and the database
keeps one committed batch per archive and case.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agency.accounts.models import Role, User
from agency.errors import Conflict, DomainError, InvalidInput, InvalidState, NotFound
from cases.history import record_case_event
from cases.models import EventKind
from cases.selectors import case_for_actor, case_visible_to
from evidence import archives, matching
from evidence.checks import checks_queue
from evidence.models import (
    BATCH_WORKING_STATES,
    BatchStatus,
    EvidenceBatch,
    EvidenceItem,
    ReviewState,
    UploadSource,
)
from evidence.requests import request_items_fulfil_many
from evidence.rules import required_evidence
from evidence.services import require_case_open
from evidence.storage import evidence_storage
from evidence.uploads import CHUNK_BYTES, detect_file_type, file_digest, file_extension_problem, file_name_problem
from workflows.deadlines import lock_cases

# Write progress (and renew the lease) after this many files, and at least this often.
PROGRESS_EVERY = 20
RENEW_SECONDS = 10
# A batch whose worker failed (died, or met an error it did not expect) this many times is given up.
MAX_ATTEMPTS = 5


class FileStatus:
    """A file's status in the preview: ``ready`` (and after the commit ``stored``) or why not."""

    READY = "ready"
    STORED = "stored"
    MANIFEST = "manifest"
    REFUSED = "refused"
    DUPLICATE_STORED = "duplicate_stored"
    DUPLICATE_IN_ARCHIVE = "duplicate_in_archive"


class ArchiveAlreadyCommitted(Conflict):
    code = "archive_already_committed"
    default_message = gettext_lazy("This archive was already stored on this case.")


class BatchBusy(Conflict):
    code = "batch_busy"
    default_message = gettext_lazy("The batch is being worked on; wait until it is read or stored.")


# --- Who and what -----------------------------------------------------------------------------------


def _source_of(actor: User) -> str:
    return UploadSource.CLIENT if actor.role == Role.CLIENT else UploadSource.STAFF


def batches_visible_to(actor: User) -> Any:
    """Batches on cases the actor sees; a client sees only what the client side sent."""
    batches = EvidenceBatch.objects.filter(case__in=case_visible_to(actor))
    if actor.role == Role.CLIENT:
        batches = batches.filter(source=UploadSource.CLIENT)
    return batches


def batch_get(*, actor: User, batch_id: int) -> EvidenceBatch:
    batch = batches_visible_to(actor).select_related("case").filter(pk=batch_id).first()
    if batch is None:
        raise NotFound()
    return batch


def is_inline(size: int, unpacked: int) -> bool:
    """Whether an archive is read (and stored) within the request: small, and unpacking to little."""
    limit = settings.EVIDENCE_BULK_INLINE_MAX_BYTES
    return size <= limit and unpacked <= limit


# --- Receiving ----------------------------------------------------------------------------------------


@dataclass
class _Archive:
    """The archive as received, in a local temporary file, with its facts."""

    file: Any  # a seekable file of bytes
    name: str
    size: int
    sha256: str


@contextlib.contextmanager
def _received_archive(file: File[Any] | None, files: Sequence[File[Any]]) -> Iterator[_Archive]:
    if file is not None:
        name = file.name or "archive.zip"
        if not archives.is_zip(file):
            raise archives.archive_error(
                _("“%(name)s” is not a ZIP archive. Send a ZIP, or the files themselves in the field “files”.")
                % {"name": name}
            )
        size, sha256 = file_digest(file)  # hashed as it streamed in, when it did
        yield _Archive(file=file, name=name, size=size, sha256=sha256)
        return
    with tempfile.NamedTemporaryFile(prefix="evidence-batch-", dir=archives.temp_dir()) as packed:
        archives.pack_files([(upload.name or "file", upload) for upload in files], packed)
        size, sha256 = file_digest(packed)
        label = _("%(count)d files") % {"count": len(files)}
        yield _Archive(file=packed, name=label, size=size, sha256=sha256)


def _already_committed(case_id: int, sha256: str) -> EvidenceBatch | None:
    return (
        EvidenceBatch.objects.filter(case_id=case_id, archive_sha256=sha256, status=BatchStatus.COMMITTED)
        .only("pk", "committed_at")
        .first()
    )


def _already_committed_error(batch: EvidenceBatch) -> ArchiveAlreadyCommitted:
    return ArchiveAlreadyCommitted(
        _("This archive was already stored on this case, as batch %(batch)s; nothing was stored again.")
        % {"batch": batch.pk},
        details={"batch": batch.pk},
    )


def batch_create(
    *,
    case_id: int,
    actor: User,
    file: File[Any] | None = None,
    files: Sequence[File[Any]] | None = None,
    dry_run: bool = True,
    mapping: Any = None,
    note: str = "",
) -> EvidenceBatch:
    """Receive an archive (or several files) for the case's orders; read it now or queue the reading.

    400 when neither or both of ``file`` and ``files`` are sent, when ``file`` is not a
    ZIP archive or breaks a limit (entries, unpacked size, compression ratio), or when
    the mapping is malformed or names an order, kind or (for an archive read now) a file
    that does not exist; nothing is kept then. 409 when the case is closed, or (for a
    commit) when the same archive was already stored on this case.
    """
    case = case_for_actor(actor=actor, case_id=case_id)
    require_case_open(case)
    files = list(files or [])
    if (file is None) == (not files):
        raise InvalidInput(
            details={"fields": {"file": [_("Send one ZIP archive in “file”, or the evidence files in “files”.")]}}
        )
    index = matching.OrderIndex.for_case(case.pk)
    vocabulary = matching.KindVocabulary.current()
    rules = matching.mapping_rules(mapping, index, vocabulary)
    with _received_archive(file, files) as archive:
        unpacked = archives.archive_checked(archive.file, label=archive.name)
        inline = is_inline(archive.size, unpacked)
        listing = None
        if inline:
            listing = archives.archive_entries(archive.file, label=archive.name)
            _check_mapping_paths(rules, {entry.path for entry in listing.entries})
        if not dry_run:
            committed = _already_committed(case.pk, archive.sha256)
            if committed is not None:
                raise _already_committed_error(committed)
        now = timezone.now()
        hold = _Hold.new() if inline else None
        batch = EvidenceBatch(
            case=case,
            source=_source_of(actor),
            created_by=actor,
            created_at=now,
            updated_at=now,
            archive_name=archive.name[: archives.MAX_NAME_LENGTH],
            archive_size=archive.size,
            archive_sha256=archive.sha256,
            unpacked_size=unpacked,
            storage_token=uuid.uuid4().hex,
            commit_requested=not dry_run,
            committed_by=None if dry_run else actor,
            mapping=mapping or {},
            note=note,
            # Read within this request: the request holds the batch, as a worker would.
            lease_until=now + _lease() if hold else None,
            lease_token=hold.token if hold else "",
        )
        batch.archive.save("archive.zip", File(archive.file), save=False)
        try:
            batch.save()
        except BaseException:
            batch.archive.delete(save=False)
            raise
        if hold is None:
            transaction.on_commit(lambda: _queue(batch.pk))
            return batch
        assert listing is not None
        archive.file.seek(0)
        try:
            _work(batch, hold, archive.file, listing=listing, in_request=True)
        except InvalidInput:
            # Found unreadable while it was read (a damaged manifest, say): nothing is kept.
            EvidenceBatch.objects.filter(pk=batch.pk, status=BatchStatus.FAILED).delete()
            raise
        finally:
            _release(batch, hold)
    batch.refresh_from_db()
    return batch


def _check_mapping_paths(rules: dict[str, matching.MappingRule], paths: set[str]) -> None:
    """400 on ``mapping`` for a path that is not a file of the archive (a typo would silently do nothing)."""
    unknown = sorted(set(rules) - paths)
    if unknown:
        reasons = [_("“%(path)s” is not a file of this archive.") % {"path": path} for path in unknown]
        raise InvalidInput(details={"fields": {"mapping": reasons}})


def _queue(batch_id: int) -> None:
    from evidence.tasks import batch_work  # the task module imports this one

    batch_work.delay(batch_id)


# --- Commit and cancel on request -----------------------------------------------------------------------


def _may_act(actor: User, batch: EvidenceBatch) -> None:
    if actor.role == Role.CLIENT and batch.source != UploadSource.CLIENT:
        raise NotFound()


@transaction.atomic
def _locked_batch(actor: User, batch_id: int) -> EvidenceBatch:
    batch = batch_get(actor=actor, batch_id=batch_id)
    _may_act(actor, batch)
    lock_cases([batch.case_id])
    return EvidenceBatch.objects.select_for_update(of=("self",)).select_related("case").get(pk=batch.pk)


def batch_commit(*, actor: User, batch_id: int, mapping: Any = None) -> EvidenceBatch:
    """Store a previewed batch's matched files, with the mapping's corrections if one is sent.

    The batch turns ``committing`` under its row's lock, so a second commit (a double
    click, a retry) finds it being stored and answers with it, as it does once it is
    stored. 409 while it is being read or when it was cancelled, failed or expired; 400
    for a mapping that names a file not in the archive, or an order or kind that does not
    exist. A small batch is stored within this request; a large one by a worker.
    """
    with transaction.atomic():
        batch = _locked_batch(actor, batch_id)
        if batch.status in (BatchStatus.COMMITTED, BatchStatus.COMMITTING):
            return batch
        require_case_open(batch.case)
        if batch.status != BatchStatus.PREVIEWED:
            if batch.status in BATCH_WORKING_STATES:
                raise BatchBusy(details={"status": batch.status})
            raise InvalidState(
                _("This batch was %(status)s; send the archive again.")
                % {"status": BatchStatus(batch.status).label.lower()},
                details={"status": batch.status},
            )
        if mapping is not None:
            index = matching.OrderIndex.for_case(batch.case_id)
            rules = matching.mapping_rules(mapping, index, matching.KindVocabulary.current())
            _check_mapping_paths(rules, {entry["path"] for entry in (batch.preview or {}).get("files", [])})
            batch.mapping = mapping
        committed = _already_committed(batch.case_id, batch.archive_sha256)
        if committed is not None:
            raise _already_committed_error(committed)
        inline = is_inline(batch.archive_size, batch.unpacked_size)
        hold = _Hold.new() if inline else None
        batch.commit_requested = True
        batch.committed_by = actor
        batch.error = None
        batch.status = BatchStatus.COMMITTING
        batch.updated_at = timezone.now()
        batch.lease_until = batch.updated_at + _lease() if hold else None
        batch.lease_token = hold.token if hold else ""
        batch.save(
            update_fields=[
                "mapping",
                "commit_requested",
                "committed_by",
                "error",
                "status",
                "updated_at",
                "lease_until",
                "lease_token",
            ]
        )
        if hold is None:
            transaction.on_commit(lambda: _queue(batch.pk))
            return batch
    try:
        with _local_archive(batch) as archive_file:
            _work(batch, hold, archive_file, in_request=True)
    finally:
        _release(batch, hold)
    batch.refresh_from_db()
    return batch


@transaction.atomic
def batch_cancel(*, actor: User, batch_id: int) -> EvidenceBatch:
    """Give up a batch before it is committed: its archive is deleted and nothing is stored (409 after).

    A worker reading it notices at its next step (its guarded writes find the batch
    cancelled) and stops; what it wrote after this is deleted by it then.
    """
    batch = _locked_batch(actor, batch_id)
    if batch.status == BatchStatus.CANCELLED:
        return batch
    if batch.status in (BatchStatus.COMMITTING, BatchStatus.COMMITTED):
        raise InvalidState(
            _("The batch is already being stored or stored; remove single items instead."),
            details={"status": batch.status},
        )
    if batch.status in (BatchStatus.FAILED, BatchStatus.EXPIRED):
        raise InvalidState(_("The batch is over already."), details={"status": batch.status})
    batch.status = BatchStatus.CANCELLED
    batch.cancelled_at = batch.updated_at = timezone.now()
    batch.cancelled_by = actor
    batch.lease_until = None
    batch.lease_token = ""
    batch.save(update_fields=["status", "cancelled_at", "cancelled_by", "updated_at", "lease_until", "lease_token"])
    transaction.on_commit(lambda: _discard_files(batch))
    return batch


# --- The work: read, then store -----------------------------------------------------------------------


@contextlib.contextmanager
def _local_archive(batch: EvidenceBatch) -> Iterator[IO[bytes]]:
    """The stored archive as a local, seekable file: the file itself on disk, else a temporary copy."""
    storage = evidence_storage()
    try:
        path = storage.path(batch.archive.name)
    except NotImplementedError:
        path = None
    if path is not None:
        with open(path, "rb") as local:
            yield local
        return
    with tempfile.TemporaryFile(dir=archives.temp_dir()) as copy, storage.open(batch.archive.name, "rb") as remote:
        shutil.copyfileobj(remote, copy, CHUNK_BYTES)
        copy.seek(0)
        yield copy


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.EVIDENCE_BATCH_LEASE_SECONDS)


class _Lost(Exception):
    """The batch is no longer this worker's: cancelled, expired, or taken over after its lease ran out."""


@dataclass
class _Hold:
    """This worker's (or request's) hold on a batch: every write it makes is guarded by the token.

    A write finding the batch in another state or under another token changes nothing and
    raises ``_Lost``: the holder stops without touching the batch's files, which belong to
    whoever holds it now (or were deleted with its cancellation).
    """

    token: str
    renewed_at: float

    @classmethod
    def new(cls) -> _Hold:
        return cls(token=uuid.uuid4().hex, renewed_at=time.monotonic())

    def update(self, batch: EvidenceBatch, expected: tuple[str, ...], **changes: Any) -> None:
        now = timezone.now()
        updated = EvidenceBatch.objects.filter(pk=batch.pk, status__in=expected, lease_token=self.token).update(
            lease_until=now + _lease(), updated_at=now, **changes
        )
        if not updated:
            raise _Lost()
        self.renewed_at = time.monotonic()
        batch.updated_at = now
        for name, value in changes.items():
            setattr(batch, name, value)


def _claim(batch_id: int) -> _Hold | None:
    """Take the batch for this worker until the lease runs out, if no live worker holds it."""
    hold = _Hold.new()
    now = timezone.now()
    claimed = (
        EvidenceBatch.objects.filter(pk=batch_id, status__in=BATCH_WORKING_STATES)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + _lease(), lease_token=hold.token, attempts=F("attempts") + 1, updated_at=now)
    )
    return hold if claimed == 1 else None


def _release(batch: EvidenceBatch, hold: _Hold) -> None:
    EvidenceBatch.objects.filter(pk=batch.pk, lease_token=hold.token).update(lease_until=None, lease_token="")


def _progress(batch: EvidenceBatch, hold: _Hold, done: int, total: int) -> None:
    """Record progress and renew the lease, every few files and at least every few seconds."""
    due = done % PROGRESS_EVERY == 0 or done == total or time.monotonic() - hold.renewed_at >= RENEW_SECONDS
    if due:
        hold.update(batch, (batch.status,), progress_done=done, progress_total=total)


def batch_work(batch_id: int) -> None:
    """The Celery task's body: read the batch, and store it if a commit was asked for."""
    hold = _claim(batch_id)
    if hold is None:
        return
    batch = EvidenceBatch.objects.select_related("case").get(pk=batch_id)
    try:
        with _local_archive(batch) as archive_file:
            try:
                hold.update(batch, BATCH_WORKING_STATES)  # the copy of a remote archive may take a while
            except _Lost:
                _on_lost(batch)
                return
            _work(batch, hold, archive_file, in_request=False)
    finally:
        _release(batch, hold)


def _work(
    batch: EvidenceBatch,
    hold: _Hold,
    archive_file: IO[bytes],
    *,
    listing: archives.ArchiveListing | None = None,
    in_request: bool,
) -> None:
    """Read the batch if it has not been read, then commit it if that was asked for.

    Inside a request a domain error is raised for the request to answer; a worker records
    it on the batch for its readers. Either way the batch's state says what is left to do.
    """
    try:
        if batch.status in (BatchStatus.RECEIVED, BatchStatus.PREVIEWING):
            hold.update(batch, (BatchStatus.RECEIVED, BatchStatus.PREVIEWING), status=BatchStatus.PREVIEWING)
            if listing is None:
                listing = archives.archive_entries(archive_file, label=batch.archive_name)
                hold.update(batch, (BatchStatus.PREVIEWING,))
            preview = _preview(batch, hold, archive_file, listing)
            unused = preview["mapping_unused"]
            # Read and, when a commit was asked for with the upload, straight on to storing:
            # one step, so a worker dying in between leaves nothing the sweep would not resume.
            going_on = batch.commit_requested and not unused
            hold.update(
                batch,
                (BatchStatus.PREVIEWING,),
                preview=preview,
                status=BatchStatus.COMMITTING if going_on else BatchStatus.PREVIEWED,
            )
            if batch.commit_requested and unused:
                raise MappingNotInArchive(
                    _("The mapping names files that are not in the archive: %(paths)s.") % {"paths": ", ".join(unused)},
                    details={"fields": {"mapping": unused}},
                )
        if batch.status == BatchStatus.COMMITTING:
            _commit(batch, hold, archive_file)
    except _Lost:
        _on_lost(batch)
    except InvalidInput as error:
        # The archive itself cannot be read: the batch failed for good.
        if _record_error(batch, hold, error, status=BatchStatus.FAILED):
            _discard_files(batch)
        if in_request:
            raise
    except DomainError as error:
        # The commit was refused (the case closed, the archive stored meanwhile): the preview stays.
        _record_error(batch, hold, error, status=BatchStatus.PREVIEWED)
        if in_request:
            raise
    except Exception:
        # Anything else inside a request: the commit can be asked for again (the files written
        # so far are kept and reused). A worker's batch stays as it is, for the retry or the sweep.
        if in_request and batch.status == BatchStatus.COMMITTING:
            with contextlib.suppress(_Lost):
                hold.update(batch, (BatchStatus.COMMITTING,), status=BatchStatus.PREVIEWED)
        raise


def _on_lost(batch: EvidenceBatch) -> None:
    """The batch is not this holder's any more: if it is over, delete what was written after its clean-up."""
    batch.refresh_from_db()
    if batch.status in (BatchStatus.CANCELLED, BatchStatus.EXPIRED):
        _discard_files(batch)


class MappingNotInArchive(InvalidState):
    code = "mapping_not_in_archive"
    default_message = gettext_lazy("The mapping names files that are not in the archive.")


def _record_error(batch: EvidenceBatch, hold: _Hold, error: DomainError, *, status: str) -> bool:
    """Put the batch in ``status`` with the error, if this holder still holds it; whether it did."""
    details = error.details if isinstance(error.details, dict) else {}
    try:
        hold.update(
            batch,
            (*BATCH_WORKING_STATES, BatchStatus.PREVIEWED),
            status=status,
            error={"code": error.code, "message": str(error.message), "details": details},
        )
    except _Lost:
        return False
    return True


# --- Reading -----------------------------------------------------------------------------------------


def _facts(entry: archives.ArchiveEntry, status: str | None, reason: str) -> dict[str, Any]:
    """A file's row in the preview before its bytes are read."""
    return {
        "index": entry.index,
        "path": entry.path,
        "name": entry.name,
        "size": entry.size,
        "sha256": None,
        "content_type": None,
        "status": status,
        "reason": reason,
    }


def _inspect(reader: archives.ArchiveReader, entry: archives.ArchiveEntry) -> dict[str, Any]:
    """What one file is: size, SHA-256 and type from its bytes, or why it is refused."""
    facts = _facts(entry, entry.problem, entry.reason)
    if entry.problem is not None:
        return facts
    problem = file_name_problem(entry.name)
    if problem:
        facts.update(status=FileStatus.REFUSED, reason=problem)
        return facts
    try:
        with reader.extract(entry) as (data, size, sha256):
            facts.update(size=size, sha256=sha256)
            file_type, content_type = detect_file_type(data, entry.name)
            problem = file_extension_problem(file_type, entry.name)
            if problem:
                facts.update(status=FileStatus.REFUSED, reason=problem)
                return facts
            facts["content_type"] = content_type
    except archives.EntryUnreadable as exc:
        facts.update(status=archives.EntryProblem.UNREADABLE, reason=str(exc))
    except InvalidInput as exc:
        fields = exc.details.get("fields", {}) if isinstance(exc.details, dict) else {}
        facts.update(status=FileStatus.REFUSED, reason=" ".join(str(r) for r in fields.get("file", [exc.message])))
    return facts


def _manifest(
    reader: archives.ArchiveReader, listing: archives.ArchiveListing
) -> tuple[matching.Manifest | None, archives.ArchiveEntry | None]:
    entry = matching.manifest_entry(listing.entries)
    if entry is None:
        return None, None
    if entry.size > matching.MANIFEST_MAX_BYTES:
        message = _("The manifest %(path)s is larger than 5 MB.") % {"path": entry.path}
        raise InvalidInput(message, details={"fields": {"file": [message]}})
    try:
        with reader.extract(entry) as (data, _size, _sha256):
            content = data.read()
    except archives.EntryUnreadable as exc:
        message = _("The manifest %(path)s cannot be unpacked: %(reason)s") % {"path": entry.path, "reason": exc}
        raise InvalidInput(message, details={"fields": {"file": [message]}}) from None
    return matching.manifest_read(entry, content), entry


def _preview(
    batch: EvidenceBatch, hold: _Hold, archive_file: IO[bytes], listing: archives.ArchiveListing
) -> dict[str, Any]:
    files: list[dict[str, Any]] = []
    total = len(listing.entries)
    with archives.ArchiveReader(archive_file) as reader:
        manifest, manifest_at = _manifest(reader, listing)
        for done, entry in enumerate(listing.entries, start=1):
            if manifest_at is not None and entry.index == manifest_at.index:
                files.append(_facts(entry, FileStatus.MANIFEST, _("The manifest: it says where the other files go.")))
            else:
                files.append(_inspect(reader, entry))
            _progress(batch, hold, done, total)
    preview: dict[str, Any] = {
        "inspected": files,
        "ignored": listing.ignored,
        "manifest": _manifest_json(manifest),
    }
    preview.update(_plan(batch, preview))
    return preview


def _manifest_json(manifest: matching.Manifest | None) -> dict[str, Any] | None:
    if manifest is None:
        return None
    return {
        "path": manifest.path,
        "rows": {path: [row.row, row.order, row.kind] for path, row in manifest.rows.items()},
        "problems": manifest.problems,
    }


def _manifest_from_json(data: dict[str, Any] | None) -> matching.Manifest | None:
    if not data:
        return None
    manifest = matching.Manifest(path=data["path"], problems=list(data.get("problems", [])))
    for path, (row, order, kind) in data.get("rows", {}).items():
        manifest.rows[path] = matching.ManifestRow(row=row, file=path, order=order, kind=kind)
    return manifest


def _plan(batch: EvidenceBatch, preview: dict[str, Any]) -> dict[str, Any]:
    """Where each inspected file goes now: by today's orders, keywords, mapping and stored evidence."""
    index = matching.OrderIndex.for_case(batch.case_id)
    vocabulary = matching.KindVocabulary.current()
    rules = matching.mapping_rules(batch.mapping, index, vocabulary)
    manifest = _manifest_from_json(preview.get("manifest"))
    inspected: list[dict[str, Any]] = preview["inspected"]
    stored = _stored_items(batch.case_id, {facts["sha256"] for facts in inspected if facts["sha256"]})
    seen: dict[tuple[int, str], str] = {}
    files: list[dict[str, Any]] = []
    for facts in inspected:
        entry = archives.ArchiveEntry(
            index=facts["index"], path=facts["path"], size=facts["size"], compressed_size=0, member=-1
        )
        row = {**facts, "order": None, "platform_order_id": None, "kind": None, "matched_by": None, "kind_by": None}
        row.update(candidates=[], duplicate_of=None, item=None)
        if facts["status"] is None:
            match = matching.entry_match(entry, index, vocabulary, manifest, rules.get(facts["path"]))
            row.update(order=match.order_id, kind=match.kind, matched_by=match.matched_by, kind_by=match.kind_by)
            if match.order_id is not None:
                row["platform_order_id"] = index.orders[match.order_id].platform_order_id
            if match.problem is not None:
                row.update(status=match.problem, reason=match.reason)
                row["candidates"] = [
                    {"order": order_id, "platform_order_id": index.orders[order_id].platform_order_id}
                    for order_id in match.candidates
                ]
            else:
                key = (match.order_id or 0, facts["sha256"])
                existing = stored.get((match.order_id, facts["sha256"]))
                if existing is not None:
                    row.update(
                        status=FileStatus.DUPLICATE_STORED,
                        reason=_("The same file is already evidence for this order (item %(item)s).")
                        % {"item": existing},
                        duplicate_of=existing,
                    )
                elif key in seen:
                    row.update(
                        status=FileStatus.DUPLICATE_IN_ARCHIVE,
                        reason=_("The same file is in the archive already, as “%(path)s”, for this order.")
                        % {"path": seen[key]},
                    )
                else:
                    seen[key] = facts["path"]
                    row.update(status=FileStatus.READY, reason="")
        files.append(row)
    return {
        "files": files,
        "totals": _totals(files),
        "orders": _orders(batch, files, index),
        "mapping_unused": sorted(set(rules) - {facts["path"] for facts in inspected}),
    }


def _stored_items(case_id: int, sha256s: set[str]) -> dict[tuple[int | None, str], int]:
    items = EvidenceItem.objects.active().filter(case_id=case_id, sha256__in=sha256s)
    return {(order_id, sha): pk for order_id, sha, pk in items.values_list("order_id", "sha256", "pk")}


def _totals(files: list[dict[str, Any]]) -> dict[str, Any]:
    statuses = Counter(row["status"] for row in files)
    return {
        "files": len(files),
        "ready": statuses.get(FileStatus.READY, 0),
        "stored": statuses.get(FileStatus.STORED, 0),
        "not_stored": len(files)
        - statuses.get(FileStatus.READY, 0)
        - statuses.get(FileStatus.STORED, 0)
        - statuses.get(FileStatus.MANIFEST, 0),
        "by_status": dict(sorted(statuses.items())),
    }


def _orders(batch: EvidenceBatch, files: list[dict[str, Any]], index: matching.OrderIndex) -> list[dict[str, Any]]:
    """Per order the batch touches: the kinds required, those it already has, those the batch adds, and what is left."""
    adds: dict[int, set[str]] = {}
    for row in files:
        if row["status"] in (FileStatus.READY, FileStatus.STORED):
            adds.setdefault(row["order"], set()).add(row["kind"])
    if not adds:
        return []
    required = required_evidence(batch.case)
    present: dict[int, set[str]] = {}
    have = EvidenceItem.objects.active().filter(case_id=batch.case_id, order_id__in=list(adds))
    have = have.exclude(review_state=ReviewState.REJECTED)
    if batch.status == BatchStatus.COMMITTED:
        have = have.exclude(batch=batch)
    for order_id, kind in have.values_list("order_id", "kind").distinct():
        present.setdefault(order_id, set()).add(kind)
    summary = []
    for order_id in sorted(adds, key=lambda pk: index.orders[pk].platform_order_id):
        order = index.orders[order_id]
        needed = required.get(order.goods_type, [])
        already = present.get(order_id, set())
        after = already | adds[order_id]
        summary.append(
            {
                "order": order_id,
                "platform_order_id": order.platform_order_id,
                "required": needed,
                "already": sorted(kind for kind in already),
                "adds": sorted(adds[order_id]),
                "completes": [kind for kind in needed if kind not in already and kind in adds[order_id]],
                "missing_after": [kind for kind in needed if kind not in after],
            }
        )
    return summary


# --- Storing -------------------------------------------------------------------------------------------


def _stored_name(batch: EvidenceBatch, row: dict[str, Any]) -> str:
    return f"batches/{batch.storage_token}/{row['index']:05d}"


def _write_files(batch: EvidenceBatch, hold: _Hold, archive_file: IO[bytes], ready: list[dict[str, Any]]) -> None:
    """Write each ready file to storage under the batch's folder; a file written before (a resumed job) is kept."""
    storage = evidence_storage()
    total = len(ready)
    entries = _entries_by_index(archive_file, batch, {row["index"] for row in ready})
    hold.update(batch, (BatchStatus.COMMITTING,))
    with archives.ArchiveReader(archive_file) as reader:
        for done, row in enumerate(ready, start=1):
            name = _stored_name(batch, row)
            if not (storage.exists(name) and storage.size(name) == row["size"]):
                with contextlib.suppress(FileNotFoundError):
                    storage.delete(name)
                with reader.extract(entries[row["index"]]) as (data, _size, sha256):
                    if sha256 != row["sha256"]:
                        message = _("The archive changed after it was read; send it again.")
                        raise InvalidInput(message, details={"fields": {"file": [message]}})
                    saved = storage.save(name, File(data, name=row["name"]))
                if saved != name:
                    raise RuntimeError(f"storage saved {name} as {saved}")
            _progress(batch, hold, done, total)


def _entries_by_index(archive_file: IO[bytes], batch: EvidenceBatch, wanted: set[int]) -> dict[int, Any]:
    archive_file.seek(0)
    listing = archives.archive_entries(archive_file, label=batch.archive_name)
    archive_file.seek(0)
    return {entry.index: entry for entry in listing.entries if entry.index in wanted}


class BatchChanged(Conflict):
    code = "batch_changed"
    default_message = gettext_lazy("What the batch would store changed while its files were written; commit again.")


def _commit(batch: EvidenceBatch, hold: _Hold, archive_file: IO[bytes]) -> None:
    plan = _plan(batch, batch.preview or {})
    ready = [row for row in plan["files"] if row["status"] == FileStatus.READY]
    _write_files(batch, hold, archive_file, ready)
    try:
        with transaction.atomic():
            _commit_rows(batch, hold, {row["index"] for row in ready})
    except IntegrityError:
        committed = _already_committed(batch.case_id, batch.archive_sha256)
        if committed is not None:  # the database's own guard: one committed batch per archive and case
            raise _already_committed_error(committed) from None
        raise Conflict(
            _("A file of this batch was attached separately meanwhile; read the batch again and commit.")
        ) from None
    _delete_archive(batch)


def _commit_rows(batch: EvidenceBatch, hold: _Hold, written: set[int]) -> None:
    """Insert the items, the history row and the event, and fulfil requests: all in the caller's transaction.

    Under the case's lock the plan is made again: a file stored meanwhile is a duplicate and
    is not inserted (its written copy goes); a file that became ready without being written
    (evidence removed meanwhile, keywords or orders changed) refuses the commit (409
    ``batch_changed``), and the next commit writes it.
    """
    lock_cases([batch.case_id])
    locked = EvidenceBatch.objects.select_for_update(of=("self",)).select_related("case", "created_by").get(pk=batch.pk)
    if locked.status == BatchStatus.COMMITTED:
        return  # committed by the holder before this one, whose lease had run out
    if locked.status != BatchStatus.COMMITTING or locked.lease_token != hold.token:
        raise _Lost()
    case = locked.case
    require_case_open(case)
    committed = _already_committed(case.pk, locked.archive_sha256)
    if committed is not None:
        raise _already_committed_error(committed)
    plan = _plan(locked, locked.preview or {})
    actor = locked.committed_by or locked.created_by
    now = timezone.now()
    ready = [row for row in plan["files"] if row["status"] == FileStatus.READY]
    if {row["index"] for row in ready} - written:
        raise BatchChanged()
    items = [
        EvidenceItem(
            case=case,
            order_id=row["order"],
            kind=row["kind"],
            file=_stored_name(locked, row),
            original_name=row["name"][: archives.MAX_NAME_LENGTH],
            size=row["size"],
            content_type=row["content_type"],
            sha256=row["sha256"],
            note=locked.note,
            source=locked.source,
            uploaded_by=locked.created_by,
            uploaded_at=now,
            batch=locked,
        )
        for row in ready
    ]
    EvidenceItem.objects.bulk_create(items)
    for row, item in zip(ready, items, strict=True):
        row.update(status=FileStatus.STORED, item=item.pk)
    plan["totals"] = _totals(plan["files"])
    locked.preview = {**(locked.preview or {}), **plan}
    locked.status = BatchStatus.COMMITTED
    locked.committed_at = locked.updated_at = now
    locked.committed_by = actor
    locked.stored_count = len(items)
    locked.error = None
    locked.lease_until, locked.lease_token = None, ""
    locked.save(
        update_fields=[
            "preview",
            "status",
            "committed_at",
            "updated_at",
            "committed_by",
            "stored_count",
            "error",
            "lease_until",
            "lease_token",
        ]
    )
    kinds = Counter(item.kind for item in items)
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.EVIDENCE_BATCH_UPLOADED,
        new_value={
            "batch": locked.pk,
            "archive_name": locked.archive_name,
            "archive_sha256": locked.archive_sha256,
            "archive_size": locked.archive_size,
            "source": locked.source,
            "files": plan["totals"]["files"],
            "stored": len(items),
            "not_stored": plan["totals"]["not_stored"],
            "orders": len({item.order_id for item in items}),
            "kinds": dict(sorted(kinds.items())),
        },
    )
    request_items_fulfil_many(case=case, items=items, actor=actor)
    # Each file is read and compared with its order in the background once this commits.
    checks_queue(items)
    for name in ("preview", "status", "committed_at", "stored_count", "error"):
        setattr(batch, name, getattr(locked, name))
    # Files written for rows that are not stored after all (duplicates under the lock) are not needed.
    stored = {row["index"] for row in ready}
    unused = [_stored_name(locked, {"index": index}) for index in sorted(written - stored)]
    transaction.on_commit(lambda: _delete_names(unused))


# --- Cleaning up --------------------------------------------------------------------------------------


def _delete_names(names: list[str]) -> None:
    storage = evidence_storage()
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            storage.delete(name)


def _delete_archive(batch: EvidenceBatch) -> None:
    if batch.archive:
        name = batch.archive.name
        EvidenceBatch.objects.filter(pk=batch.pk).update(archive="")
        _delete_names([name])


def _discard_files(batch: EvidenceBatch) -> None:
    """Delete the archive and any file written for a batch that will never be committed."""
    folder = f"batches/{batch.storage_token}"
    try:
        _folders, names = evidence_storage().listdir(folder)
    except FileNotFoundError:
        names = []
    _delete_names([f"{folder}/{name}" for name in names])
    _delete_archive(batch)


def batches_resume(*, queue: Callable[[int], None] | None = None) -> list[int]:
    """Queue again every batch with work left whose worker's lease ran out (a worker that died).

    After MAX_ATTEMPTS a batch is given up (failed, with the reason), so an archive that
    crashes every worker does not take one up forever.
    """
    now = timezone.now()
    stale = EvidenceBatch.objects.filter(status__in=BATCH_WORKING_STATES).filter(
        Q(lease_until__lt=now) | Q(lease_until__isnull=True, updated_at__lt=now - _lease())
    )
    for batch in stale.filter(attempts__gte=MAX_ATTEMPTS):
        message = _("The batch could not be read or stored after %(count)d attempts; send it again.") % {
            "count": batch.attempts
        }
        batch.error = {"code": "gave_up", "message": message, "details": {}}
        if EvidenceBatch.objects.filter(pk=batch.pk, status=batch.status).update(
            status=BatchStatus.FAILED, error=batch.error, lease_until=None, updated_at=now
        ):
            _discard_files(batch)
    resumed = list(stale.filter(attempts__lt=MAX_ATTEMPTS).values_list("pk", flat=True))
    for batch_id in resumed:
        (queue or _queue)(batch_id)
    return resumed


def batches_expire() -> int:
    """Batches read but never committed or cancelled expire after EVIDENCE_BATCH_KEEP_HOURS; their archives go.

    Also deletes the archive of a committed batch whose worker died between the commit and
    the archive's deletion (its files are items by then; the archive is not needed).
    """
    cutoff = timezone.now() - dt.timedelta(hours=settings.EVIDENCE_BATCH_KEEP_HOURS)
    for leftover in EvidenceBatch.objects.filter(status=BatchStatus.COMMITTED).exclude(archive=""):
        _delete_archive(leftover)
    expired = 0
    for batch in EvidenceBatch.objects.filter(status=BatchStatus.PREVIEWED, updated_at__lt=cutoff):
        if EvidenceBatch.objects.filter(pk=batch.pk, status=BatchStatus.PREVIEWED).update(
            status=BatchStatus.EXPIRED, updated_at=timezone.now()
        ):
            _discard_files(batch)
            expired += 1
    return expired
