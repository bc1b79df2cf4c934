"""Read-side queries for fee quotes."""

from __future__ import annotations

from django.db.models import QuerySet

from agency.accounts.models import User
from agency.errors import NotAllowed, NotFound
from billing.models import CURRENT_STATUSES, FeeQuote, QuoteStatus
from cases.models import Case
from cases.selectors import case_for_actor, case_visible_to, portal_case_get


def has_accepted_quote(case: Case) -> bool:
    return FeeQuote.objects.filter(case_id=case.pk, status=QuoteStatus.ACCEPTED).exists()


def current_quote(case: Case) -> FeeQuote | None:
    """The quote waiting for the client or accepted by them, if any."""
    return FeeQuote.objects.filter(case_id=case.pk, status__in=CURRENT_STATUSES).first()


def quotes_of(case: Case) -> QuerySet[FeeQuote]:
    return FeeQuote.objects.filter(case_id=case.pk).order_by("version")


def quotes_for_staff(*, user: User, case_id: int) -> QuerySet[FeeQuote]:
    """Every version of a case's quotes, for staff who can see the case (404 otherwise)."""
    if not user.is_agency_staff:
        raise NotAllowed()
    case = case_for_actor(actor=user, case_id=case_id)
    return quotes_of(case).select_related("proposed_by", "decided_by")


def quote_for_staff(*, user: User, quote_id: int) -> FeeQuote:
    quote = FeeQuote.objects.filter(pk=quote_id).select_related("proposed_by", "decided_by").first()
    if quote is None or not user.is_agency_staff or not case_visible_to(user).filter(pk=quote.case_id).exists():
        raise NotFound()
    return quote


def quotes_for_client(*, user: User, case_id: int) -> QuerySet[FeeQuote]:
    """A case's quotes as its client sees them (404 for another organisation's case)."""
    case = portal_case_get(user=user, case_id=case_id)
    return quotes_of(case)


def quote_for_client(*, user: User, quote_id: int) -> FeeQuote:
    quote = FeeQuote.objects.filter(pk=quote_id, case__organisation__memberships__user_id=user.pk).first()
    if quote is None:
        raise NotFound()
    return quote
