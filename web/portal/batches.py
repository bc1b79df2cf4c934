"""The client portal's bulk evidence: a ZIP archive (or several files) for many orders, checked, then stored.

Sending always starts with a dry run (``evidence.batches.batch_create(dry_run=True)``): the
batch page then shows where each file would go, which required kinds each order would
have, and a button that stores the matched files (``batch_commit``) or one that gives the
batch up (``batch_cancel``). An archive too large to read within the request is read by a
worker; its page shows the progress and refreshes itself with htmx (a fragment polled every
two seconds until the batch is read, stored or over), or by a plain link without JavaScript.

Every view loads the case through ``portal_case_get`` and the batch through ``batch_get``,
and a batch of another case is a 404, so a client never sees another organisation's.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from agency.errors import DomainError
from cases.kinds import EvidenceKind
from cases.models import Case
from evidence import batches
from evidence.models import BATCH_WORKING_STATES, BatchStatus, EvidenceBatch
from evidence.uploads import install_bulk_upload_handler
from web.portal.views import _case, _case_url, _refusal_text, _user, client_page

# A file's status in the preview, in words (the values are evidence.batches.FileStatus,
# evidence.matching.MatchProblem and evidence.archives.EntryProblem).
FILE_STATUS_WORDS = {
    "ready": gettext_lazy("Will be stored"),
    "stored": gettext_lazy("Stored as evidence"),
    "manifest": gettext_lazy("Manifest"),
    "refused": gettext_lazy("Refused"),
    "duplicate_stored": gettext_lazy("Already on the case"),
    "duplicate_in_archive": gettext_lazy("Twice in the archive"),
    "unmatched": gettext_lazy("No order found"),
    "ambiguous": gettext_lazy("More than one order"),
    "kind_unknown": gettext_lazy("Kind of evidence unclear"),
    "order_excluded": gettext_lazy("Order not in the appeal"),
    "skipped": gettext_lazy("Skipped"),
    "too_large": gettext_lazy("Too large"),
    "empty": gettext_lazy("Empty file"),
    "unsafe_path": gettext_lazy("Unsafe name"),
    "symlink": gettext_lazy("A link, not a file"),
    "encrypted": gettext_lazy("Encrypted"),
    "nested_too_deep": gettext_lazy("Archive nested too deep"),
    "unreadable": gettext_lazy("Cannot be read"),
}
# The batch's status in the portal's words (the model's labels are the staff's).
BATCH_STATUS_WORDS = {
    BatchStatus.RECEIVED: gettext_lazy("Waiting to be read"),
    BatchStatus.PREVIEWING: gettext_lazy("Reading the files"),
    BatchStatus.PREVIEWED: gettext_lazy("Read, not stored yet"),
    BatchStatus.COMMITTING: gettext_lazy("Storing the files now"),
    BatchStatus.COMMITTED: gettext_lazy("Stored as evidence"),
    BatchStatus.CANCELLED: gettext_lazy("Cancelled"),
    BatchStatus.FAILED: gettext_lazy("Could not be read"),
    BatchStatus.EXPIRED: gettext_lazy("Expired"),
}
# Statuses shown as good news; "manifest" and "duplicate_stored" are neutral, the rest are problems.
GOOD_STATUSES = {"ready", "stored"}
NEUTRAL_STATUSES = {"manifest", "duplicate_stored"}


def _batch_url(case_id: int, batch_id: int) -> str:
    return reverse("web:portal-bulk", kwargs={"case_id": case_id, "batch_id": batch_id})


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect; an htmx request is told to load the page itself (its messages show there)."""
    if request.htmx:  # type: ignore[attr-defined]
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _refused(request: HttpRequest, case: Case, text: str) -> HttpResponse:
    """An upload refused: to htmx the reason, shown beside the form; otherwise back to the case with a message.

    (A client redirect would not do for htmx: the case page's address differs from the one the
    browser shows at most by its fragment, and a change of fragment alone loads nothing.)
    """
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "web/portal/_bulk_refused.html", {"error": text})
    messages.error(request, text)
    return HttpResponseRedirect(_case_url(case.pk, "needed"))


def _case_and_batch(request: HttpRequest, case_id: int, batch_id: int) -> tuple[Case, EvidenceBatch]:
    case = _case(request, case_id)
    batch = batches.batch_get(actor=_user(request), batch_id=batch_id)
    if batch.case_id != case.pk:
        raise Http404
    return case, batch


def _kind_label(kind: str | None) -> str:
    if not kind:
        return ""
    try:
        return str(EvidenceKind(kind).label)
    except ValueError:
        return kind


def _tone(status: str) -> str:
    if status in GOOD_STATUSES:
        return "tag-ok"
    if status in NEUTRAL_STATUSES:
        return ""
    return "tag-bad"


