"""Evidence checks: read every evidence file and compare it with its order, in the background.

Every new item gets an ``EvidenceCheck`` in the transaction that stores it, and a Celery
task (``evidence.check_item``, on its own queue) once that transaction commits. The task:

1. takes the check under a lease (a token and a time limit), or leaves it when another
   worker holds it;
2. reads the file (evidence.reading), unless it was read before: a re-check compares the
   text kept from the first reading;
3. compares the text with the order by the kind's rule (evidence.comparing);
4. writes the text, the outcome and the findings in one transaction, and only if it still
   holds the lease: a worker that died mid-check, or ran out of time and lost the item to
   another, writes nothing, so the findings are written once.

A check whose order or rule changed while it was being read (``generation`` moved on) is
compared again. Beat runs ``checks_resume`` every minute: a check whose worker died (lease
run out) or whose task was lost is queued again; after EVIDENCE_CHECK_MAX_ATTEMPTS the
file is given up as unreadable.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import User
from agency.accounts.permissions import require_role
from agency.errors import InvalidInput, NotFound
from cases.kinds import EvidenceKind
from cases.models import OPEN_STATES, FlaggedOrder
from evidence import comparing, reading
from evidence.keywords import KEYWORD_EDITORS
from evidence.models import (
    CheckName,
    CheckOutcome,
    CheckState,
    EvidenceCheck,
    EvidenceCheckRule,
    EvidenceFinding,
    EvidenceItem,
    ReadMethod,
)

logger = logging.getLogger(__name__)

# A check not taken up this many leases after it was queued lost its task: it is queued again.
LOST_AFTER_LEASES = 6
# At most this many checks are sent again per sweep (a backlog drains over several minutes).
RESUME_BATCH = 1000


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.EVIDENCE_CHECK_LEASE_SECONDS)


# --- Queueing ----------------------------------------------------------------------------------------


def _send(check_ids: Sequence[int]) -> None:
    from evidence.tasks import check_item  # the task module imports this one

    for check_id in check_ids:
        check_item.delay(check_id)


def checks_queue(items: Iterable[EvidenceItem]) -> list[EvidenceCheck]:
    """A check for each new item, in the caller's transaction; the tasks go when it commits."""
    checks = EvidenceCheck.objects.bulk_create([EvidenceCheck(item=item) for item in items])
    ids = [check.pk for check in checks]
    transaction.on_commit(lambda: _send(ids), robust=True)
    return checks


def checks_recheck(items: QuerySet[EvidenceItem]) -> int:
    """Compare these items again (their order or rule changed), in the background; the text is not read again."""
    checks = EvidenceCheck.objects.filter(item__in=items.values("pk"))
    checks.update(state=CheckState.QUEUED, generation=F("generation") + 1, requested_at=timezone.now())
    ids = list(checks.values_list("pk", flat=True))
    transaction.on_commit(lambda: _send(ids), robust=True)
    return len(ids)


def checks_recheck_orders(order_ids: Iterable[int]) -> int:
    """An order's tracking number, courier or buyer changed: its items are compared again."""
    return checks_recheck(EvidenceItem.objects.filter(order_id__in=list(order_ids)))


def checks_resume(*, send: Callable[[Sequence[int]], None] | None = None) -> list[int]:
    """Queue again each check whose worker died (lease run out) or whose task was lost; give up on repeat failures."""
    now = timezone.now()
    waiting = EvidenceCheck.objects.filter(state=CheckState.QUEUED)
    stale = waiting.filter(
        Q(lease_until__lt=now) | Q(lease_until__isnull=True, requested_at__lt=now - LOST_AFTER_LEASES * _lease())
    )
    for check_id in stale.filter(attempts__gte=settings.EVIDENCE_CHECK_MAX_ATTEMPTS).values_list("pk", flat=True):
        _give_up(check_id)
    retry = stale.filter(attempts__lt=settings.EVIDENCE_CHECK_MAX_ATTEMPTS).order_by("requested_at", "pk")
    ids = list(retry.values_list("pk", flat=True)[:RESUME_BATCH])
    # Marked as sent now: each goes again only if it is still not taken up LOST_AFTER_LEASES later.
    EvidenceCheck.objects.filter(pk__in=ids, state=CheckState.QUEUED).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    ).update(requested_at=now, lease_until=None, lease_token="")
    (send or _send)(ids)
    return ids


