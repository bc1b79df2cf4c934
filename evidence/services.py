"""Write-side operations on evidence: upload (and supersede), review and removal, each with its history row."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agency.accounts.models import Role, User
from agency.errors import Conflict, InvalidInput, InvalidState, NotAllowed, NotFound
from cases.history import history_batch, record_case_event
from cases.kinds import EvidenceKind
from cases.models import Case, CaseState, EventKind, FlaggedOrder
from cases.reasons import ReasonCode, system_reason
from cases.selectors import case_for_actor, case_visible_to
from evidence.checks import checks_queue
from evidence.models import CheckOutcome, CheckState, EvidenceItem, EvidenceRequest, ReviewState, UploadSource
from evidence.requests import request_items_fulfil, request_items_fulfil_many, request_items_reopen
from evidence.uploads import inspect_upload
from workflows.deadlines import lock_cases

# Staff roles that judge evidence, and that may remove or supersede anyone's item.
EVIDENCE_REVIEWER_ROLES = (Role.EVIDENCE_REVIEWER, Role.CASE_MANAGER, Role.SUPERVISOR, Role.ADMINISTRATOR)


class ReviewDecision:
    ACCEPT = "accept"
    REJECT = "reject"
    CHOICES = (ACCEPT, REJECT)


class DuplicateEvidence(Conflict):
    """The same bytes already count for this order (or for the case, for case-level items)."""

    code = "duplicate_evidence"
    default_message = gettext_lazy("This file is already attached here.")


# --- Helpers -------------------------------------------------------------------------------


def _visible_case(actor: User, case_id: int, *, lock: bool = False) -> Case:
    return case_for_actor(actor=actor, case_id=case_id, lock=lock)


def _visible_item(actor: User, item_id: int) -> EvidenceItem:
    """The item, row-locked after its case's row, if its case is visible to the actor.

    The locks serialise a review or removal with ``submit_appeal``, which locks the case
    and then the items it puts into an appeal: an item cannot change underneath the
    submission, and both take the case first, so neither can wait for the other in turn.
    """
    case_id = (
        EvidenceItem.objects.filter(pk=item_id, case__in=case_visible_to(actor))
        .values_list("case_id", flat=True)
        .first()
    )
    if case_id is None:
        raise NotFound()
    lock_cases([case_id])
    return EvidenceItem.objects.select_for_update(of=("self",)).select_related("case").get(pk=item_id)


def require_case_open(case: Case) -> None:
    """Evidence changes only while the case is open (409 otherwise)."""
    if not case.is_open:
        raise InvalidState(
            _("Evidence cannot change while the case is “%(state)s”.") % {"state": CaseState(case.state).label},
            details={"state": case.state},
        )


def _require_active(item: EvidenceItem) -> None:
    if item.removed_at is not None:
        raise InvalidState(_("This evidence item was removed."), details={"item": item.pk})
    if item.superseded_by_id is not None:
        raise InvalidState(
            _("This evidence item was superseded by a newer one."),
            details={"item": item.pk, "superseded_by": item.superseded_by_id},
        )


def _may_change(actor: User, item: EvidenceItem) -> bool:
    """Who may remove or supersede an item.

    Clients may touch only what the client side uploaded (any user of the case's
    organisation: the merchant is the company, not one login). Staff who review evidence
    may touch any item; other staff (intake) only their own uploads.
    """
    if actor.role == Role.CLIENT:
        return item.source == UploadSource.CLIENT
    return actor.role in EVIDENCE_REVIEWER_ROLES or item.uploaded_by_id == actor.pk


def _summary(item: EvidenceItem) -> dict[str, Any]:
    """What the history keeps about an item: enough to identify it without the file."""
    return {
        "item": item.pk,
        "order": item.order_id,
        "kind": item.kind,
        "original_name": item.original_name,
        "size": item.size,
        "content_type": item.content_type,
        "sha256": item.sha256,
        "source": item.source,
    }


def _duplicate_of(case: Case, order_id: int | None, sha256: str) -> EvidenceItem | None:
    return (
        EvidenceItem.objects.active()
        .filter(case_id=case.pk, order_id=order_id, sha256=sha256)
        .only("pk", "order_id")
        .first()
    )


def _duplicate_error(existing: EvidenceItem) -> DuplicateEvidence:
    if existing.order_id is None:
        message = _("This file is already attached to the case (evidence item %(item)s).")
    else:
        message = _("This file is already attached to this order (evidence item %(item)s).")
    return DuplicateEvidence(message % {"item": existing.pk}, details={"existing_item": existing.pk})


# --- Upload and supersede -----------------------------------------------------------------


@transaction.atomic
def evidence_upload(
    *,
    case_id: int,
    actor: User,
    file: UploadedFile,
    kind: str,
    order_id: int | None = None,
    note: str = "",
    supersedes_id: int | None = None,
    request_id: int | None = None,
) -> EvidenceItem:
    """Attach one file to a flagged order of the case, or to the case as a whole.

    1. Load the case through the actor's scope (404), which must be open (409).
    2. Check the fields together and report every problem at once (400): the kind, the
       order and the request belong to the case, the item to supersede is on the case
       and for the same order, and the file passes ``inspect_upload`` (name, size, type
       by content, extension).
    3. Superseding: the actor must be allowed to change that item (403) and it must
       still count (409). A locked item (in a submitted appeal) can only change this way.
    4. The same bytes already counting for the same order, or for the case when
       case-level, answer 409 ``duplicate_evidence`` naming the existing item.
    5. Store the file under a random name, insert the row, mark the superseded item and
       write the history, all in this transaction. The unique constraint settles a race
       between two identical uploads: the loser gets the same 409, and its file is
       deleted from storage again.
    """
    # Superseding locks the old item: take the case's row first, as submit_appeal does.
    case = _visible_case(actor, case_id, lock=supersedes_id is not None)
    require_case_open(case)

    errors: dict[str, list[str]] = {}
    if kind not in EvidenceKind.values:
        errors["kind"] = [_("Unknown evidence kind.")]
    if order_id is not None and not FlaggedOrder.objects.filter(pk=order_id, case_id=case.pk).exists():
        errors["order"] = [_("No flagged order with this id on this case.")]
    if request_id is not None and not EvidenceRequest.objects.filter(pk=request_id, case_id=case.pk).exists():
        errors["request"] = [_("No evidence request with this id on this case.")]
    superseded: EvidenceItem | None = None
    if supersedes_id is not None:
        superseded = (
            EvidenceItem.objects.select_for_update(of=("self",)).filter(pk=supersedes_id, case_id=case.pk).first()
        )
        if superseded is None:
            errors["supersedes"] = [_("No evidence item with this id on this case.")]
        elif superseded.order_id != order_id:
            errors["supersedes"] = [_("A new item can only supersede an item for the same order.")]
    inspected = None
    try:
        inspected = inspect_upload(file)
    except InvalidInput as exc:
        errors.update(exc.details.get("fields", {}))
    if errors or inspected is None:
        raise InvalidInput(details={"fields": errors})

    if superseded is not None:
        if not _may_change(actor, superseded):
            raise NotAllowed(_("You may not supersede this evidence item."))
        _require_active(superseded)

    existing = _duplicate_of(case, order_id, inspected.sha256)
    if existing is not None:
        raise _duplicate_error(existing)

    now = timezone.now()
    item = EvidenceItem(
        case=case,
        order_id=order_id,
        kind=kind,
        original_name=inspected.name,
        size=inspected.size,
        content_type=inspected.content_type,
        sha256=inspected.sha256,
        note=note,
        source=UploadSource.CLIENT if actor.role == Role.CLIENT else UploadSource.STAFF,
        uploaded_by=actor,
        uploaded_at=now,
        request_id=request_id,
    )
    # The name passed here is ignored by upload_to (random_name): the user's name never
    # reaches the file system. A streamed upload is moved into place, not copied.
    item.file.save(inspected.name, file, save=False)
    try:
        try:
            with transaction.atomic():
                item.save()
        except IntegrityError:
            existing = _duplicate_of(case, order_id, inspected.sha256)
            if existing is None:
                raise
            raise _duplicate_error(existing) from None
        upload_value = {**_summary(item), "supersedes": superseded.pk if superseded else None}
        record_case_event(case=case, actor=actor, kind=EventKind.EVIDENCE_UPLOADED, new_value=upload_value)
        if superseded is not None:
            _mark_superseded(case=case, actor=actor, old=superseded, new=item, now=now)
        # An upload that matches what the agency asked for fulfils that request item.
        request_items_fulfil(item=item, actor=actor)
        # Read and compared with its order in the background once this commits (evidence.checks).
        checks_queue([item])
    except BaseException:
        # Nothing of a refused upload stays behind, in the database or in storage.
        item.file.delete(save=False)
        raise
    return item


def _mark_superseded(*, case: Case, actor: User, old: EvidenceItem, new: EvidenceItem, now: Any) -> None:
    claimed = EvidenceItem.objects.filter(pk=old.pk, superseded_by__isnull=True, removed_at__isnull=True).update(
        superseded_by=new, superseded_at=now
    )
    if claimed != 1:
        raise Conflict(_("The item was superseded or removed meanwhile; reload and try again."))
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.EVIDENCE_SUPERSEDED,
        old_value={
            "item": old.pk,
            "sha256": old.sha256,
            "review_state": old.review_state,
            "locked": old.is_locked,
        },
        new_value={"item": new.pk, "sha256": new.sha256},
    )


# --- Review --------------------------------------------------------------------------------


@transaction.atomic
def evidence_review(*, item_id: int, actor: User, decision: str, reason: str = "") -> EvidenceItem:
    """Accept an item, or reject it with a reason the client will see.

    Evidence reviewers, case managers, supervisors and administrators who can see the
    case may review (others 403, clients included). The item must still count and must
    not be locked in a submitted appeal (409); an unlocked item may be reviewed again.
    """
    item = _visible_item(actor, item_id)
    if actor.role not in EVIDENCE_REVIEWER_ROLES:
        raise NotAllowed(_("Only evidence reviewers, case managers, supervisors and administrators review evidence."))
    require_case_open(item.case)
    _require_active(item)
    if item.is_locked:
        raise InvalidState(
            _("This item went into a submitted appeal; its review can no longer change."),
            details={"item": item.pk},
        )
    reason = reason.strip()
    if decision not in ReviewDecision.CHOICES:
        raise InvalidInput(details={"fields": {"decision": [_("Choose accept or reject.")]}})
    if decision == ReviewDecision.REJECT and not reason:
        raise InvalidInput(details={"fields": {"reason": [_("Say why the item is rejected, so it can be fixed.")]}})

    old_value = {"item": item.pk, "review_state": item.review_state, "reason": item.review_reason}
    item.review_state = ReviewState.ACCEPTED if decision == ReviewDecision.ACCEPT else ReviewState.REJECTED
    item.review_reason = reason
    item.reviewed_by = actor
    item.reviewed_at = timezone.now()
    item.save(update_fields=["review_state", "review_reason", "reviewed_by", "reviewed_at"])
    record_case_event(
        case=item.case,
        actor=actor,
        kind=EventKind.EVIDENCE_REVIEWED,
        old_value=old_value,
        new_value={"item": item.pk, "order": item.order_id, "kind": item.kind, "review_state": item.review_state},
        reason=reason,
    )
    # A rejected item no longer answers a request; an accepted one (again) does.
    if item.review_state == ReviewState.REJECTED:
        request_items_reopen(item=item, actor=actor)
    else:
        request_items_fulfil(item=item, actor=actor)
    return item


@transaction.atomic
def evidence_accept_matching(*, case_id: int, actor: User, kind: str | None = None) -> list[EvidenceItem]:
    """Accept, in one action, every pending item of the case whose checks all match its order.

    The same people as ``evidence_review``, on an open case. Only items that count, are
    not locked in a submitted appeal and whose check is done with the outcome ``match``
    (every check of one of the kind's groups matched and none contradicted the order)
    are taken; ``kind`` narrows it to one evidence kind. Each acceptance gets its own
    history row, with the reviewer and the reason "checks matched". A mismatch blocks
    nothing: those items wait for a person, as do items not checked yet.
    """
    case = _visible_case(actor, case_id, lock=True)
    if actor.role not in EVIDENCE_REVIEWER_ROLES:
        raise NotAllowed(_("Only evidence reviewers, case managers, supervisors and administrators review evidence."))
    require_case_open(case)
    if kind is not None and kind not in EvidenceKind.values:
        raise InvalidInput(details={"fields": {"kind": [_("Unknown evidence kind.")]}})
    items = (
        EvidenceItem.objects.active()
        .select_for_update(of=("self",))
        .filter(
            case_id=case.pk,
            review_state=ReviewState.PENDING,
            first_submitted_in__isnull=True,
            evidence_check__state=CheckState.DONE,
            evidence_check__outcome=CheckOutcome.MATCH,
        )
        .order_by("pk")
    )
    if kind is not None:
        items = items.filter(kind=kind)
    accepted = list(items)
    now = timezone.now()
    reason = system_reason(ReasonCode.CHECKS_MATCHED)
    with history_batch():
        for item in accepted:
            item.review_state, item.review_reason = ReviewState.ACCEPTED, ""
            item.reviewed_by, item.reviewed_at = actor, now
            record_case_event(
                case=case,
                actor=actor,
                kind=EventKind.EVIDENCE_REVIEWED,
                old_value={"item": item.pk, "review_state": ReviewState.PENDING, "reason": ""},
                new_value={
                    "item": item.pk,
                    "order": item.order_id,
                    "kind": item.kind,
                    "review_state": item.review_state,
                },
                reason=reason,
            )
    EvidenceItem.objects.bulk_update(accepted, ["review_state", "review_reason", "reviewed_by", "reviewed_at"])
    request_items_fulfil_many(case=case, items=accepted, actor=actor)
    return accepted


# --- Removal -------------------------------------------------------------------------------


@transaction.atomic
def evidence_remove(*, item_id: int, actor: User, reason: str) -> EvidenceItem:
    """Take an item out of the case, keeping the row and the file for the history.

    Clients may remove what the client side uploaded; staff reviewers any item; other
    staff their own uploads (403 otherwise). An item locked in a submitted appeal can
    never be removed, only superseded (409); so can an item that no longer counts.
    """
    item = _visible_item(actor, item_id)
    if not _may_change(actor, item):
        raise NotAllowed(_("You may not remove this evidence item."))
    require_case_open(item.case)
    _require_active(item)
    if item.is_locked:
        raise InvalidState(
            _("This item went into a submitted appeal and cannot be removed; upload a new item that supersedes it."),
            details={"item": item.pk},
        )
    reason = reason.strip()
    if not reason:
        raise InvalidInput(details={"fields": {"reason": [_("Say why the item is removed.")]}})

    item.removed_at = timezone.now()
    item.removed_by = actor
    item.removal_reason = reason
    item.save(update_fields=["removed_at", "removed_by", "removal_reason"])
    record_case_event(
        case=item.case,
        actor=actor,
        kind=EventKind.EVIDENCE_REMOVED,
        old_value=_summary(item),
        new_value={"item": item.pk, "removed": True},
        reason=reason,
    )
    request_items_reopen(item=item, actor=actor)
    return item
