"""Fixtures the evidence tests share."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cases.models import Case, FlaggedOrder


@pytest.fixture
def evidence_case(case_in: Callable[..., Case]) -> Case:
    """A case in the evidence state with three physical orders and no evidence yet."""
    return case_in("evidence", orders=3, with_evidence=False)


@pytest.fixture
def case(case_in: Callable[..., Case]) -> Case:
    """A case in the evidence state without any evidence yet."""
    return case_in("evidence", with_evidence=False)


@pytest.fixture
def order(case: Case) -> FlaggedOrder | None:
    return case.flagged_orders.order_by("id").first()