# --- Running one check --------------------------------------------------------------------------------


def _claim(check_id: int) -> tuple[EvidenceCheck, str] | None:
    """Take the check under a new lease, or None when it is done, gone, or held by a live worker."""
    now = timezone.now()
    with transaction.atomic():
        check = (
            EvidenceCheck.objects.select_for_update(of=("self",))
            .select_related("item", "item__order")
            .filter(pk=check_id)
            .first()
        )
        if check is None or check.state != CheckState.QUEUED:
            return None
        if check.lease_until is not None and check.lease_until > now:
            return None
        token = uuid.uuid4().hex
        check.lease_token, check.lease_until = token, now + _lease()
        check.attempts += 1
        check.save(update_fields=["lease_token", "lease_until", "attempts"])
    return check, token


def order_facts(order: FlaggedOrder) -> comparing.OrderFacts:
    zone = timezone.get_default_timezone()
    return comparing.OrderFacts(
        platform_order_id=order.platform_order_id,
        order_time=order.order_time.astimezone(zone),
        amount=order.amount,
        buyer_handle=order.buyer_handle,
        courier=order.courier,
        tracking_number=order.tracking_number,
    )


def rule_for(kind: str) -> comparing.Rule | None:
    row = EvidenceCheckRule.objects.filter(kind=kind).first()
    return comparing.Rule(groups=row.groups, window_hours=row.window_hours) if row is not None else None


def _read(check: EvidenceCheck, *, renew: Callable[[], None]) -> reading.Reading:
    item = check.item
    try:
        with item.file.open("rb") as file:
            return reading.read_file(file, item.content_type, on_page=renew)
    except OSError as exc:  # the stored file is missing or storage failed: try again later
        raise RuntimeError(f"evidence file of item {item.pk} could not be opened: {exc}") from exc


def check_run(check_id: int) -> bool:
    """Read (if not yet read) and compare one item; True when this call wrote its findings."""
    claimed = _claim(check_id)
    if claimed is None:
        return False
    check, token = claimed
    try:
        fresh = _read(check, renew=lambda: _renew(check_id, token)) if check.read_at is None else None
        if fresh is not None:
            text = comparing.Text(fresh.pages)
            readable = not fresh.error
        else:
            text = comparing.Text.parse(check.text)
            readable = not check.read_error
        outcome, findings = _compare(check.item, text, readable=readable)
        return _write(check_id, token, check.generation, fresh, outcome, findings)
    except BaseException:
        # Let go at once (the lease ends now): a retry, or the next sweep, takes the check up again.
        EvidenceCheck.objects.filter(pk=check_id, lease_token=token).update(lease_until=timezone.now())
        raise


def _renew(check_id: int, token: str) -> None:
    """Still reading (a long PDF): hold the check for another lease, if it is still this worker's."""
    EvidenceCheck.objects.filter(pk=check_id, lease_token=token).update(lease_until=timezone.now() + _lease())


def _compare(item: EvidenceItem, text: comparing.Text, *, readable: bool) -> tuple[str, list[comparing.Finding]]:
    if item.order is None:
        return CheckOutcome.UNCHECKED, []  # case-level evidence has no order to compare with
    return comparing.compare(order_facts(item.order), text, rule_for(item.kind), readable=readable)


