"""Workflow state kept in the database: the working calendar, deadlines and SLA clocks,
the alerts they fired, notifications, contacts with the platform, and the worker heartbeat."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import WaitingOn as CaseWaitingOn


class WorkerHeartbeat(models.Model):
    """When a Celery worker last ran the beat-scheduled heartbeat: proof the pipeline works."""

    name = models.CharField(max_length=100, primary_key=True)
    last_seen_at = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen_at:%Y-%m-%d %H:%M:%S}"


# --- The working calendar ---------------------------------------------------------------


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("Public holiday")
    WORKDAY = "workday", _("Make-up working day")


class CalendarDaySource(models.TextChoices):
    LIBRARY = "library", _("Official schedule (chinese-calendar)")
    MANUAL = "manual", _("Entered by staff")


class CalendarDay(models.Model):
    """A day that breaks the weekly rule: a public holiday, or a weekend day made a working day (调休).

    Seeded from the chinese-calendar library and edited by administrators, because next
    year's schedule is announced late in the year. Every other day follows the working
    weekdays in settings.
    """

    date = models.DateField(unique=True)
    kind = models.CharField(max_length=16, choices=CalendarDayKind.choices)
    name = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=16, choices=CalendarDaySource.choices, default=CalendarDaySource.MANUAL)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.kind} {self.name}".strip()


class CalendarYear(models.Model):
    """Whether a year's official holiday arrangement (放假安排, with its 调休) is in the calendar.

    The State Council publishes next year's arrangement late in the year; until a year is
    marked official here, working time in it is computed on its statutory holidays alone and
    the deadlines that reach it are provisional. Marked by ``calendar_import`` when the
    library knows the year, or by an administrator (API or admin) once the days are entered.
    """

    year = models.PositiveSmallIntegerField(primary_key=True)
    official = models.BooleanField(default=False)
    # Who marked the year as it stands ("library": calendar_import), and when.
    source = models.CharField(max_length=16, choices=CalendarDaySource.choices, default=CalendarDaySource.MANUAL)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    # When administrators were told the arrangement is missing: the claim that sends it once.
    missing_notice_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["year"]

    def __str__(self) -> str:
        return f"{self.year} {'official' if self.official else 'statutory holidays only'}"


class TimeUnit(models.TextChoices):
    NATURAL_HOURS = "natural_hours", _("Natural hours")
    NATURAL_DAYS = "natural_days", _("Natural days")
    WORKING_HOURS = "working_hours", _("Working hours")
    WORKING_DAYS = "working_days", _("Working days")


WORKING_UNITS = (TimeUnit.WORKING_HOURS, TimeUnit.WORKING_DAYS)


class StageSla(models.Model):
    """How long a case may stay in one state before it is late: an internal service level."""

    state = models.CharField(max_length=32, unique=True)
    amount = models.PositiveIntegerField()
    unit = models.CharField(max_length=16, choices=TimeUnit.choices, default=TimeUnit.WORKING_DAYS)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["state"]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=1), name="stage_sla_positive")]

    def __str__(self) -> str:
        return f"{self.state}: {self.amount} {self.unit}"


# --- Deadlines and SLA clocks -----------------------------------------------------------


class DeadlineKind(models.TextChoices):
    PLATFORM_APPEAL_WINDOW = "platform_appeal_window", _("Platform appeal window")
    PLATFORM_SUPPLEMENT = "platform_supplement", _("Platform supplement request")
    CLIENT_EVIDENCE_REQUEST = "client_evidence_request", _("Evidence requested from the client")
    CHAT_EVIDENCE_EXPIRY = "chat_evidence_expiry", _("Chat evidence expires")
    STAGE_SLA = "stage_sla", _("Internal stage SLA")
    RECOVERY_CHECK_IN = "recovery_check_in", _("Reputation recovery check-in")
    PLATFORM_FOLLOW_UP = "platform_follow_up", _("Follow up with the platform")


# The platform sets these; waiting does not stop its clock.
PLATFORM_KINDS = (DeadlineKind.PLATFORM_APPEAL_WINDOW, DeadlineKind.PLATFORM_SUPPLEMENT)
# The client has to act on these, so the client sees them and is reminded of them.
CLIENT_FACING_KINDS = (
    DeadlineKind.CLIENT_EVIDENCE_REQUEST,
    DeadlineKind.CHAT_EVIDENCE_EXPIRY,
    DeadlineKind.RECOVERY_CHECK_IN,
)
# A case has at most one open deadline of each of these kinds at a time.
SINGLETON_KINDS = (
    DeadlineKind.PLATFORM_APPEAL_WINDOW,
    DeadlineKind.CHAT_EVIDENCE_EXPIRY,
    DeadlineKind.STAGE_SLA,
    DeadlineKind.PLATFORM_FOLLOW_UP,
)


class DeadlineStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MET = "met", _("Met")
    MISSED = "missed", _("Missed")
    CANCELLED = "cancelled", _("Cancelled")


class Deadline(models.Model):
    """A time by which something must happen on a case, and how that time was computed.

    A clock with a budget (``budget_amount`` in ``budget_unit`` from ``starts_at``) is
    recomputed from that basis, the working calendar and the case's waits, so a holiday
    added later or a pause moves it correctly. A deadline entered as a fixed time (from a
    platform's notice) has no budget and never moves by itself. ``due_at`` is empty while
    the clock is paused; ``next_alert_at`` is the next moment the sweep has something to
    do for it (a reminder or the miss), so the sweep reads only what is due.
    """

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="deadlines")
    kind = models.CharField(max_length=32, choices=DeadlineKind.choices)
    title = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=DeadlineStatus.choices, default=DeadlineStatus.OPEN)
    client_facing = models.BooleanField(default=False)
    pausable = models.BooleanField(default=False)
    # The basis: a budget from a start, or a fixed due time (no budget).
    starts_at = models.DateTimeField()
    budget_amount = models.PositiveIntegerField(null=True, blank=True)
    budget_unit = models.CharField(max_length=16, choices=TimeUnit.choices, blank=True)
    basis = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    due_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Budget used so far, in seconds of the unit's measure (working seconds for working units).
    used_seconds = models.PositiveBigIntegerField(default=0)
    # A working-time clock whose span reaches a year without an official holiday arrangement
    # was computed on that year's statutory holidays: provisional, until the year is entered.
    provisional = models.BooleanField(default=False)
    provisional_years = models.JSONField(default=list, blank=True)
    stage = models.CharField(max_length=32, blank=True, help_text=_("The state a stage SLA is about."))
    evidence_request = models.ForeignKey(
        "evidence.EvidenceRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="deadlines"
    )
    reminder_offsets_minutes = models.JSONField(default=list, blank=True)
    next_alert_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    missed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Why it was met or cancelled: what a person typed, or the system's reason as a code of
    # cases.reasons.ReasonCode with its values, worded in the reader's language when read.
    closing_reason = models.TextField(blank=True)
    closing_reason_code = models.CharField(max_length=64, blank=True)
    closing_reason_params = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            # The sweep: open deadlines whose next alert is due. Partial, so its size follows
            # the open deadlines with something still to fire, not the whole table.
            models.Index(
                fields=["next_alert_at"],
                condition=Q(status="open", next_alert_at__isnull=False),
                name="deadline_next_alert_open",
            ),
            models.Index(fields=["due_at"], condition=Q(status="open"), name="deadline_due_open"),
            models.Index(fields=["case", "status"]),
            # Overdue work: missed and not yet made good.
            models.Index(fields=["case"], condition=Q(status="missed", met_at__isnull=True), name="deadline_overdue"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=Q(status="open", kind__in=[kind.value for kind in SINGLETON_KINDS]),
                name="one_open_singleton_deadline_per_case",
            ),
            models.UniqueConstraint(
                fields=["evidence_request"],
                condition=Q(evidence_request__isnull=False),
                name="one_deadline_per_evidence_request",
            ),
            models.CheckConstraint(
                condition=Q(budget_amount__isnull=True) | Q(budget_amount__gte=1), name="deadline_budget_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.status} {self.due_at}"

    @property
    def is_fixed(self) -> bool:
        return self.budget_amount is None


# Who a case waits on is the case's own vocabulary (cases.models); its history reasons name it.
WaitingOn = CaseWaitingOn


class WaitSource(models.TextChoices):
    MANUAL = "manual", _("Staff")
    EVIDENCE_REQUEST = "evidence_request", _("Open evidence request")


class CaseWait(models.Model):
    """An interval in which the case waited on the client or the platform.

    Pausable clocks do not run inside these intervals; the intervals are kept (not just a
    shifted due time) so that any clock can be recomputed from its basis at any time.
    """

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="waits")
    waiting_on = models.CharField(max_length=16, choices=WaitingOn.choices)
    source = models.CharField(max_length=32, choices=WaitSource.choices, default=WaitSource.MANUAL)
    note = models.TextField(blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "waiting_on"], condition=Q(ended_at__isnull=True), name="one_open_wait_per_party"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} waits on {self.waiting_on} from {self.started_at}"


class AlertKind(models.TextChoices):
    REMINDER = "reminder", _("Reminder")
    MISSED = "missed", _("Missed and escalated")


class DeadlineAlert(models.Model):
    """One reminder or escalation that fired. The unique key makes a second firing impossible."""

    deadline = models.ForeignKey(Deadline, on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    offset_minutes = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField()
    fired_at = models.DateTimeField(default=timezone.now)
    recipients = models.JSONField(default=list)

    class Meta:
        ordering = ["fired_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["deadline", "kind", "offset_minutes", "due_at"], name="alert_fires_once"),
        ]

    def __str__(self) -> str:
        return f"{self.deadline_id} {self.kind} {self.offset_minutes}m"


# --- Notifications ----------------------------------------------------------------------


class NotificationKind(models.TextChoices):
    DEADLINE_REMINDER = "deadline_reminder", _("Deadline reminder")
    DEADLINE_MISSED = "deadline_missed", _("Deadline missed")
    DEADLINE_ESCALATION = "deadline_escalation", _("Missed deadline escalated")
    FOLLOW_UP_DUE = "follow_up_due", _("Time to follow up with the platform")
    CASE_ASSIGNED = "case_assigned", _("Case assigned to you")
    AUTO_ASSIGNMENT_FAILED = "auto_assignment_failed", _("A new case needs assigning")
    QUOTE_PROPOSED = "quote_proposed", _("A fee quote is waiting for you")
    QUOTE_DECIDED = "quote_decided", _("The client decided on the fee quote")
    MESSAGE_RECEIVED = "message_received", _("New message on a case")
    CALENDAR_YEAR_MISSING = "calendar_year_missing", _("A year's holiday arrangement is missing")


class EmailStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    NOT_SENT = "not_sent", _("Not sent (no address)")


class Notification(models.Model):
    """A message to one user, shown in the app and sent by e-mail.

    The text is rendered from ``kind`` and ``params`` in the reader's language when it is
    read (and in the recipient's preferred language for e-mail), so one row serves both.
    ``dedupe_key`` makes sending the same notice twice to the same person impossible.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    deadline = models.ForeignKey(Deadline, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    params = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    dedupe_key = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(max_length=16, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"]),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
            # E-mails still to send: the sweep re-queues those whose task never ran.
            models.Index(fields=["created_at"], condition=Q(email_status="pending"), name="notification_email_pending"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "dedupe_key"], name="notification_once_per_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.kind} {self.dedupe_key}"


# --- Talking to the platform ------------------------------------------------------------


class ContactChannel(models.TextChoices):
    APPEAL_PORTAL = "appeal_portal", _("Platform appeal centre")
    ONLINE_CHAT = "online_chat", _("Online chat with platform staff")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    OTHER = "other", _("Other")


class ContactDirection(models.TextChoices):
    OUTBOUND = "outbound", _("We contacted the platform")
    INBOUND = "inbound", _("The platform contacted us")


class PlatformContact(models.Model):
    """One contact with the platform about a submitted appeal: an append-only log."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="platform_contacts")
    channel = models.CharField(max_length=32, choices=ContactChannel.choices)
    direction = models.CharField(max_length=16, choices=ContactDirection.choices, default=ContactDirection.OUTBOUND)
    summary = models.TextField()
    platform_reference = models.CharField(max_length=100, blank=True)
    contacted_at = models.DateTimeField()
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    logged_at = models.DateTimeField(default=timezone.now)
    override_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-contacted_at", "-id"]
        indexes = [models.Index(fields=["case", "-contacted_at"])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.channel} @ {self.contacted_at:%Y-%m-%d %H:%M}"
