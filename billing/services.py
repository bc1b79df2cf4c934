"""Write-side operations on fee quotes: staff propose and withdraw, the client accepts or rejects.

A supervisor or administrator may record the client's decision on their behalf (for
example when the client agreed by phone), with a note saying so; the history shows who.
The client's users are told of a new quote; the case's assignee (or, with nobody
assigned, the supervisors) is told of the client's decision.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import Role, User
from agency.accounts.permissions import require_role
from agency.errors import Conflict, InvalidInput, InvalidState, NotAllowed, NotFound
from billing.models import FeeModel, FeeQuote, QuoteStatus
from billing.selectors import current_quote
from cases.history import record_case_event
from cases.models import Assessment, Case, CaseState, EventKind, FlaggedOrder, Recommendation
from cases.permissions import CASE_WORKERS
from cases.selectors import case_for_actor
from workflows.models import NotificationKind
from workflows.notifications import notify

# Roles that may record a client's decision on a quote on the client's behalf.
ON_BEHALF_ROLES = (Role.SUPERVISOR, Role.ADMINISTRATOR)
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
# FeeQuote.quoted_total holds 14 digits with 2 decimals.
QUOTED_TOTAL_LIMIT = Decimal("1000000000000")
CLIENT_NOTE_LIMIT = 5_000
DECISION_NOTE_LIMIT = 5_000


def quoted_total(case: Case, fee_model: str, amount: Decimal) -> Decimal:
    """The most the client can owe: per order, every order in the appeal cleared."""
    if fee_model == FeeModel.PER_ORDER_CLEARED:
        orders = FlaggedOrder.objects.filter(case_id=case.pk, excluded_at__isnull=True).count()
        return amount * orders
    return amount


def quote_event_values(quote: FeeQuote) -> dict[str, object]:
    """What a quote's history row (and so its webhook event) says: the quote's terms, nothing internal."""
    return {
        "quote": quote.pk,
        "version": quote.version,
        "fee_model": quote.fee_model,
        "amount": str(quote.amount),
        "currency": quote.currency,
        "refund_if_failed": quote.refund_if_failed,
        "quoted_total": str(quote.quoted_total),
        "status": quote.status,
    }


def _client_users(case: Case) -> list[User]:
    return list(
        User.objects.filter(
            role=Role.CLIENT, is_active=True, api_key__isnull=True, memberships__organisation_id=case.organisation_id
        )
        .distinct()
        .order_by("pk")
    )


def _staff_to_tell(case: Case, actor: User) -> list[User]:
    """The assignee, or the supervisors when nobody is assigned; never the person who acted."""
    if case.assignee_id is not None:
        staff = User.objects.filter(pk=case.assignee_id)
    else:
        staff = User.objects.filter(role=Role.SUPERVISOR)
    return list(staff.filter(is_active=True, api_key__isnull=True).exclude(pk=actor.pk).order_by("pk"))


def _check_terms(
    *, fee_model: str, amount: Decimal | None, currency: str, refund_if_failed: bool, client_note: str
) -> None:
    errors: dict[str, list[str]] = {}
    if fee_model not in FeeModel.values:
        errors["fee_model"] = [_("Give flat, per_order_cleared or per_case_won.")]
    if amount is None or not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        errors["amount"] = [_("The amount must be more than zero.")]
    elif amount.as_tuple().exponent < -2:  # type: ignore[operator]
        errors["amount"] = [_("Give at most two decimal places.")]
    if not isinstance(currency, str) or not CURRENCY_PATTERN.match(currency):
        errors["currency"] = [_("Give a three-letter currency code, for example CNY.")]
    if refund_if_failed and fee_model != FeeModel.FLAT:
        errors["refund_if_failed"] = [
            _("Only a flat fee can be refunded: a success fee is not charged when the appeal fails.")
        ]
    if len(client_note) > CLIENT_NOTE_LIMIT:
        errors["client_note"] = [_("At most %(limit)d characters.") % {"limit": CLIENT_NOTE_LIMIT}]
    if errors:
        raise InvalidInput(details={"fields": errors})


@transaction.atomic
def quote_propose(
    *,
    case_id: int,
    actor: User,
    fee_model: str,
    amount: Decimal,
    currency: str = "CNY",
    refund_if_failed: bool = False,
    client_note: str = "",
) -> FeeQuote:
    """Propose a quote to the client; it replaces (withdraws) a quote still waiting or accepted."""
    require_role(actor, CASE_WORKERS)
    case = case_for_actor(actor=actor, case_id=case_id, lock=True)
    if case.state != CaseState.ASSESSMENT:
        raise InvalidState(_("A fee quote can be proposed only during assessment."), details={"state": case.state})
    client_note = (client_note or "").strip()
    _check_terms(
        fee_model=fee_model,
        amount=amount,
        currency=currency,
        refund_if_failed=refund_if_failed,
        client_note=client_note,
    )
    # Stored with two decimals; normalised now so the history and the notification say the same.
    amount = amount.quantize(Decimal("0.01"))
    total = quoted_total(case, fee_model, amount)
    if total >= QUOTED_TOTAL_LIMIT:
        raise InvalidInput(details={"fields": {"amount": [_("The quoted total is too large.")]}})
    assessment = Assessment.objects.filter(case_id=case.pk).first()
    if assessment is None or assessment.recommendation != Recommendation.TAKE:
        raise InvalidState(
            _("Record an assessment that recommends taking the case before quoting a fee."),
            details={"code": "assessment_required"},
        )
    previous = current_quote(case)
    if previous is not None:
        previous.status = QuoteStatus.WITHDRAWN
        previous.save(update_fields=["status"])
        record_case_event(
            case=case,
            actor=actor,
            kind=EventKind.QUOTE_WITHDRAWN,
            new_value={**quote_event_values(previous), "replaced": True},
            client_visible=True,
        )
    version = (FeeQuote.objects.filter(case_id=case.pk).aggregate(last=Max("version"))["last"] or 0) + 1
    quote = FeeQuote.objects.create(
        case=case,
        version=version,
        fee_model=fee_model,
        amount=amount,
        currency=currency,
        refund_if_failed=refund_if_failed,
        quoted_total=total,
        client_note=client_note,
        proposed_by=actor,
    )
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.QUOTE_PROPOSED,
        new_value=quote_event_values(quote),
        client_visible=True,
    )
    notify(
        recipients=_client_users(case),
        kind=NotificationKind.QUOTE_PROPOSED,
        case=case,
        deadline=None,
        params={
            "reference": case.reference,
            "fee_model": quote.fee_model,
            "amount": str(quote.amount),
            "currency": quote.currency,
            "quoted_total": str(quote.quoted_total),
            "refund_if_failed": quote.refund_if_failed,
        },
        dedupe_key=f"quote:{quote.pk}:proposed",
    )
    return quote


def _quote_case(*, quote_id: int, actor: User) -> tuple[Case, FeeQuote]:
    """The quote's case, locked (404 if the actor cannot see it), then the quote, locked: case first."""
    case_id = FeeQuote.objects.filter(pk=quote_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise NotFound()
    case = case_for_actor(actor=actor, case_id=case_id, lock=True)
    return case, FeeQuote.objects.select_for_update().get(pk=quote_id)


@transaction.atomic
def quote_withdraw(*, quote_id: int, actor: User, reason: str = "") -> FeeQuote:
    """Take back a quote the client has not decided on yet (during assessment only)."""
    require_role(actor, CASE_WORKERS)
    case, quote = _quote_case(quote_id=quote_id, actor=actor)
    if case.state != CaseState.ASSESSMENT:
        raise InvalidState(_("A fee quote can be withdrawn only during assessment."), details={"state": case.state})
    if quote.status != QuoteStatus.PROPOSED:
        raise InvalidState(
            _("Only a quote still waiting for the client can be withdrawn."), details={"status": quote.status}
        )
    reason = (reason or "").strip()
    if len(reason) > DECISION_NOTE_LIMIT:
        raise InvalidInput(
            details={"fields": {"reason": [_("At most %(limit)d characters.") % {"limit": DECISION_NOTE_LIMIT}]}}
        )
    quote.status = QuoteStatus.WITHDRAWN
    quote.save(update_fields=["status"])
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.QUOTE_WITHDRAWN,
        new_value={**quote_event_values(quote), "replaced": False},
        reason=reason,
        client_visible=True,
    )
    return quote


