"""Helpers other test modules use to get a case past the recovery plan's guard on close."""

from __future__ import annotations

from agency.accounts.models import User
from cases.models import Case


def waive_recovery_plan(case: Case, *, supervisor: User, reason: str = "The client ended the engagement.") -> None:
    """Waive the plan of a case in reputation recovery, so that ``close`` is allowed."""
    from recovery.services import plan_waive

    plan_waive(case_id=case.pk, actor=supervisor, reason=reason)
