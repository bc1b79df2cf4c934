"""What the client pages show, composed from the portal's selectors: steps, plain words, what is asked.

Nothing here reads a row the portal API could not: every case comes through
``portal_case_list`` or ``portal_case_get``, and the rest is filtered by those cases.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Case as DbCase
from django.db.models import Count, Min, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from agency.accounts.models import User
from billing.models import FeeQuote, QuoteStatus
from cases.models import OPEN_STATES, Case, CaseState
from cases.selectors import portal_case_list
from evidence.models import EvidenceRequest, RequestStatus
from recovery.models import RecoveryTask, TaskOwner, TaskStatus
from workflows.deadlines import deadline_label
from workflows.models import Deadline, DeadlineStatus
from workflows.selectors import portal_deadlines

# The agency's seven steps, as the client sees them. Declined and withdrawn cases end on
# the last step, with their own words.
STEPS: list[tuple[str, Any]] = [
    (CaseState.INTAKE, gettext_lazy("Received")),
    (CaseState.ASSESSMENT, gettext_lazy("Assessment")),
    (CaseState.EVIDENCE, gettext_lazy("Evidence")),
    (CaseState.SUBMITTED, gettext_lazy("Submitted")),
    (CaseState.RESOLVED, gettext_lazy("Decided")),
    (CaseState.REPUTATION_RECOVERY, gettext_lazy("Reputation recovery")),
    (CaseState.CLOSED, gettext_lazy("Closed")),
]
_STEP_OF_STATE = {state: index for index, (state, _label) in enumerate(STEPS)}
_STEP_OF_STATE[CaseState.DECLINED] = len(STEPS) - 1
_STEP_OF_STATE[CaseState.WITHDRAWN] = len(STEPS) - 1

_STANDING = {
    CaseState.INTAKE: gettext_lazy("We have received your case and will look at it shortly."),
    CaseState.ASSESSMENT: gettext_lazy("We are studying the platform's notice to judge the chances of an appeal."),
    CaseState.EVIDENCE: gettext_lazy("We are preparing the appeal and gathering the evidence for it."),
    CaseState.SUBMITTED: gettext_lazy("Your appeal is with the platform. We are waiting for its decision."),
    CaseState.RESOLVED: gettext_lazy("The platform has decided on your appeal."),
    CaseState.REPUTATION_RECOVERY: gettext_lazy(
        "The platform has decided; we are now helping your shop's reputation recover."
    ),
    CaseState.CLOSED: gettext_lazy("Your case is closed."),
    CaseState.DECLINED: gettext_lazy("We could not take on this case."),
    CaseState.WITHDRAWN: gettext_lazy("This case was withdrawn."),
}


@dataclass
class Step:
    label: str
    status: str  # "done", "current" or "todo"


def steps_of(case: Case) -> list[Step]:
    current = _STEP_OF_STATE[CaseState(case.state)]
    steps = []
    for index, (_state, label) in enumerate(STEPS):
        status = "done" if index < current else "current" if index == current else "todo"
        if status == "current" and case.state in (CaseState.DECLINED, CaseState.WITHDRAWN):
            label = CaseState(case.state).label
        if index == current and case.state == CaseState.CLOSED:
            status = "done"
        steps.append(Step(label=str(label), status=status))
    return steps


def standing_of(case: Case) -> str:
    return str(_STANDING[CaseState(case.state)])


@dataclass
class Ask:
    """One thing the agency is waiting for from the client, and where on the case page to do it."""

    text: str
    anchor: str
    due_at: dt.datetime | None = None


@dataclass
class CaseSummary:
    case: Case
    standing: str
    asks: list[Ask] = field(default_factory=list)
    next_deadline: Deadline | None = None
    next_deadline_label: str = ""


def _asks_by_case(case_ids: list[int]) -> dict[int, list[Ask]]:
    """Open evidence requests, quotes waiting for a decision and open client tasks, per case: three queries."""
    asks: dict[int, list[Ask]] = defaultdict(list)
    requests = (
        EvidenceRequest.objects.filter(case_id__in=case_ids, status=RequestStatus.OPEN)
        .values("case_id")
        .annotate(count=Count("id"), due=Min("due_at"))
    )
    for row in requests:
        text = ngettext(
            "Send the evidence we asked for (%(count)d request)",
            "Send the evidence we asked for (%(count)d requests)",
            row["count"],
        ) % {"count": row["count"]}
        asks[row["case_id"]].append(Ask(text=text, anchor="needed", due_at=row["due"]))
    quotes = FeeQuote.objects.filter(
        case_id__in=case_ids, status=QuoteStatus.PROPOSED, case__state=CaseState.ASSESSMENT
    ).values_list("case_id", flat=True)
    for case_id in quotes:
        asks[case_id].append(Ask(text=_("Accept or decline our fee quote"), anchor="quote"))
    tasks = (
        RecoveryTask.objects.filter(
            plan__case_id__in=case_ids,
            plan__waived_at__isnull=True,
            owner=TaskOwner.CLIENT,
        )
        .exclude(status=TaskStatus.DONE)
        .values("plan__case_id")
        .annotate(count=Count("id"), due=Min("due_date"))
    )
    for row in tasks:
        text = ngettext(
            "%(count)d recovery task of yours to do", "%(count)d recovery tasks of yours to do", row["count"]
        ) % {"count": row["count"]}
        asks[row["plan__case_id"]].append(Ask(text=text, anchor="recovery"))
    return asks


# Cases on one page of "My cases"; a merchant rarely has more, an agency-wide client may.
CASES_PER_PAGE = 20


def case_summaries(*, user: User, page_number: Any = 1) -> tuple[Page[Case], list[CaseSummary]]:
    """One page of the client's cases, open ones first and then newest first, each with its plain
    state, what is asked and its next deadline: the same handful of queries whatever the page holds."""
    open_first = DbCase(When(state__in=OPEN_STATES, then=Value(0)), default=Value(1))
    cases_in_order = portal_case_list(user=user).order_by(open_first, "-created_at", "-id")
    page = Paginator(cases_in_order, CASES_PER_PAGE).get_page(page_number)
    cases = list(page.object_list)
    ids = [case.pk for case in cases]
    asks = _asks_by_case(ids)
    next_deadline: dict[int, Deadline] = {}
    upcoming = portal_deadlines(user=user).filter(case_id__in=ids, status=DeadlineStatus.OPEN, due_at__isnull=False)
    for open_deadline in upcoming:
        next_deadline.setdefault(open_deadline.case_id, open_deadline)
    summaries = []
    for case in cases:
        deadline = next_deadline.get(case.pk)
        summaries.append(
            CaseSummary(
                case=case,
                standing=standing_of(case),
                asks=asks.get(case.pk, []) if case.is_open else [],
                next_deadline=deadline,
                next_deadline_label=deadline_label(deadline) if deadline else "",
            )
        )
    return page, summaries


def asks_for(case: Case) -> list[Ask]:
    return _asks_by_case([case.pk]).get(case.pk, []) if case.is_open else []
