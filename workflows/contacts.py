"""The log of contacts with the platform about a submitted appeal, and the follow-up cadence it keeps.

A rule profile sets the cadence: no two outbound contacts closer than the minimum gap
(unless someone says why), and no silence longer than the maximum. The silence is a
``platform_follow_up`` deadline that every contact, in either direction, meets and starts
again; the deadline sweep tells the assignee when it runs out. Contacts are the agency's
internal working record: none of it reaches the client's portal.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import User
from agency.accounts.permissions import require_role
from agency.errors import InvalidInput, InvalidState, NotFound
from cases.history import record_case_event
from cases.models import AppealAttempt, Case, CaseState, EventKind, WindowUnit
from cases.permissions import CASE_WORKERS
from cases.selectors import case_visible_to
from workflows.deadlines import follow_up_restart
from workflows.models import (
    ContactChannel,
    ContactDirection,
    Deadline,
    DeadlineKind,
    DeadlineStatus,
    PlatformContact,
)

# The cadence of a case without a rule profile; the same as the model's defaults.
DEFAULT_MIN_GAP_HOURS = 24
DEFAULT_MAX_SILENCE_VALUE = 3
DEFAULT_MAX_SILENCE_UNIT = WindowUnit.WORKING_DAYS
# How far ahead of the server's clock a contact time may be: the logger's clock may run fast.
CLOCK_SKEW = dt.timedelta(minutes=5)
PLATFORM_REFERENCE_MAX_LENGTH = PlatformContact._meta.get_field("platform_reference").max_length or 100


def _shown(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def min_gap_of(case: Case) -> dt.timedelta:
    profile = case.rule_profile
    return dt.timedelta(hours=profile.follow_up_min_gap_hours if profile else DEFAULT_MIN_GAP_HOURS)


def _latest_attempt_submitted_at() -> Subquery:
    return Subquery(AppealAttempt.objects.filter(case_id=OuterRef("pk")).order_by("-number").values("submitted_at")[:1])


def _submitted_at(case: Case) -> dt.datetime:
    """When the appeal under review went to the platform: its latest attempt (else the state change).

    Read from the ``appeal_submitted_at`` annotation the case queries here add.
    """
    submitted_at: dt.datetime | None = getattr(case, "appeal_submitted_at", None)
    return submitted_at or case.state_changed_at


# --- Logging a contact ---------------------------------------------------------------------------


def _validate(
    *,
    case: Case,
    channel: str,
    direction: str,
    summary: str,
    platform_reference: str,
    contacted_at: dt.datetime,
    now: dt.datetime,
) -> None:
    """Every input error at once, as field errors (400)."""
    fields: dict[str, list[str]] = {}
    if channel not in ContactChannel.values:
        fields["channel"] = [_("Choose one of the listed channels.")]
    if direction not in ContactDirection.values:
        fields["direction"] = [_("Choose outbound or inbound.")]
    if not summary:
        fields["summary"] = [_("Say what was said or asked.")]
    if len(platform_reference) > PLATFORM_REFERENCE_MAX_LENGTH:
        fields["platform_reference"] = [_("The platform's reference is too long.")]
    if timezone.is_naive(contacted_at):
        fields["contacted_at"] = [_("Give the time with its time zone.")]
    elif contacted_at > now + CLOCK_SKEW:
        fields["contacted_at"] = [_("The contact cannot be in the future.")]
    else:
        submitted_at = _submitted_at(case)
        if contacted_at < submitted_at:
            fields["contacted_at"] = [
                _("The contact cannot be before the appeal was submitted (%(time)s).") % {"time": _shown(submitted_at)}
            ]
    if fields:
        raise InvalidInput(details={"fields": fields})


def _gap_conflict(case: Case, contacted_at: dt.datetime) -> PlatformContact | None:
    """The outbound contact on this appeal closest before (else after) ``contacted_at`` within the minimum gap.

    Only the appeal under review counts: a contact about an earlier attempt does not hold
    up the first contact about the next one.
    """
    gap = min_gap_of(case)
    near = PlatformContact.objects.filter(
        case_id=case.pk,
        direction=ContactDirection.OUTBOUND,
        contacted_at__gte=_submitted_at(case),
        contacted_at__gt=contacted_at - gap,
        contacted_at__lt=contacted_at + gap,
    )
    before = near.filter(contacted_at__lte=contacted_at).order_by("-contacted_at", "-id").first()
    if before is not None:
        return before
    return near.filter(contacted_at__gt=contacted_at).order_by("contacted_at", "id").first()


def _gap_error(case: Case, conflict: PlatformContact, contacted_at: dt.datetime) -> InvalidInput:
    hours = int(min_gap_of(case) / dt.timedelta(hours=1))
    values = {"time": _shown(conflict.contacted_at), "hours": hours}
    if conflict.contacted_at <= contacted_at:
        reason = _(
            "The last contact was at %(time)s; the minimum gap is %(hours)s hours. Give a reason to contact sooner."
        )
    else:
        reason = _(
            "The next logged contact is at %(time)s; the minimum gap is %(hours)s hours. Give a reason for this one."
        )
    return InvalidInput(
        _("This contact is inside the minimum gap between contacts with the platform."),
        details={
            "fields": {"override_reason": [reason % values]},
            "conflicting_contact": conflict.pk,
            "conflicting_contacted_at": conflict.contacted_at.isoformat(),
            "min_gap_hours": hours,
        },
    )


@transaction.atomic
def platform_contact_log(
    *,
    case_id: int,
    actor: User,
    channel: str,
    summary: str,
    contacted_at: dt.datetime | None = None,
    direction: str = ContactDirection.OUTBOUND,
    platform_reference: str = "",
    override_reason: str = "",
) -> PlatformContact:
    """Log one contact with the platform on a submitted case and restart the follow-up clock.

    1. Lock the case row (visible to the actor, else 404), so two people logging at the
       same moment are checked one after the other against the minimum gap.
    2. Case workers only (403); only while the platform reviews the appeal (409).
    3. Validate the input (400): a summary, a time neither in the future (beyond a few
       minutes of clock skew) nor before the appeal was submitted.
    4. An outbound contact less than the profile's minimum gap from another outbound
       contact on this appeal needs an override reason (400 naming ``override_reason``,
       nothing written). The platform reaching out (inbound) never does.
    5. Write the contact and its history row, then end the silence: the follow-up
       deadline is met (or, if it was missed, met late) and the next one runs from the
       contact. A contact backfilled before the latest one already logged ends no silence,
       so the clock, which already runs from that later contact, is left as it is.
    """
    case = (
        case_visible_to(actor)
        .select_related("rule_profile")
        .annotate(appeal_submitted_at=_latest_attempt_submitted_at())
        .select_for_update(of=("self",), no_key=True)
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound()
    require_role(actor, CASE_WORKERS)
    if case.state != CaseState.SUBMITTED:
        raise InvalidState(
            _("Contacts with the platform are logged while it reviews the appeal (the case is “%(state)s”).")
            % {"state": CaseState(case.state).label},
            details={"state": case.state},
        )
    now = timezone.now()
    summary, platform_reference, override_reason = summary.strip(), platform_reference.strip(), override_reason.strip()
    contacted_at = contacted_at or now
    _validate(
        case=case,
        channel=channel,
        direction=direction,
        summary=summary,
        platform_reference=platform_reference,
        contacted_at=contacted_at,
        now=now,
    )
    conflict = _gap_conflict(case, contacted_at) if direction == ContactDirection.OUTBOUND else None
    if conflict is not None and not override_reason:
        raise _gap_error(case, conflict, contacted_at)

    latest = PlatformContact.objects.filter(case_id=case.pk, contacted_at__gte=_submitted_at(case)).aggregate(
        latest=Max("contacted_at")
    )["latest"]
    contact = PlatformContact.objects.create(
        case=case,
        channel=channel,
        direction=direction,
        summary=summary,
        platform_reference=platform_reference,
        contacted_at=contacted_at,
        logged_by=actor,
        logged_at=now,
        override_reason=override_reason,
    )
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.PLATFORM_CONTACTED,
        new_value={
            "contact": contact.pk,
            "channel": channel,
            "direction": direction,
            "contacted_at": contacted_at,
            "overridden": conflict is not None,
        },
        reason=override_reason,
    )
    if latest is None or contacted_at > latest:
        follow_up_restart(case, actor=actor, since=contacted_at)
    return contact


# --- Reading the log and the cadence -------------------------------------------------------------


def platform_contact_case_get(*, user: User, case_id: int) -> Case:
    """The case whose contacts ``user`` asks about: staff who can see it (404 otherwise).

    Clients never read the contact log; the API keeps them out before this, and here they
    get the same 404 as for a case that does not exist.
    """
    if not user.is_agency_staff:
        raise NotFound()
    case = (
        case_visible_to(user)
        .select_related("rule_profile")
        .annotate(appeal_submitted_at=_latest_attempt_submitted_at())
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound()
    return case


def platform_contact_list(*, case: Case) -> QuerySet[PlatformContact]:
    """A case's contacts with the platform, newest first; scope the case with ``platform_contact_case_get``."""
    return PlatformContact.objects.filter(case_id=case.pk).select_related("logged_by").order_by("-contacted_at", "-id")


