"""The evidence rule that ``submit_appeal`` checks before an appeal can go to the platform.

This is the one place the case state machine asks about evidence. Until per-order
evidence exists (platform rule profiles, evidence items and their review), there is
nothing to require, so no gaps are reported; the evidence work replaces the body of
``evidence_gaps`` and the guard in ``cases.conditions.evidence_complete`` picks it up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cases.models import Case


def evidence_gaps(case: Case) -> list[dict[str, Any]]:
    """What the case still lacks before submission, as a list of {kind, orders} entries."""
    return []