def _write(
    check_id: int,
    token: str,
    generation: int,
    fresh: reading.Reading | None,
    outcome: str,
    findings: list[comparing.Finding],
    *,
    read: bool = True,
) -> bool:
    """Write the reading (if any) and the findings, if this worker still holds the check.

    ``read=False``: the reading is a failure to be shown but not kept as the file's text,
    so that a later re-check reads the file again.
    """
    now = timezone.now()
    with transaction.atomic():
        check = EvidenceCheck.objects.select_for_update().filter(pk=check_id).first()
        if check is None or check.lease_token != token:
            logger.info("evidence check %s was taken over by another worker; its reading is dropped", check_id)
            return False
        fields = ["state", "outcome", "checked_at", "lease_token", "lease_until", "attempts"]
        if fresh is not None:
            check.method = fresh.method
            check.text = fresh.text  # control characters were dropped while reading
            check.pages_read, check.pages_total = len(fresh.pages), fresh.pages_total
            check.read_error = fresh.error[:200]
            check.read_at = now if read else None
            fields += ["method", "text", "pages_read", "pages_total", "read_error", "read_at"]
        check.findings.all().delete()
        EvidenceFinding.objects.bulk_create(
            EvidenceFinding(
                evidence_check=check,
                name=finding.name,
                result=finding.result,
                expected=finding.expected,
                found=finding.found,
                snippet=finding.snippet,
                page=finding.page,
                line=finding.line,
            )
            for finding in findings
        )
        check.outcome, check.checked_at = outcome, now
        check.lease_token, check.lease_until = "", None
        # The order or the rule changed while this worker read: compare again with what they are now.
        again = check.generation != generation
        check.state = CheckState.QUEUED if again else CheckState.DONE
        check.attempts = 0
        check.save(update_fields=fields)
        if again:
            transaction.on_commit(lambda: _send([check_id]), robust=True)
    return True


def _give_up(check_id: int) -> None:
    """A file whose reading failed or killed the worker every time: unreadable, for people to look at.

    Its text, if an earlier reading kept one, stays and is compared; otherwise the file
    counts as not read, so that a re-check (the order or the rule changed) tries it again.
    """
    now = timezone.now()
    with transaction.atomic():
        check = (
            EvidenceCheck.objects.select_for_update(of=("self",)).select_related("item", "item__order").get(pk=check_id)
        )
        if check.state != CheckState.QUEUED or (check.lease_until is not None and check.lease_until > now):
            return  # done meanwhile, or a worker took it up after all
        token = uuid.uuid4().hex
        check.lease_token = token
        check.save(update_fields=["lease_token"])
        logger.warning("evidence check %s given up after %s attempts", check_id, check.attempts)
        if check.read_at is not None:
            outcome, findings = _compare(check.item, comparing.Text.parse(check.text), readable=not check.read_error)
            _write(check_id, token, check.generation, None, outcome, findings)
            return
        outcome, findings = _compare(check.item, comparing.Text(), readable=False)
        failure = reading.Reading(
            ReadMethod.NONE, error=f"reading stopped without a result {check.attempts} times; it is not tried again"
        )
        _write(check_id, token, check.generation, failure, outcome, findings, read=False)


# --- Rules ----------------------------------------------------------------------------------------------


def rule_problems(groups: Any, window_hours: Any) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not isinstance(groups, list) or not all(isinstance(group, list) for group in groups):
        problems["groups"] = [_("Give a list of groups, each a list of check names.")]
    else:
        unknown = sorted({str(name) for group in groups for name in group} - set(CheckName.values))
        if unknown:
            problems["groups"] = [_("Unknown checks: %(names)s.") % {"names": ", ".join(unknown)}]
        elif any(not group for group in groups):
            problems["groups"] = [_("A group names no check; leave it out.")]
        elif any(len(set(group)) != len(group) for group in groups):
            problems["groups"] = [_("A group names a check twice.")]
    if not isinstance(window_hours, int) or isinstance(window_hours, bool) or not 1 <= window_hours <= 24 * 366:
        problems["window_hours"] = [_("Give a whole number of hours from 1 to 8784.")]
    return problems


@transaction.atomic
def rule_update(*, actor: User, kind: str, groups: Any, window_hours: Any) -> EvidenceCheckRule:
    """Change how one kind is checked (administrators); its items in open cases are compared again."""
    require_role(actor, KEYWORD_EDITORS, message=_("Only administrators change the evidence checks."))
    if kind not in EvidenceKind.values:
        raise NotFound()
    problems = rule_problems(groups, window_hours)
    if problems:
        raise InvalidInput(details={"fields": problems})
    rule, _created = EvidenceCheckRule.objects.select_for_update().get_or_create(kind=kind)
    rule.groups = [list(group) for group in groups]
    rule.window_hours = window_hours
    rule.updated_at = timezone.now()
    rule.updated_by = actor
    rule.save()
    checks_recheck(EvidenceItem.objects.filter(kind=kind, case__state__in=OPEN_STATES))
    return rule
