"""Evidence requests: staff ask the client for specific items; uploads fulfil them as they arrive.

A request lists what it needs as items (a kind, for one order or for the case). Any upload
that matches an open item fulfils it, whether or not the uploader named the request; a
request is fulfilled when every item has arrived. If an item that fulfilled a request is
later rejected, the request opens again, because the client still owes a usable one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import Role, User
from agency.accounts.permissions import require_role
from agency.errors import InvalidInput, InvalidState, NotFound
from cases.history import record_case_event
from cases.kinds import EvidenceKind
from cases.models import OPEN_STATES, Case, EventKind, FlaggedOrder
from cases.selectors import case_for_actor, case_visible_to, portal_case_list
from evidence import deadlines as evidence_deadlines
from evidence.models import EvidenceItem, EvidenceRequest, EvidenceRequestItem, RequestStatus

# Who may ask the client for evidence: the people who work the evidence.
REQUESTERS = (Role.CASE_MANAGER, Role.EVIDENCE_REVIEWER, Role.SUPERVISOR, Role.ADMINISTRATOR)
MAX_ITEMS_PER_REQUEST = 5000


def _staff_case(actor: User, case_id: int) -> Case:
    return case_for_actor(actor=actor, case_id=case_id, lock=True)


@transaction.atomic
def evidence_request_create(
    *,
    case_id: int,
    actor: User,
    items: Sequence[Mapping[str, Any]],
    due_at: dt.datetime,
    message: str = "",
) -> EvidenceRequest:
    """Ask the client for ``items`` ({"order": id or None, "kind": kind}) by ``due_at``."""
    require_role(actor, REQUESTERS)
    case = _staff_case(actor, case_id)
    if case.state not in OPEN_STATES:
        raise InvalidState(_("Evidence cannot be requested on a finished case."), details={"state": case.state})
    errors: dict[str, Any] = {}
    if not items:
        errors["items"] = [_("Ask for at least one item.")]
    elif len(items) > MAX_ITEMS_PER_REQUEST:
        errors["items"] = [_("At most %(n)d items per request.") % {"n": MAX_ITEMS_PER_REQUEST}]
    if due_at <= timezone.now():
        errors["due_at"] = [_("The due time must be in the future.")]
    order_ids = {item["order"] for item in items if item.get("order") is not None}
    known = set(FlaggedOrder.objects.filter(case_id=case.pk, pk__in=order_ids).values_list("pk", flat=True))
    item_errors: dict[str, dict[str, list[str]]] = {}
    seen: set[tuple[int | None, str]] = set()
    for index, item in enumerate(items):
        key = (item.get("order"), item["kind"])
        if key[0] is not None and key[0] not in known:
            item_errors[str(index)] = {"order": [_("This order is not on the case.")]}
        elif key in seen:
            item_errors[str(index)] = {"kind": [_("This item is asked for twice.")]}
        seen.add(key)
    if item_errors:
        errors["items"] = item_errors
    if errors:
        raise InvalidInput(details={"fields": errors})

    request = EvidenceRequest.objects.create(case=case, created_by=actor, due_at=due_at, message=message.strip())
    EvidenceRequestItem.objects.bulk_create(
        [EvidenceRequestItem(request=request, order_id=order_id, kind=kind) for order_id, kind in seen],
        batch_size=1000,
    )
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.EVIDENCE_REQUESTED,
        new_value={"request": request.pk, "items": len(seen), "due_at": due_at.isoformat()},
    )
    # What the client already uploaded counts at once: a request never asks for what has arrived.
    arrived = EvidenceItem.objects.active().filter(case_id=case.pk).exclude(review_state="rejected")
    _fulfil(case=case, actor=actor, uploads=arrived, request_ids=[request.pk])
    request.refresh_from_db()
    evidence_deadlines.evidence_request_sync(case, request, actor=actor)
    return request


@transaction.atomic
def evidence_request_cancel(*, request_id: int, actor: User, reason: str) -> EvidenceRequest:
    require_role(actor, REQUESTERS)
    request = EvidenceRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None or not case_visible_to(actor).filter(pk=request.case_id).exists():
        raise NotFound()
    if request.status != RequestStatus.OPEN:
        raise InvalidState(_("Only an open request can be cancelled."), details={"status": request.status})
    if not reason.strip():
        raise InvalidInput(details={"fields": {"reason": [_("Say why the request is cancelled.")]}})
    request.status = RequestStatus.CANCELLED
    request.cancelled_at, request.cancelled_by, request.cancellation_reason = timezone.now(), actor, reason.strip()
    request.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancellation_reason"])
    record_case_event(
        case=request.case,
        actor=actor,
        kind=EventKind.EVIDENCE_REQUEST_CANCELLED,
        new_value={"request": request.pk},
        reason=reason.strip(),
    )
    evidence_deadlines.evidence_request_sync(request.case, request, actor=actor)
    return request


def _fulfil(
    *, case: Case, actor: User | None, uploads: Iterable[EvidenceItem], request_ids: list[int] | None = None
) -> list[int]:
    """Match uploads to open request items of the case; close requests that are complete."""
    open_items = EvidenceRequestItem.objects.select_for_update().filter(
        request__case_id=case.pk, request__status=RequestStatus.OPEN, fulfilled_by__isnull=True
    )
    if request_ids is not None:
        open_items = open_items.filter(request_id__in=request_ids)
    wanted: dict[tuple[int | None, str], list[EvidenceRequestItem]] = {}
    for item in open_items:
        wanted.setdefault((item.order_id, item.kind), []).append(item)
    if not wanted:
        return []
    touched: set[int] = set()
    for upload in uploads:
        for request_item in wanted.pop((upload.order_id, upload.kind), []):
            request_item.fulfilled_by = upload
            touched.add(request_item.request_id)
            request_item.save(update_fields=["fulfilled_by"])
        if not wanted:
            break
    complete = list(
        EvidenceRequest.objects.filter(pk__in=touched)
        .annotate(outstanding=Count("items", filter=Q(items__fulfilled_by__isnull=True)))
        .filter(outstanding=0)
    )
    now = timezone.now()
    for request in complete:
        request.status, request.fulfilled_at = RequestStatus.FULFILLED, now
        request.save(update_fields=["status", "fulfilled_at"])
        record_case_event(
            case=case, actor=actor, kind=EventKind.EVIDENCE_REQUEST_FULFILLED, new_value={"request": request.pk}
        )
        evidence_deadlines.evidence_request_sync(case, request, actor=actor)
    return [request.pk for request in complete]


def request_items_fulfil(*, item: EvidenceItem, actor: User) -> list[int]:
    """Called by the upload service, inside its transaction, for each new item.

    When the upload names a request, it must match one of that request's items; any
    matching open item of the case is fulfilled. Returns the requests it completed.
    """
    if item.request_id is not None:
        matches = EvidenceRequestItem.objects.filter(request_id=item.request_id, order_id=item.order_id, kind=item.kind)
        if not matches.exists():
            raise InvalidInput(
                details={"fields": {"request": [_("This request does not ask for this kind of evidence here.")]}}
            )
    completed = _fulfil(case=item.case, actor=actor, uploads=[item])
    if item.kind == EvidenceKind.CHAT_LOG:
        evidence_deadlines.chat_evidence_sync(item.case, actor=actor)
    return completed


def request_items_fulfil_many(*, case: Case, items: list[EvidenceItem], actor: User) -> list[int]:
    """The same for the items of one bulk upload (evidence.batches), in one pass over the open requests."""
    completed = _fulfil(case=case, actor=actor, uploads=items)
    if any(item.kind == EvidenceKind.CHAT_LOG for item in items):
        evidence_deadlines.chat_evidence_sync(case, actor=actor)
    return completed


def request_items_reopen(*, item: EvidenceItem, actor: User) -> list[int]:
    """A rejected or removed upload no longer fulfils anything: its requests open again."""
    request_items = list(EvidenceRequestItem.objects.select_for_update().filter(fulfilled_by=item))
    reopened: set[int] = set()
    for request_item in request_items:
        request_item.fulfilled_by = None
        request_item.save(update_fields=["fulfilled_by"])
        reopened.add(request_item.request_id)
    requests = EvidenceRequest.objects.filter(pk__in=reopened, status=RequestStatus.FULFILLED)
    for request in requests:
        request.status, request.fulfilled_at = RequestStatus.OPEN, None
        request.save(update_fields=["status", "fulfilled_at"])
        record_case_event(
            case=item.case,
            actor=actor,
            kind=EventKind.EVIDENCE_REQUESTED,
            new_value={"request": request.pk, "reopened": True, "due_at": request.due_at.isoformat()},
        )
        evidence_deadlines.evidence_request_sync(item.case, request, actor=actor)
    if item.kind == EvidenceKind.CHAT_LOG:
        evidence_deadlines.chat_evidence_sync(item.case, actor=actor)
    return sorted(reopened)


# --- Reading ---------------------------------------------------------------------------------


def _with_items(requests: QuerySet[EvidenceRequest]) -> QuerySet[EvidenceRequest]:
    return requests.prefetch_related(
        Prefetch("items", queryset=EvidenceRequestItem.objects.select_related("order").order_by("id"))
    ).order_by("-created_at", "-id")


def evidence_requests_for_staff(*, user: User, case_id: int) -> QuerySet[EvidenceRequest]:
    if not case_visible_to(user).filter(pk=case_id).exists():
        raise NotFound()
    return _with_items(EvidenceRequest.objects.filter(case_id=case_id).select_related("created_by", "cancelled_by"))


def evidence_requests_for_client(*, user: User, case_id: int) -> QuerySet[EvidenceRequest]:
    if not portal_case_list(user=user).filter(pk=case_id).exists():
        raise NotFound()
    return _with_items(EvidenceRequest.objects.filter(case_id=case_id))


def evidence_request_for_client(*, user: User, request_id: int) -> EvidenceRequest:
    request = _with_items(EvidenceRequest.objects.filter(pk=request_id, case__in=portal_case_list(user=user))).first()
    if request is None:
        raise NotFound()
    return request
