"""Fixtures the reports tests share: the business time zone, and small hand-built data for each report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from agency.accounts.models import User
from agency.organisations.models import Shop
from billing.models import FeeQuote
from cases.models import Case, CaseState, CaseStateSpan
from tests.reports.helpers import EARLY_FEBRUARY, LATE_JANUARY, UTC
from workflows.models import Deadline


@pytest.fixture(autouse=True)
def _business_zone(settings: Any) -> None:
    settings.BUSINESS_TIME_ZONE = "Asia/Shanghai"


@pytest.fixture
def case_at(make_case: Callable[..., Case]) -> Callable[..., Case]:
    """A case put straight into a state with stored numbers (reports read them; they do not walk)."""

    def make(shop: Shop, *, state: str = CaseState.INTAKE, **fields: Any) -> Case:
        violation_type = fields.pop("violation_type", "fake_transaction")
        case = make_case(shop, orders=1, violation_type=violation_type)
        Case.objects.filter(pk=case.pk).update(state=state, **fields)
        case.refresh_from_db()
        return case

    return make


@pytest.fixture
def state_cases(case_at: Callable[..., Case], blossom_shop: Shop, star_shop: Shop) -> None:
    case_at(blossom_shop, state=CaseState.INTAKE, created_at=LATE_JANUARY)
    case_at(blossom_shop, state=CaseState.ASSESSMENT, created_at=LATE_JANUARY)
    case_at(blossom_shop, state=CaseState.ASSESSMENT, created_at=EARLY_FEBRUARY, violation_type="counterfeit")
    case_at(star_shop, state=CaseState.CLOSED, created_at=EARLY_FEBRUARY)


@pytest.fixture
def outcomes(case_at: Callable[..., Case], blossom_shop: Shop, star_shop: Shop) -> None:
    resolved = CaseState.RESOLVED
    case_at(
        blossom_shop, state=resolved, outcome="accepted", outcome_at=LATE_JANUARY, orders_cleared=3, orders_upheld=0
    )
    case_at(
        blossom_shop,
        state=resolved,
        outcome="partially_accepted",
        outcome_at=EARLY_FEBRUARY,
        orders_cleared=2,
        orders_upheld=2,
    )
    case_at(
        blossom_shop,
        state=CaseState.CLOSED,
        outcome="rejected",
        outcome_at=dt.datetime(2026, 2, 10, tzinfo=UTC),
        orders_cleared=0,
        orders_upheld=5,
    )
    case_at(
        star_shop,
        state=resolved,
        violation_type="counterfeit",
        outcome="accepted",
        outcome_at=dt.datetime(2026, 3, 1, 4, tzinfo=UTC),
        orders_cleared=1,
        orders_upheld=0,
    )
    case_at(blossom_shop, state=CaseState.SUBMITTED)  # no outcome yet: not counted


def _spans(case: Case, state: str, seconds: list[int]) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    for length in seconds:
        CaseStateSpan.objects.create(
            case=case,
            state=state,
            entered_at=start,
            left_at=start + dt.timedelta(seconds=length),
            seconds=length,
        )


@pytest.fixture
def spans(case_at: Callable[..., Case], blossom_shop: Shop, star_shop: Shop) -> None:
    blossom = case_at(blossom_shop, state=CaseState.RESOLVED)
    star = case_at(star_shop, state=CaseState.SUBMITTED)
    _spans(blossom, "intake", [10800, 3600])
    _spans(star, "intake", [7200])  # intake: 1, 2, 3 hours (odd count)
    _spans(blossom, "assessment", [36000, 3600, 14400, 7200])  # 1, 2, 4, 10 hours (even count)
    _spans(star, "evidence", [1800])
    _spans(blossom, "declined", [99999])  # terminal states are left out
    # Each case also has its open intake span from make_case (it never left): not measured.
    assert CaseStateSpan.objects.filter(case__in=[blossom, star], left_at__isnull=True).count() == 2


def _deadline(case: Case, kind: str, *, due: dt.timedelta | None, **fields: Any) -> Deadline:
    now = timezone.now()
    return Deadline.objects.create(
        case=case, kind=kind, starts_at=now - dt.timedelta(days=3), due_at=now + due if due else None, **fields
    )


@pytest.fixture
def deadlines(case_at: Callable[..., Case], blossom_shop: Shop, star_shop: Shop, manager: User) -> None:
    hour = dt.timedelta(hours=1)
    mine = case_at(blossom_shop, state=CaseState.EVIDENCE, assignee=manager)
    nobody = case_at(star_shop, state=CaseState.SUBMITTED)
    closed = case_at(blossom_shop, state=CaseState.CLOSED, assignee=manager)
    _deadline(mine, "client_evidence_request", due=-hour)  # open, past due
    _deadline(mine, "client_evidence_request", due=-2 * hour)
    _deadline(mine, "platform_supplement", due=-hour, status="missed")  # missed, not made good
    _deadline(mine, "platform_supplement", due=-hour, status="missed", met_at=timezone.now())  # made good late
    _deadline(mine, "client_evidence_request", due=hour)  # not due yet
    _deadline(mine, "platform_supplement", due=None)  # paused clock
    _deadline(mine, "recovery_check_in", due=-hour, status="cancelled")
    _deadline(nobody, "platform_supplement", due=-hour)
    _deadline(closed, "client_evidence_request", due=-hour)  # closed case: not overdue work


@pytest.fixture
def quotes(case_at: Callable[..., Case], blossom_shop: Shop, star_shop: Shop, supervisor: User) -> None:
    def quote(case: Case, version: int, fee_model: str, total: str, status: str, **fields: Any) -> None:
        FeeQuote.objects.create(
            case=case,
            version=version,
            fee_model=fee_model,
            amount=Decimal(total),
            quoted_total=Decimal(total),
            status=status,
            proposed_by=supervisor,
            **fields,
        )

    won = case_at(blossom_shop, state=CaseState.RESOLVED, outcome="accepted", outcome_at=EARLY_FEBRUARY)
    waiting = case_at(blossom_shop, state=CaseState.ASSESSMENT)
    pending = case_at(blossom_shop, state=CaseState.SUBMITTED)
    abroad = case_at(star_shop, state=CaseState.RESOLVED, outcome="rejected", outcome_at=EARLY_FEBRUARY)
    quote(won, 1, "flat", "8000", "accepted", decided_at=EARLY_FEBRUARY, amount_due=Decimal("8000"))
    quote(waiting, 1, "flat", "3000", "rejected", decided_at=dt.datetime(2026, 1, 15, tzinfo=UTC))
    quote(waiting, 2, "flat", "5000", "proposed")
    quote(pending, 1, "per_order_cleared", "2000.50", "accepted", decided_at=LATE_JANUARY)
    quote(abroad, 1, "flat", "100", "accepted", currency="USD", decided_at=dt.datetime(2026, 3, 2, tzinfo=UTC))
    FeeQuote.objects.filter(case=abroad).update(amount_due=Decimal("0"))
