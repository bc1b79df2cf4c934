"""Notifications: creating them exactly once, rendering them for clients and staff, e-mailing them, reading them."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from agency.accounts.models import Role, User
from agency.errors import NotFound
from agency.organisations.models import Platform
from cases.kinds import FeeModel
from cases.models import Case
from cases.reasons import reason_text
from workflows.models import (
    CLIENT_FACING_KINDS,
    Deadline,
    DeadlineKind,
    EmailStatus,
    Notification,
    NotificationKind,
    TimeUnit,
)

logger = logging.getLogger(__name__)

# A claim older than this is taken to belong to a worker that died while sending; another
# delivery of the task may then claim the row again.
EMAIL_CLAIM_TIMEOUT = dt.timedelta(minutes=10)
EMAIL_ERROR_MAX_CHARS = 1000


# --- Creating -----------------------------------------------------------------------------


def notify(
    *,
    recipients: Iterable[User],
    kind: str,
    case: Case | None,
    deadline: Deadline | None,
    params: dict[str, Any],
    dedupe_key: str,
) -> list[Notification]:
    """Create one notification per distinct active recipient, once per (recipient, dedupe_key).

    Call it inside the transaction that decided to notify: the rows commit or roll back with
    that decision, and the e-mails are queued only when it commits. Returns only the rows this
    call created; a recipient who already has the key gets nothing new and no second e-mail.

    Exactly once, even when two transactions race: each row is inserted in its own savepoint
    and the unique constraint (recipient, dedupe_key) decides. On PostgreSQL the second
    inserter waits on the first one's uncommitted row and then gets an IntegrityError (if the
    first committed) or succeeds (if it rolled back), so exactly one of them creates the row;
    rolling back only the savepoint keeps the caller's transaction usable. A read of the
    existing keys first is only a shortcut for the common repeat case; it decides nothing.
    ``bulk_create(ignore_conflicts=True)`` was not used because it cannot say which rows it
    inserted, and re-reading by creation time cannot tell our rows from a racing twin's.
    """
    # Imported here because workflows.tasks imports this module for its services.
    from workflows.tasks import send_notification_email

    distinct: dict[int, User] = {}
    for user in recipients:
        if user.is_active and user.pk not in distinct:
            distinct[user.pk] = user
    if not distinct:
        return []

    created: list[Notification] = []
    with transaction.atomic():
        already = set(
            Notification.objects.filter(recipient_id__in=distinct, dedupe_key=dedupe_key).values_list(
                "recipient_id", flat=True
            )
        )
        now = timezone.now()
        for user in distinct.values():
            if user.pk in already:
                continue
            notification = Notification(
                recipient=user,
                kind=kind,
                case=case,
                deadline=deadline,
                params=params,
                dedupe_key=dedupe_key,
                created_at=now,
                email_status=EmailStatus.PENDING if user.email else EmailStatus.NOT_SENT,
            )
            try:
                with transaction.atomic():
                    notification.save(force_insert=True)
            except IntegrityError:
                continue  # a concurrent transaction created it first
            created.append(notification)

        # robust: a broker that is down must not fail the caller after its work has committed;
        # the e-mail then stays pending (and readable in the app) for a later re-queue.
        for notification in created:
            if notification.email_status == EmailStatus.PENDING:
                transaction.on_commit(functools.partial(send_notification_email.delay, notification.pk), robust=True)
    return created


def notification_emails_requeue(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Queue again the e-mails whose task never ran: the broker lost it, or was down at commit.

    Only rows never attempted and unclaimed for ``EMAIL_CLAIM_TIMEOUT`` qualify: a row that
    failed once is in Celery's own retry schedule, and the claim makes a duplicate task
    harmless anyway. Run by the sweep task every minute.
    """
    from workflows.tasks import send_notification_email

    cutoff = (now or timezone.now()) - EMAIL_CLAIM_TIMEOUT
    stuck = list(
        Notification.objects.filter(
            email_status=EmailStatus.PENDING, email_attempts=0, email_claimed_at__isnull=True, created_at__lt=cutoff
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for notification_id in stuck:
        send_notification_email.delay(notification_id)
    return len(stuck)


# --- Rendering ----------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _local_time(value: Any) -> str | None:
    """An ISO 8601 time as the agency's local time, e.g. "2026-02-24 15:00 (Asia/Shanghai)"."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    zone = settings.BUSINESS_TIME_ZONE
    return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"


def _deadline_kind_label(value: str) -> str:
    try:
        return str(DeadlineKind(value).label)
    except ValueError:
        return value


def _silence(value: Any) -> str:
    """How long the platform has not been contacted, in the reader's language.

    The sweep passes "<amount> <TimeUnit value>" (e.g. "3 working_days"); that is worded
    here. Any other text is shown as it came.
    """
    text = _text(value)
    amount, _space, unit = text.partition(" ")
    if not amount.isdigit():
        return text
    values = {"amount": amount}
    if unit == TimeUnit.WORKING_DAYS:
        return _("%(amount)s working days") % values
    if unit == TimeUnit.WORKING_HOURS:
        return _("%(amount)s working hours") % values
    if unit == TimeUnit.NATURAL_DAYS:
        return _("%(amount)s calendar days") % values
    if unit == TimeUnit.NATURAL_HOURS:
        return _("%(amount)s hours") % values
    return text


def _client_what(deadline_kind: str) -> str:
    """What is due, in the client's words, when the deadline has no title to show."""
    if deadline_kind == DeadlineKind.CLIENT_EVIDENCE_REQUEST:
        return _("the evidence we asked you for")
    if deadline_kind == DeadlineKind.CHAT_EVIDENCE_EXPIRY:
        return _("the chat records for your flagged orders")
    if deadline_kind == DeadlineKind.RECOVERY_CHECK_IN:
        return _("your reputation recovery check-in")
    return _("the next step on your case")


def _client_action(deadline_kind: str) -> str:
    if deadline_kind == DeadlineKind.CLIENT_EVIDENCE_REQUEST:
        return _("Please upload the requested evidence in the client portal.")
    if deadline_kind == DeadlineKind.CHAT_EVIDENCE_EXPIRY:
        return _("Please upload the chat records of the flagged orders in the client portal before they expire.")
    if deadline_kind == DeadlineKind.RECOVERY_CHECK_IN:
        return _("Please open your case in the client portal and complete the check-in.")
    return _("Please open your case in the client portal to see what is needed.")


def _generic(reference: str) -> tuple[str, str]:
    if reference:
        return (
            _("Update on case %(reference)s") % {"reference": reference},
            _("There is an update on case %(reference)s. Please open the case for details.") % {"reference": reference},
        )
    return _("New notification"), _("You have a new notification.")


# --- Rendering: assignment, fee quotes and messages (issue 6) --------------------------------

# Why automatic assignment found nobody (casework.assignment WHY_* codes).
WHY_NO_SKILL = "no_skill"
WHY_ALL_AWAY = "all_away"


def _scalar(value: Any) -> str:
    """A number or text from params as shown ("" for anything else, such as None or a list)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value).strip()


def _flag(value: Any) -> bool:
    return value is True or value in ("true", "True", 1)


def _platform_label(value: Any) -> str:
    code = _text(value)
    return str(Platform(code).label) if code in Platform.values else code


def _fee_model_label(value: Any) -> str:
    code = _text(value)
    return str(FeeModel(code).label) if code in FeeModel.values else code


def _decision(value: Any) -> str:
    """The quote decision as "accepted" or "rejected" (either spelling); "" when unknown."""
    text = _text(value)
    if text in ("accepted", "accept"):
        return "accepted"
    if text in ("rejected", "reject"):
        return "rejected"
    return ""


def _quote_lines(params: dict[str, Any]) -> list[str]:
    """The quote's terms, the same for both audiences: model, amount, the most it can cost, refund."""
    values = {
        "model": _fee_model_label(params.get("fee_model")) or _("unknown"),
        "amount": _scalar(params.get("amount")) or "?",
        "currency": _text(params.get("currency")),
        "total": _scalar(params.get("quoted_total")) or "?",
    }
    lines = [
        _("Fee model: %(model)s") % values,
        _("Amount: %(amount)s %(currency)s") % values,
        _("At most: %(total)s %(currency)s") % values,
    ]
    if _flag(params.get("refund_if_failed")):
        lines.append(_("The fee is refunded in full if the appeal fails."))
    return lines


def _excerpt_line(params: dict[str, Any]) -> list[str]:
    text = _text(params.get("excerpt"))
    return [_("Message: %(excerpt)s") % {"excerpt": text}] if text else []


def _render_client_running(kind: str, params: dict[str, Any], reference: str) -> tuple[str, str] | None:
    """A client's texts for the kinds that come with running a case; None for any other kind.

    Only what concerns the client: the quote's terms and what to do, or that the agency
    wrote. No staff names, no internal notes. Assignment notices are for staff only; a
    client who gets one anyway reads the generic text.
    """
    values = {"reference": reference}
    if kind == NotificationKind.QUOTE_PROPOSED:
        title = _("A fee quote for case %(reference)s is waiting for you") % values
        lines = [_("We have proposed a fee for your case %(reference)s.") % values, *_quote_lines(params)]
        lines.append(
            _("What to do: %(action)s") % {"action": _("Please accept or reject the quote in the client portal.")}
        )
        return title, "\n".join(lines)
    if kind == NotificationKind.QUOTE_DECIDED:
        # Sent to staff; the decision may have been recorded with a staff note, never shown here.
        decision = _decision(params.get("decision"))
        if decision == "accepted":
            line = _("The fee quote for your case %(reference)s is accepted.") % values
        elif decision == "rejected":
            line = _("The fee quote for your case %(reference)s is rejected.") % values
        else:
            line = _("Your decision on the fee quote for case %(reference)s is recorded.") % values
        return _("Fee quote on case %(reference)s") % values, line
    if kind == NotificationKind.MESSAGE_RECEIVED:
        title = _("New message from the agency on case %(reference)s") % values
        lines = [_("The agency has written to you about your case %(reference)s.") % values, *_excerpt_line(params)]
        lines.append(
            _("What to do: %(action)s")
            % {"action": _("Please open your case in the client portal to read and answer it.")}
        )
        return title, "\n".join(lines)
    return None


def _render_staff_running(kind: str, params: dict[str, Any], reference: str) -> tuple[str, str] | None:
    """Staff texts for assignment, fee quotes and messages; None for any other kind."""
    values = {"reference": reference}
    if kind == NotificationKind.CASE_ASSIGNED:
        title = _("Case %(reference)s is assigned to you") % values
        if _flag(params.get("automatic")):
            lines = [_("Case %(reference)s was assigned to you automatically at intake.") % values]
        else:
            by = _text(params.get("assigned_by")) or _("a supervisor")
            lines = [_("%(who)s assigned case %(reference)s to you.") % {"who": by, "reference": reference}]
        # A system reason comes as its code and values and is worded here, in the reader's
        # language; a typed one (or one stored before codes existed) is shown as written.
        reason = reason_text(_text(params.get("reason_code")), params.get("reason_params"), _text(params.get("reason")))
        if reason:
            lines.append(_("Reason: %(reason)s") % {"reason": reason})
        return title, "\n".join(lines)
    if kind == NotificationKind.AUTO_ASSIGNMENT_FAILED:
        platform = _platform_label(params.get("platform")) or _("unknown")
        why = _text(params.get("why"))
        if why == WHY_ALL_AWAY:
            because = _("Every case manager with the %(platform)s skill is away.") % {"platform": platform}
        elif why == WHY_NO_SKILL:
            because = _("No case manager has the %(platform)s skill.") % {"platform": platform}
        else:
            because = _("No eligible case manager was found.")
        lines = [
            _("Case %(reference)s could not be assigned automatically.") % values,
            _("Why: %(why)s") % {"why": because},
            _("What to do: %(action)s") % {"action": _("Assign the case to a case manager.")},
        ]
        return _("New case %(reference)s needs a case manager") % values, "\n".join(lines)
    if kind == NotificationKind.QUOTE_PROPOSED:
        title = _("Fee quote proposed on %(reference)s") % values
        return title, "\n".join(
            [_("Case %(reference)s: a fee quote was sent to the client.") % values, *_quote_lines(params)]
        )
    if kind == NotificationKind.QUOTE_DECIDED:
        decision = _decision(params.get("decision"))
        version = _scalar(params.get("version")) or "?"
        if decision == "accepted":
            title = _("The client accepted the fee quote on %(reference)s") % values
            action = _("The case can now be taken on.")
        elif decision == "rejected":
            title = _("The client rejected the fee quote on %(reference)s") % values
            action = _("Propose a revised quote or decline the case.")
        else:
            title = _("The client decided on the fee quote on %(reference)s") % values
            action = _("Open the case to see the decision.")
        lines = [_("Quote version: %(version)s") % {"version": version}]
        note = _text(params.get("note"))
        if note:
            lines.append(_("Note: %(note)s") % {"note": note})
        lines.append(_("What to do: %(action)s") % {"action": action})
        return title, "\n".join(lines)
    if kind == NotificationKind.MESSAGE_RECEIVED:
        if _flag(params.get("from_client")):
            title = _("New message from the client on %(reference)s") % values
        else:
            title = _("New message on %(reference)s") % values
        lines = [*_excerpt_line(params)]
        lines.append(_("What to do: %(action)s") % {"action": _("Read and answer it in the case's message thread.")})
        return title, "\n".join(lines)
    return None


def _render_client(kind: str, params: dict[str, Any], reference: str) -> tuple[str, str]:
    """Plain language, and only the case, what is due, when, and what to do.

    No staff names, no internal kind names. A deadline that is not client-facing should
    never reach a client; if one does, its title (written for staff) is not shown either.
    """
    running = _render_client_running(kind, params, reference)
    if running is not None:
        return running
    if kind not in (
        NotificationKind.DEADLINE_REMINDER,
        NotificationKind.DEADLINE_MISSED,
        NotificationKind.DEADLINE_ESCALATION,
    ):
        return _generic(reference)
    deadline_kind = _text(params.get("deadline_kind"))
    client_facing = deadline_kind in CLIENT_FACING_KINDS
    what = (_text(params.get("title")) if client_facing else "") or _client_what(deadline_kind)
    due = _local_time(params.get("due_at")) or _("not set")
    values = {"reference": reference, "what": what, "due": due}
    if kind == NotificationKind.DEADLINE_REMINDER:
        title = _("Reminder: case %(reference)s, due by %(due)s") % values
        lines = [_("This is a reminder about your case %(reference)s.") % values]
    else:
        title = _("Overdue: case %(reference)s") % values
        lines = [_("The due time on your case %(reference)s has passed.") % values]
    lines += [
        _("What is due: %(what)s") % values,
        _("Due by: %(due)s") % values,
        _("What to do: %(action)s") % {"action": _client_action(deadline_kind)},
    ]
    if kind != NotificationKind.DEADLINE_REMINDER:
        lines.append(_("If you have already done this, you can ignore this message."))
    return title, "\n".join(lines)


def _render_calendar_year_missing(params: dict[str, Any]) -> tuple[str, str]:
    """To administrators: a year's official holiday arrangement is not loaded, and what to do."""
    year = _scalar(params.get("year")) or "?"
    values = {"year": year}
    action = _("Enter the %(year)s public holidays and make-up working days, then mark the year official.")
    lines = [
        _("The official holiday arrangement (public holidays and make-up working days) for %(year)s is not loaded.")
        % values,
        _("Until it is, working-time deadlines that reach %(year)s are computed on statutory holidays only.") % values,
        _("They are marked provisional, and move when the arrangement is entered."),
        _("What to do: %(action)s") % {"action": action % values},
        _("Once the installed holiday library knows %(year)s, calendar_import --year %(year)s does both.") % values,
    ]
    return _("The %(year)s holiday arrangement is missing") % values, "\n".join(lines)


def _render_staff(kind: str, params: dict[str, Any], reference: str) -> tuple[str, str]:
    running = _render_staff_running(kind, params, reference)
    if running is not None:
        return running
    if kind == NotificationKind.CALENDAR_YEAR_MISSING:
        return _render_calendar_year_missing(params)
    assignee = _text(params.get("assignee"))
    assigned = _("Assigned to: %(assignee)s") % {"assignee": assignee} if assignee else _("Assigned to: nobody")

    if kind == NotificationKind.FOLLOW_UP_DUE:
        last_contact = _local_time(params.get("last_contact_at"))
        silence = _silence(params.get("silence"))
        title = _("Follow up with the platform on %(reference)s") % {"reference": reference}
        lines = [
            _("Case %(reference)s: no contact with the platform for %(silence)s.")
            % {"reference": reference, "silence": silence}
            if silence
            else _("Case %(reference)s: it is time to contact the platform again.") % {"reference": reference},
            _("Last contact: %(when)s") % {"when": last_contact} if last_contact else _("Last contact: none recorded"),
            _("What to do: %(action)s")
            % {"action": _("Contact the platform about the appeal and record the contact on the case.")},
        ]
        return title, "\n".join(lines)

    if kind not in (
        NotificationKind.DEADLINE_REMINDER,
        NotificationKind.DEADLINE_MISSED,
        NotificationKind.DEADLINE_ESCALATION,
    ):
        return _generic(reference)

    deadline_kind = _text(params.get("deadline_kind"))
    kind_label = _deadline_kind_label(deadline_kind) if deadline_kind else _("unknown")
    what = _text(params.get("title")) or kind_label
    due = _local_time(params.get("due_at")) or _("not set")
    values = {"reference": reference, "what": what, "due": due}
    if kind == NotificationKind.DEADLINE_REMINDER:
        title = _("Reminder: %(what)s on %(reference)s, due by %(due)s") % values
        lines = [_("Case %(reference)s: a deadline is coming up.") % values]
    elif kind == NotificationKind.DEADLINE_MISSED:
        title = _("Missed: %(what)s on %(reference)s") % values
        lines = [_("Case %(reference)s: the deadline was missed.") % values]
    else:
        title = _("Escalation: missed deadline on %(reference)s") % values
        lines = [_("Case %(reference)s: the deadline was missed and is escalated to you.") % values]
    lines += [
        _("What is due: %(what)s") % values,
        _("Deadline kind: %(kind)s") % {"kind": kind_label},
        _("Due by: %(due)s") % values,
    ]
    hours = params.get("offset_hours")
    if kind == NotificationKind.DEADLINE_REMINDER and isinstance(hours, int | float) and not isinstance(hours, bool):
        lines.append(_("This reminder comes %(hours)s h before the due time.") % {"hours": f"{hours:g}"})
    lines.append(assigned)
    if kind == NotificationKind.DEADLINE_ESCALATION:
        lines.append(
            _("What to do: %(action)s") % {"action": _("Check the case with its assignee and decide the next step.")}
        )
    return title, "\n".join(lines)


def render(notification: Notification, language: str) -> tuple[str, str]:
    """The notification's (title, body) in ``language``, worded for its recipient's audience.

    Rendered from ``kind`` and ``params`` alone (plus the case's reference when the params
    lack it), so it needs no queries beyond the recipient and case a caller has loaded.
    Unknown kinds and malformed params fall back to a generic text: a notification that
    cannot be read must not break the list it is in or the e-mail it is sent in.
    """
    params = notification.params if isinstance(notification.params, dict) else {}
    with override(language):
        reference = _text(params.get("reference"))
        if not reference and notification.case_id is not None:
            reference = notification.case.reference if notification.case else ""
        try:
            if notification.recipient.role == Role.CLIENT:
                return _render_client(notification.kind, params, reference)
            return _render_staff(notification.kind, params, reference)
        except (KeyError, TypeError, ValueError):
            logger.exception("Notification %s could not be rendered; using the generic text", notification.pk)
            return _generic(reference)


# --- E-mail -------------------------------------------------------------------------------


def notification_email_send(*, notification_id: int) -> None:
    """Send one notification's e-mail unless it is sent, failed, or another worker is sending it.

    1. Claim the row with a conditional UPDATE: still pending, and unclaimed or claimed so
       long ago that the claimant must have died. Only the worker whose UPDATE counted one
       row goes on, so two deliveries of the task never both send.
    2. Render in the recipient's preferred language and send.
    3. Mark it sent. If sending raised, release the claim, keep the error, and re-raise so
       the task retries with backoff.
    """
    now = timezone.now()
    claimed = (
        Notification.objects.filter(pk=notification_id, email_status=EmailStatus.PENDING)
        .filter(Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=now - EMAIL_CLAIM_TIMEOUT))
        .update(email_claimed_at=now, email_attempts=F("email_attempts") + 1)
    )
    if claimed != 1:
        return
    notification = Notification.objects.select_related("recipient", "case").get(pk=notification_id)
    recipient = notification.recipient
    if not recipient.email or not recipient.is_active:
        # The address was removed (or the user deactivated) after the notification was made.
        Notification.objects.filter(pk=notification_id).update(email_status=EmailStatus.NOT_SENT, email_claimed_at=None)
        return
    title, body = render(notification, recipient.preferred_language)
    body = f"{body}\n\n{email_link_line(notification, recipient.preferred_language)}"
    try:
        send_mail(title, body, settings.DEFAULT_FROM_EMAIL, [recipient.email])
    except Exception as exc:
        # Release only our own claim, so a retry (or another delivery) can try again at once.
        Notification.objects.filter(pk=notification_id, email_claimed_at=now).update(
            email_claimed_at=None, email_error=str(exc)[:EMAIL_ERROR_MAX_CHARS]
        )
        raise
    Notification.objects.filter(pk=notification_id).update(
        email_status=EmailStatus.SENT, email_sent_at=timezone.now(), email_error=""
    )


def email_link_line(notification: Notification, language: str) -> str:
    """The e-mail's last line: a link that signs the reader in, marks the notification read and
    opens the page it is about (the client's case, or the staff's tools).

    The URL is resolved by name: the pages register it, nothing here imports them.
    """
    url = settings.SITE_URL + reverse("web:notification-open", kwargs={"notification_id": notification.pk})
    with override(language):
        return _("Open it here: %(url)s") % {"url": url}


def notification_email_fail(*, notification_id: int, error: str) -> None:
    """Give up on a notification's e-mail after the last retry; it stays readable in the app."""
    Notification.objects.filter(pk=notification_id, email_status=EmailStatus.PENDING).update(
        email_status=EmailStatus.FAILED, email_claimed_at=None, email_error=error[:EMAIL_ERROR_MAX_CHARS]
    )


# --- Reading (each scoped to the recipient) --------------------------------------------------


def notification_list(*, user: User, unread: bool | None = None) -> QuerySet[Notification]:
    """The user's own notifications, newest first; ``unread`` True or False filters on read_at."""
    queryset = Notification.objects.filter(recipient_id=user.pk).select_related("case", "recipient")
    if unread is not None:
        queryset = queryset.filter(read_at__isnull=unread)
    return queryset.order_by("-created_at", "-id")


def notification_unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()


def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (again is fine); someone else's is not found."""
    notification = notification_list(user=user).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound()
    if notification.read_at is None:
        now = timezone.now()
        if Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now):
            notification.read_at = now
        else:
            notification.refresh_from_db(fields=["read_at"])  # read meanwhile in another request
    return notification


def notification_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).update(read_at=timezone.now())