def platform_contact_cadence(*, case: Case, now: dt.datetime | None = None) -> dict[str, Any]:
    """Where the case stands in its follow-up cadence (two queries).

    * ``last_contact_at``: the latest contact in either direction, on any attempt.
    * ``next_contact_allowed_at``: the latest outbound contact on the appeal under review
      plus the minimum gap; null when there is none or the case is not under review. An
      earlier contact needs an override reason.
    * ``follow_up_due_at``: when the current follow-up deadline runs out: the open one, or
      the one that was missed and not yet made good by a contact. Null when there is none.
    * ``silence_exceeded``: that time has passed (whether or not the sweep has run yet).
    """
    now = now or timezone.now()
    profile = case.rule_profile
    under_review = case.state == CaseState.SUBMITTED
    totals = PlatformContact.objects.filter(case_id=case.pk).aggregate(
        last=Max("contacted_at"),
        last_outbound=Max(
            "contacted_at", filter=Q(direction=ContactDirection.OUTBOUND, contacted_at__gte=_submitted_at(case))
        ),
    )
    last_outbound = totals["last_outbound"] if under_review else None
    current = (
        Deadline.objects.filter(case_id=case.pk, kind=DeadlineKind.PLATFORM_FOLLOW_UP)
        .filter(Q(status=DeadlineStatus.OPEN) | Q(status=DeadlineStatus.MISSED, met_at__isnull=True))
        .order_by("-starts_at", "-id")
        .values("status", "due_at")
        .first()
        if under_review
        else None
    )
    due_at = current["due_at"] if current else None
    return {
        "last_contact_at": totals["last"],
        "next_contact_allowed_at": last_outbound + min_gap_of(case) if last_outbound else None,
        "follow_up_due_at": due_at,
        "silence_exceeded": bool(
            current and (current["status"] == DeadlineStatus.MISSED or (due_at is not None and due_at <= now))
        ),
        "min_gap_hours": profile.follow_up_min_gap_hours if profile else DEFAULT_MIN_GAP_HOURS,
        "max_silence_value": profile.follow_up_max_silence_value if profile else DEFAULT_MAX_SILENCE_VALUE,
        "max_silence_unit": profile.follow_up_max_silence_unit if profile else DEFAULT_MAX_SILENCE_UNIT,
    }