def _file_rows(preview: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for entry in preview.get("files", []):
        status = entry.get("status") or ""
        rows.append(
            {
                "path": entry.get("path", ""),
                "order": entry.get("platform_order_id") or "",
                "kind": _kind_label(entry.get("kind")),
                "status": status,
                "status_words": FILE_STATUS_WORDS.get(status, status),
                "tone": _tone(status),
                "reason": entry.get("reason") or "",
                "candidates": [candidate["platform_order_id"] for candidate in entry.get("candidates") or []],
            }
        )
    return rows


def _order_rows(preview: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "platform_order_id": order["platform_order_id"],
            "adds": [_kind_label(kind) for kind in order.get("adds", [])],
            "completes": [_kind_label(kind) for kind in order.get("completes", [])],
            "missing_after": [_kind_label(kind) for kind in order.get("missing_after", [])],
        }
        for order in preview.get("orders", [])
    ]


def _batch_context(case: Case, batch: EvidenceBatch) -> dict[str, Any]:
    preview = batch.preview or {}
    manifest = preview.get("manifest") or {}
    return {
        "case": case,
        "batch": batch,
        "nav": "cases",
        "batch_url": _batch_url(case.pk, batch.pk),
        "status_label": BATCH_STATUS_WORDS[BatchStatus(batch.status)],
        "working": batch.status in BATCH_WORKING_STATES,
        "committing": batch.status == BatchStatus.COMMITTING,
        "previewed": batch.status == BatchStatus.PREVIEWED,
        "committed": batch.status == BatchStatus.COMMITTED,
        "cancelled": batch.status == BatchStatus.CANCELLED,
        "failed": batch.status == BatchStatus.FAILED,
        "expired": batch.status == BatchStatus.EXPIRED,
        "error_message": (batch.error or {}).get("message", ""),
        "totals": preview.get("totals") or {},
        "files": _file_rows(preview),
        "orders": _order_rows(preview),
        "ignored": preview.get("ignored") or [],
        "manifest_problems": manifest.get("problems") or [],
    }


# --- Sending ------------------------------------------------------------------------------------


@csrf_exempt
@require_POST
@client_page
def bulk_upload(request: HttpRequest, case_id: int) -> HttpResponse:
    """Receive a ZIP archive or several files, read them as a dry run, and show the batch page.

    The upload streams through ``BulkUploadHandler``, which must be installed before anything
    reads the body, so the CSRF check runs after it (``csrf_protect`` below), as the single
    upload does. The case is checked first, so a foreign case's body is never read.
    """
    case = _case(request, case_id)
    install_bulk_upload_handler(request)
    try:
        request.FILES  # noqa: B018  # reads the body through the handler, which may refuse it
    except DomainError as error:
        return _refused(request, case, _refusal_text(error))
    return _bulk_upload(request, case)


@csrf_protect
def _bulk_upload(request: HttpRequest, case: Case) -> HttpResponse:
    uploads = request.FILES.getlist("files")
    if not uploads:
        return _refused(request, case, _("Choose a ZIP archive or the files to send."))
    archive = None
    loose = uploads
    if len(uploads) == 1 and (uploads[0].name or "").lower().endswith(".zip"):
        archive, loose = uploads[0], []
    try:
        batch = batches.batch_create(case_id=case.pk, actor=_user(request), file=archive, files=loose, dry_run=True)
    except DomainError as error:
        return _refused(request, case, _refusal_text(error))
    return _go(request, _batch_url(case.pk, batch.pk))


# --- The batch page -------------------------------------------------------------------------------


@require_GET
@client_page
def bulk_detail(request: HttpRequest, case_id: int, batch_id: int) -> HttpResponse:
    """The batch: progress while it is read or stored, the preview with the buttons, or how it ended.

    To htmx (the page polling itself) it answers with the fragment ``_bulk.html``.
    """
    case, batch = _case_and_batch(request, case_id, batch_id)
    context = _batch_context(case, batch)
    template = "web/portal/_bulk.html" if request.htmx else "web/portal/bulk.html"  # type: ignore[attr-defined]
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@client_page
def bulk_commit(request: HttpRequest, case_id: int, batch_id: int) -> HttpResponse:
    case, batch = _case_and_batch(request, case_id, batch_id)
    # Stored (or being stored): the batch page says so itself, so only a refusal is a message.
    try:
        batches.batch_commit(actor=_user(request), batch_id=batch.pk)
    except DomainError as error:
        messages.error(request, _refusal_text(error))
    return _go(request, _batch_url(case.pk, batch.pk))


@require_POST
@client_page
def bulk_cancel(request: HttpRequest, case_id: int, batch_id: int) -> HttpResponse:
    case, batch = _case_and_batch(request, case_id, batch_id)
    try:
        batches.batch_cancel(actor=_user(request), batch_id=batch.pk)
    except DomainError as error:
        messages.error(request, _refusal_text(error))
        return _go(request, _batch_url(case.pk, batch.pk))
    messages.info(request, _("The files were not stored; the batch is cancelled."))
    return _go(request, _case_url(case.pk, "needed"))
