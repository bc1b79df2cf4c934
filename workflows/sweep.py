"""The deadline sweep: fire each due reminder and each miss exactly once.

Beat queues the sweep every minute; any number of workers may run it at the same time,
and a task may be retried after a crash. Exactly-once rests on two things:

1. The claim. Each deadline is handled in its own transaction that starts with a
   conditional UPDATE: "set the next alert time to the one after this, where it is still
   the one I read". A second worker that read the same row updates nothing (on PostgreSQL
   it waits for the first one's row lock and then finds the condition false) and moves on.
   If the transaction fails, the claim rolls back with everything else, so a retry finds
   the alert still due.
2. The record. The alert row is unique per (deadline, kind, offset, due time) and each
   notification per (recipient, key), so even a claim that somehow ran twice could not
   write a second alert.

The sweep reads only open deadlines whose next alert is due, through a partial index, so
its cost follows the number of due alerts, not the number of open deadlines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from agency.accounts.models import Role, User
from cases.history import record_case_event
from cases.models import EventKind
from workflows.deadlines import ON_MISSED, lock_cases, next_alert_at
from workflows.models import (
    AlertKind,
    Deadline,
    DeadlineAlert,
    DeadlineKind,
    DeadlineStatus,
    NotificationKind,
)
from workflows.notifications import notify


@dataclass
class SweepResult:
    reminders: int = 0
    missed: int = 0
    skipped: int = 0
    more: bool = False
    deadlines: list[int] = field(default_factory=list)


# An API key acts through a user of its own (a supervisor or a client user); such users are
# programs, not people, and are never notified.
PEOPLE = {"api_key__isnull": True}


def _supervisors() -> list[User]:
    return list(User.objects.filter(role=Role.SUPERVISOR, is_active=True, **PEOPLE).order_by("pk"))


def _clients_of(deadline: Deadline) -> list[User]:
    return list(
        User.objects.filter(
            role=Role.CLIENT, is_active=True, memberships__organisation_id=deadline.case.organisation_id, **PEOPLE
        ).order_by("pk")
    )


def _params(deadline: Deadline, **extra: Any) -> dict[str, Any]:
    assignee = deadline.case.assignee
    return {
        "reference": deadline.case.reference,
        "deadline_kind": deadline.kind,
        "title": deadline.title,
        "due_at": deadline.due_at.isoformat() if deadline.due_at else None,
        "assignee": assignee.label if assignee else "",
        **extra,
    }


def _fire_reminder(deadline: Deadline, *, now: dt.datetime, supervisors: list[User]) -> list[int]:
    """The most urgent reminder whose time has come (a late sweep sends one, not a burst)."""
    assert deadline.due_at is not None
    passed = [
        offset for offset in deadline.reminder_offsets_minutes if deadline.due_at - dt.timedelta(minutes=offset) <= now
    ]
    offset = min(passed)
    assignee = deadline.case.assignee
    # With nobody assigned, the people who assign are told instead: a reminder must reach someone.
    staff = [assignee] if assignee is not None else supervisors
    recipients = staff + (_clients_of(deadline) if deadline.client_facing else [])
    DeadlineAlert.objects.create(
        deadline=deadline,
        kind=AlertKind.REMINDER,
        offset_minutes=offset,
        due_at=deadline.due_at,
        fired_at=now,
        recipients=[user.pk for user in recipients],
    )
    notify(
        recipients=recipients,
        kind=NotificationKind.DEADLINE_REMINDER,
        case=deadline.case,
        deadline=deadline,
        params=_params(deadline, offset_hours=round(offset / 60, 2)),
        dedupe_key=f"deadline:{deadline.pk}:reminder:{offset}:{deadline.due_at.isoformat()}",
    )
    record_case_event(
        case=deadline.case,
        actor=None,
        kind=EventKind.REMINDER_SENT,
        new_value={
            "deadline": deadline.pk,
            "kind": deadline.kind,
            "due_at": deadline.due_at,
            "offset_hours": round(offset / 60, 2),
            "recipients": [user.pk for user in recipients],
        },
    )
    return [user.pk for user in recipients]


def _fire_missed(deadline: Deadline, *, now: dt.datetime, supervisors: list[User]) -> list[int]:
    """The due time passed while open: record the miss and escalate to the supervisors.

    A follow-up that fell silent is the assignee's to act on: it goes to them (or, with
    nobody assigned, to the supervisors), not up the line.
    """
    assert deadline.due_at is not None
    assignee = deadline.case.assignee
    key = f"deadline:{deadline.pk}:missed:{deadline.due_at.isoformat()}"
    if deadline.kind == DeadlineKind.PLATFORM_FOLLOW_UP:
        recipients = [assignee] if assignee is not None else supervisors
        notify(
            recipients=recipients,
            kind=NotificationKind.FOLLOW_UP_DUE,
            case=deadline.case,
            deadline=deadline,
            params={
                **_params(deadline),
                "last_contact_at": deadline.starts_at.isoformat(),
                "silence": f"{deadline.budget_amount} {deadline.budget_unit}",
            },
            dedupe_key=key,
        )
    else:
        recipients = list(supervisors)
        if assignee is not None:
            notify(
                recipients=[assignee],
                kind=NotificationKind.DEADLINE_MISSED,
                case=deadline.case,
                deadline=deadline,
                params=_params(deadline),
                dedupe_key=key,
            )
            recipients.append(assignee)
        notify(
            recipients=supervisors,
            kind=NotificationKind.DEADLINE_ESCALATION,
            case=deadline.case,
            deadline=deadline,
            params=_params(deadline),
            dedupe_key=key,
        )
    recipient_ids = sorted({user.pk for user in recipients})
    DeadlineAlert.objects.create(
        deadline=deadline,
        kind=AlertKind.MISSED,
        offset_minutes=0,
        due_at=deadline.due_at,
        fired_at=now,
        recipients=recipient_ids,
    )
    record_case_event(
        case=deadline.case,
        actor=None,
        kind=EventKind.DEADLINE_MISSED,
        new_value={
            "deadline": deadline.pk,
            "kind": deadline.kind,
            "title": deadline.title,
            "due_at": deadline.due_at,
            "notified": recipient_ids,
        },
        client_visible=deadline.client_facing and deadline.kind != DeadlineKind.CLIENT_EVIDENCE_REQUEST,
    )
    return recipient_ids


def _handle(deadline_id: int, claimed_alert_at: dt.datetime, *, now: dt.datetime, supervisors: list[User]) -> str:
    """Claim and fire one deadline's due alert in one transaction; says what happened."""
    with transaction.atomic():
        case_id = Deadline.objects.filter(pk=deadline_id).values_list("case_id", flat=True).first()
        if case_id is None:
            return "skipped"
        # Every writer takes a case's row before its deadlines (requests lock the case, and
        # writing history numbers the case's events), so the sweep does too: taking the
        # deadline first and the case second could deadlock with a request doing the reverse.
        lock_cases([case_id])
        deadline = (
            Deadline.objects.select_related("case", "case__assignee")
            .filter(pk=deadline_id, status=DeadlineStatus.OPEN, next_alert_at=claimed_alert_at)
            .first()
        )
        if deadline is None or deadline.due_at is None:
            return "skipped"
        missed = now >= deadline.due_at
        if missed:
            claim = {"status": DeadlineStatus.MISSED, "missed_at": deadline.due_at, "next_alert_at": None}
        else:
            deadline.next_alert_at = now  # everything up to now is being handled
            claim = {"next_alert_at": next_alert_at(deadline, now)}
        claimed = Deadline.objects.filter(
            pk=deadline_id, status=DeadlineStatus.OPEN, next_alert_at=claimed_alert_at
        ).update(updated_at=now, **claim)
        if claimed != 1:
            return "skipped"  # another worker got there first
        try:
            with transaction.atomic():
                if missed:
                    _fire_missed(deadline, now=now, supervisors=supervisors)
                    follow = ON_MISSED.get(deadline.kind)
                    if follow is not None:
                        # E.g. one order's chat is gone, so the next order's clock starts
                        # now (evidence.deadlines), rather than only at the next upload.
                        follow(deadline.case)
                else:
                    _fire_reminder(deadline, now=now, supervisors=supervisors)
        except IntegrityError:
            # The alert row exists: it fired before (a claim cannot normally get here twice,
            # but the unique key is the last word). Keep the claim, send nothing.
            return "skipped"
        return "missed" if missed else "reminder"


def deadlines_sweep(*, now: dt.datetime | None = None, batch: int | None = None) -> SweepResult:
    """Fire every alert due by ``now``, at most ``batch`` deadlines per call.

    ``more`` says the batch was full, so the caller should run again.
    """
    now = now or timezone.now()
    batch = batch or int(settings.DEADLINE_SWEEP_BATCH)
    due = list(
        Deadline.objects.filter(status=DeadlineStatus.OPEN, next_alert_at__isnull=False, next_alert_at__lte=now)
        .order_by("next_alert_at", "pk")
        .values_list("pk", "next_alert_at")[:batch]
    )
    result = SweepResult(more=len(due) == batch)
    if not due:
        return result
    supervisors = _supervisors()
    for deadline_id, alert_at in due:
        assert alert_at is not None  # filtered above
        outcome = _handle(deadline_id, alert_at, now=now, supervisors=supervisors)
        if outcome == "reminder":
            result.reminders += 1
        elif outcome == "missed":
            result.missed += 1
        else:
            result.skipped += 1
            continue
        result.deadlines.append(deadline_id)
    return result