def _decide(
    *, quote_id: int, actor: User, accept: bool, note: str = "", expected_version: int | None = None
) -> FeeQuote:
    """Record the client's decision, by a client user of the case or a supervisor on their behalf.

    ``expected_version`` is the version the client was shown: if a newer quote has been
    proposed since, the decision is refused (409) so nobody accepts terms they did not see.
    """
    if actor.role != Role.CLIENT and actor.role not in ON_BEHALF_ROLES:
        raise NotAllowed()
    case, locked = _quote_case(quote_id=quote_id, actor=actor)
    latest = FeeQuote.objects.filter(case_id=case.pk).aggregate(last=Max("version"))["last"]
    if expected_version is not None and expected_version != latest:
        raise Conflict(
            _("A newer quote replaced the one you saw; reload it."),
            details={"expected_version": expected_version, "current_version": latest},
        )
    if locked.status != QuoteStatus.PROPOSED or case.state != CaseState.ASSESSMENT:
        raise InvalidState(
            _("This quote is no longer waiting for a decision."), details={"status": locked.status, "state": case.state}
        )
    note = (note or "").strip()
    if actor.role != Role.CLIENT and not note:
        raise InvalidInput(
            details={"fields": {"note": [_("Say how the client gave this decision (for example by phone).")]}}
        )
    if len(note) > DECISION_NOTE_LIMIT:
        raise InvalidInput(
            details={"fields": {"note": [_("At most %(limit)d characters.") % {"limit": DECISION_NOTE_LIMIT}]}}
        )
    locked.status = QuoteStatus.ACCEPTED if accept else QuoteStatus.REJECTED
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.decision_note = note
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.QUOTE_ACCEPTED if accept else EventKind.QUOTE_REJECTED,
        new_value={**quote_event_values(locked), "on_behalf_of_client": actor.role != Role.CLIENT},
        reason=note,
        client_visible=True,
    )
    notify(
        recipients=_staff_to_tell(case, actor),
        kind=NotificationKind.QUOTE_DECIDED,
        case=case,
        deadline=None,
        params={
            "reference": case.reference,
            "decision": locked.status,
            "version": locked.version,
            "note": note,
        },
        dedupe_key=f"quote:{locked.pk}:decided",
    )
    return locked


@transaction.atomic
def quote_accept(*, quote_id: int, actor: User, note: str = "", expected_version: int | None = None) -> FeeQuote:
    return _decide(quote_id=quote_id, actor=actor, accept=True, note=note, expected_version=expected_version)


@transaction.atomic
def quote_reject(*, quote_id: int, actor: User, note: str = "", expected_version: int | None = None) -> FeeQuote:
    return _decide(quote_id=quote_id, actor=actor, accept=False, note=note, expected_version=expected_version)
