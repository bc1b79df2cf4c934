"""Cases: the appeal state machine, the flagged orders it covers and its append-only history."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from agency.organisations.models import Platform
from cases.kinds import EvidenceKind
from cases.permissions import CASE_WORKERS, INTAKE_AND_CASE_WORKERS, client_of_case_or_supervisor, staff_roles


class WaitingOn(models.TextChoices):
    """Who a case is waiting on while its clocks pause."""

    CLIENT = "client", _("The client")
    PLATFORM = "platform", _("The platform")


class CaseState(models.TextChoices):
    INTAKE = "intake", _("Intake")
    ASSESSMENT = "assessment", _("Assessment")
    EVIDENCE = "evidence", _("Evidence collection")
    SUBMITTED = "submitted", _("Submitted to the platform")
    RESOLVED = "resolved", _("Resolved")
    REPUTATION_RECOVERY = "reputation_recovery", _("Reputation recovery")
    CLOSED = "closed", _("Closed")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")


TERMINAL_STATES = (CaseState.CLOSED, CaseState.DECLINED, CaseState.WITHDRAWN)
OPEN_STATES = tuple(state for state in CaseState if state not in TERMINAL_STATES)
# Details and flagged orders describe the notice; they may change only while the case is
# being set up, before the agency has committed to a strategy built on them.
EDITABLE_STATES = (CaseState.INTAKE, CaseState.ASSESSMENT)


class ViolationType(models.TextChoices):
    FAKE_TRANSACTION = "fake_transaction", _("Fake transaction")
    COUNTERFEIT = "counterfeit", _("Counterfeit goods")
    MISDESCRIPTION = "misdescription", _("Misdescription")
    INTELLECTUAL_PROPERTY = "intellectual_property", _("Intellectual property")
    OTHER = "other", _("Other")


class Severity(models.TextChoices):
    GENERAL = "general", _("General")
    SERIOUS = "serious", _("Serious")
    ESPECIALLY_SERIOUS = "especially_serious", _("Especially serious")


class Restriction(models.TextChoices):
    SEARCH_DEMOTION = "search_demotion", _("Search demotion")
    MARKETING_BAN = "marketing_ban", _("Ban from marketing events")
    LISTING_REMOVAL = "listing_removal", _("Listing removal")
    FINE = "fine", _("Fine")
    SALES_RESTRICTION = "sales_restriction", _("Sales restriction")
    FUNDS_FROZEN = "funds_frozen", _("Funds frozen")
    STORE_CLOSURE = "store_closure", _("Store closure")
    OTHER = "other", _("Other")


class Outcome(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    PARTIALLY_ACCEPTED = "partially_accepted", _("Partially accepted")
    REJECTED = "rejected", _("Rejected")


class OrderResult(models.TextChoices):
    CLEARED = "cleared", _("Cleared")
    UPHELD = "upheld", _("Upheld")


# An order's outcome while it is still to be appealed: none yet, or upheld by an earlier attempt.
NOT_CLEARED = ("", OrderResult.UPHELD)


class GoodsType(models.TextChoices):
    PHYSICAL = "physical", _("Physical goods")
    VIRTUAL = "virtual", _("Virtual goods")


class WindowUnit(models.TextChoices):
    HOURS = "hours", _("Hours")
    NATURAL_DAYS = "natural_days", _("Natural days")
    WORKING_DAYS = "working_days", _("Working days")


def validate_required_evidence(value: Any) -> None:
    """{"physical": [kind, ...], "virtual": [kind, ...]} with known kinds, each listed once."""
    if not isinstance(value, dict):
        raise ValidationError(_("Give an object with the keys physical and virtual."))
    unknown_types = sorted(set(value) - set(GoodsType.values))
    if unknown_types:
        raise ValidationError(_("Unknown goods types: %(types)s.") % {"types": ", ".join(unknown_types)})
    for goods_type, kinds in value.items():
        if not isinstance(kinds, list) or not all(isinstance(kind, str) for kind in kinds):
            raise ValidationError(_("%(type)s: give a list of evidence kinds.") % {"type": goods_type})
        unknown = sorted(set(kinds) - set(EvidenceKind.values))
        if unknown:
            raise ValidationError(
                _("%(type)s: unknown evidence kinds: %(kinds)s.") % {"type": goods_type, "kinds": ", ".join(unknown)}
            )
        if len(set(kinds)) != len(kinds):
            raise ValidationError(_("%(type)s: a kind is listed twice.") % {"type": goods_type})


class PlatformRuleProfile(models.Model):
    """What one platform expects of an appeal against one violation type.

    The numbers come from public summaries of platform rules and change without notice,
    so they are data that administrators edit, not code. A case takes its attempt limit
    from its profile when it is opened (the rule in force for its notice) and reads its
    evidence requirements from the profile whenever it is checked.
    """

    platform = models.CharField(max_length=16, choices=Platform.choices)
    violation_type = models.CharField(max_length=32, choices=ViolationType.choices)
    appeal_window_value = models.PositiveIntegerField(help_text=_("How long the appeal window is, in the unit below."))
    appeal_window_unit = models.CharField(max_length=16, choices=WindowUnit.choices)
    attempt_limit = models.PositiveSmallIntegerField(default=2)
    chat_lookback_days = models.PositiveIntegerField(
        default=75, help_text=_("For how many days after an order its chat evidence can still be pulled.")
    )
    # {"physical": [kind, ...], "virtual": [kind, ...]}; kinds from cases.kinds.EvidenceKind.
    required_evidence = models.JSONField(default=dict, validators=[validate_required_evidence])
    # The follow-up cadence while the platform reviews: contact it no sooner than the
    # minimum gap after the last contact (unless there is a reason) and no later than the
    # maximum silence.
    follow_up_min_gap_hours = models.PositiveIntegerField(default=24)
    follow_up_max_silence_value = models.PositiveIntegerField(default=3)
    follow_up_max_silence_unit = models.CharField(
        max_length=16, choices=WindowUnit.choices, default=WindowUnit.WORKING_DAYS
    )
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["platform", "violation_type"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "violation_type"], name="one_profile_per_platform_violation"),
            models.CheckConstraint(condition=models.Q(attempt_limit__gte=1), name="profile_allows_an_attempt"),
            models.CheckConstraint(condition=models.Q(appeal_window_value__gte=1), name="profile_window_positive"),
            models.CheckConstraint(
                condition=models.Q(follow_up_max_silence_value__gte=1), name="profile_silence_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} / {self.get_violation_type_display()}"

    def required_kinds(self, goods_type: str) -> list[str]:
        return list(self.required_evidence.get(goods_type, []))


def default_attempt_limit() -> int:
    return int(settings.DEFAULT_APPEAL_ATTEMPT_LIMIT)


class Case(ConcurrentTransitionMixin, models.Model):
    """One appeal against one violation notice on one shop.

    The state machine is declared here, once. Transition methods change only in-memory
    state; ``casework.transitions.case_transition`` checks permission and conditions, saves,
    and writes the history row in the same transaction.
    """

    reference = models.CharField(max_length=32, unique=True, editable=False)
    # The integrating program's own id for the case (its CRM or ERP record), unique per organisation.
    external_reference = models.CharField(max_length=100, blank=True)
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="cases")
    shop = models.ForeignKey("organisations.Shop", on_delete=models.PROTECT, related_name="cases")
    violation_type = models.CharField(max_length=32, choices=ViolationType.choices)
    severity = models.CharField(max_length=32, choices=Severity.choices, default=Severity.GENERAL)
    notice_received_at = models.DateTimeField(help_text=_("When the platform's violation notice arrived."))
    notice_period_start = models.DateTimeField(null=True, blank=True)
    notice_period_end = models.DateTimeField(null=True, blank=True)
    penalty_points = models.PositiveIntegerField(default=0)
    restrictions = models.JSONField(
        default=list, blank=True, help_text=_("Restriction codes, for example search_demotion.")
    )
    restrictions_note = models.TextField(blank=True)
    appeal_deadline = models.DateTimeField(null=True, blank=True, help_text=_("The platform's appeal deadline."))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_cases",
    )
    rule_profile = models.ForeignKey(
        PlatformRuleProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    appeal_attempts_used = models.PositiveSmallIntegerField(default=0)
    # Kept by casework.services in the same transaction that adds orders, so that lists and
    # the portal read it without counting rows on every request.
    flagged_order_count = models.PositiveIntegerField(default=0, editable=False)
    # Orders still to win: in the appeal (not excluded) and not cleared. Kept by the same
    # services (orders added, excluded or included, outcomes recorded) so that workload
    # and automatic assignment sum cases, not millions of orders.
    open_order_count = models.PositiveIntegerField(default=0, editable=False)
    # The last sequence number given to one of the case's outbox events (integrations).
    event_sequence = models.PositiveBigIntegerField(default=0, editable=False)
    appeal_attempt_limit = models.PositiveSmallIntegerField(default=default_attempt_limit)
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True)
    # The outcome in numbers, kept by casework.appeals when an outcome is recorded: orders
    # cleared and still upheld over every attempt, points restored, and when it was decided.
    # Stored so that reports aggregate cases, not millions of orders.
    outcome_at = models.DateTimeField(null=True, blank=True)
    orders_cleared = models.PositiveIntegerField(default=0)
    orders_upheld = models.PositiveIntegerField(default=0)
    points_restored = models.PositiveIntegerField(default=0)
    state = FSMField(default=CaseState.INTAKE, choices=CaseState.choices, protected=True, db_index=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    closing_reason = models.TextField(blank=True, help_text=_("Why the case was declined or withdrawn."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["assignee", "state"]),
            models.Index(fields=["organisation", "state"]),
            models.Index(fields=["outcome_at"], condition=~models.Q(outcome=""), name="case_outcome_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(appeal_attempts_used__lte=models.F("appeal_attempt_limit")),
                name="attempts_within_limit",
            ),
            models.UniqueConstraint(
                fields=["organisation", "external_reference"],
                condition=~models.Q(external_reference=""),
                name="one_case_per_external_reference",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    # The fields a transition may change; services save only these so that a transition
    # never writes back a stale copy of something another request changed meanwhile.
    TRANSITION_FIELDS = (
        "state",
        "state_changed_at",
        "appeal_attempts_used",
        "outcome",
        "outcome_at",
        "orders_cleared",
        "orders_upheld",
        "points_restored",
        "closing_reason",
        "updated_at",
    )

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    # --- Transitions ---------------------------------------------------------------
    # ``custom["label"]`` is the action's name for people; ``custom["requires"]`` names
    # the inputs it needs from the caller, and the service reports a missing one as an
    # unmet condition alongside the guards. The guards, and everything a transition does
    # beyond moving the state, are declared with its steps in casework.transitions: take
    # a transition through casework.transitions.case_transition, never by calling these.

    @transition(
        field=state,
        source=CaseState.INTAKE,
        target=CaseState.ASSESSMENT,
        permission=staff_roles(*INTAKE_AND_CASE_WORKERS),
        custom={"label": _("Start assessment")},
    )
    def start_assessment(self) -> None:
        pass

    @transition(
        field=state,
        source=[CaseState.INTAKE, CaseState.ASSESSMENT],
        target=CaseState.DECLINED,
        permission=staff_roles(*CASE_WORKERS),
        custom={"label": _("Decline"), "requires": ("reason",)},
    )
    def decline(self, *, reason: str) -> None:
        self.closing_reason = reason

    @transition(
        field=state,
        source=CaseState.ASSESSMENT,
        target=CaseState.EVIDENCE,
        permission=staff_roles(*CASE_WORKERS),
        custom={"label": _("Accept the case")},
    )
    def accept_case(self) -> None:
        pass

    @transition(
        field=state,
        source=CaseState.EVIDENCE,
        target=CaseState.SUBMITTED,
        permission=staff_roles(*CASE_WORKERS),
        custom={"label": _("Submit the appeal")},
    )
    def submit_appeal(self) -> None:
        self.appeal_attempts_used += 1
        self.outcome = ""

    @transition(
        field=state,
        source=CaseState.SUBMITTED,
        target=CaseState.RESOLVED,
        permission=staff_roles(*CASE_WORKERS),
        custom={"label": _("Record the outcome"), "requires": ("outcome",)},
    )
    def record_outcome(self, *, outcome: str) -> None:
        self.outcome = outcome

    @transition(
        field=state,
        source=CaseState.RESOLVED,
        target=CaseState.EVIDENCE,
        permission=staff_roles(*CASE_WORKERS),
        custom={"label": _("Appeal again")},
    )
    def reappeal(self) -> None:
        pass

    @transition(
        field=state,
        source=CaseState.RESOLVED,
        target=CaseState.REPUTATION_RECOVERY,
        permission=staff_roles(*CASE_WORKERS),
        custom={"label": _("Start reputation recovery")},
    )
    def start_recovery(self) -> None:
        pass

    @transition(
        field=state,
        source=[CaseState.RESOLVED, CaseState.REPUTATION_RECOVERY],
        target=CaseState.CLOSED,
        permission=staff_roles(*CASE_WORKERS),
        custom={"label": _("Close")},
    )
    def close(self) -> None:
        pass

    @transition(
        field=state,
        source=list(OPEN_STATES),
        target=CaseState.WITHDRAWN,
        permission=client_of_case_or_supervisor,
        custom={"label": _("Withdraw"), "requires": ("reason",)},
    )
    def withdraw(self, *, reason: str) -> None:
        self.closing_reason = reason


class FlaggedOrder(models.Model):
    """One order the platform's notice flags; the appeal must prove each one was real."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="flagged_orders")
    platform_order_id = models.CharField(max_length=64)
    order_time = models.DateTimeField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="CNY")
    buyer_handle = models.CharField(max_length=150, blank=True)
    goods_type = models.CharField(max_length=16, choices=GoodsType.choices, default=GoodsType.PHYSICAL)
    courier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Staff may leave an order out of the appeal (for example a genuine violation the
    # merchant admits); it then needs no evidence. Clearing excluded_at brings it back.
    excluded_at = models.DateTimeField(null=True, blank=True)
    excluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    exclusion_reason = models.TextField(blank=True)
    # The platform's latest decision on this order (casework.appeals): blank until an outcome.
    outcome = models.CharField(max_length=16, choices=OrderResult.choices, blank=True)
    points_restored = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order_time", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "platform_order_id"], name="unique_order_per_case"),
        ]
        indexes = [models.Index(fields=["platform_order_id"])]

    def __str__(self) -> str:
        return self.platform_order_id


class ReferenceSequence(models.Model):
    """The last case number used in a year, so references read AP-2026-000123."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class EventKind(models.TextChoices):
    CREATED = "created", _("Case created")
    DETAILS_UPDATED = "details_updated", _("Details updated")
    STATE_CHANGED = "state_changed", _("State changed")
    ASSIGNED = "assigned", _("Assigned")
    FLAGGED_ORDERS_ADDED = "flagged_orders_added", _("Flagged orders added")
    FLAGGED_ORDERS_IMPORTED = "flagged_orders_imported", _("Flagged orders imported")
    ORDER_EXCLUDED = "order_excluded", _("Order excluded from the appeal")
    ORDER_INCLUDED = "order_included", _("Order included in the appeal again")
    EVIDENCE_UPLOADED = "evidence_uploaded", _("Evidence uploaded")
    EVIDENCE_BATCH_UPLOADED = "evidence_batch_uploaded", _("Evidence uploaded in a batch")
    EVIDENCE_REVIEWED = "evidence_reviewed", _("Evidence reviewed")
    EVIDENCE_REMOVED = "evidence_removed", _("Evidence removed")
    EVIDENCE_SUPERSEDED = "evidence_superseded", _("Evidence superseded")
    EVIDENCE_REQUESTED = "evidence_requested", _("Evidence requested")
    EVIDENCE_REQUEST_FULFILLED = "evidence_request_fulfilled", _("Evidence request fulfilled")
    EVIDENCE_REQUEST_CANCELLED = "evidence_request_cancelled", _("Evidence request cancelled")
    DEADLINE_SET = "deadline_set", _("Deadline set")
    DEADLINE_MOVED = "deadline_moved", _("Deadline moved")
    DEADLINE_MET = "deadline_met", _("Deadline met")
    DEADLINE_MISSED = "deadline_missed", _("Deadline missed")
    DEADLINE_CANCELLED = "deadline_cancelled", _("Deadline cancelled")
    DEADLINE_REOPENED = "deadline_reopened", _("Deadline reopened")
    REMINDER_SENT = "reminder_sent", _("Reminder sent")
    CLOCKS_PAUSED = "clocks_paused", _("Clocks paused")
    CLOCKS_RESUMED = "clocks_resumed", _("Clocks resumed")
    PLATFORM_CONTACTED = "platform_contacted", _("Platform contacted")
    AUTO_ASSIGNMENT_FAILED = "auto_assignment_failed", _("No case manager could be assigned")
    ASSESSMENT_RECORDED = "assessment_recorded", _("Assessment recorded")
    QUOTE_PROPOSED = "quote_proposed", _("Fee quote proposed")
    QUOTE_WITHDRAWN = "quote_withdrawn", _("Fee quote withdrawn")
    QUOTE_ACCEPTED = "quote_accepted", _("Fee quote accepted")
    QUOTE_REJECTED = "quote_rejected", _("Fee quote rejected")
    FEE_DUE_COMPUTED = "fee_due_computed", _("Fee due computed")
    NOTE_ADDED = "note_added", _("Internal note added")
    MESSAGE_POSTED = "message_posted", _("Message posted")
    ATTEMPT_UPDATED = "attempt_updated", _("Appeal attempt updated")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("Platform asked for more material")
    SUPPLEMENT_ANSWERED = "supplement_answered", _("Supplement sent to the platform")
    ORDER_OUTCOMES_RECORDED = "order_outcomes_recorded", _("Outcome recorded per order")
    RECOVERY_PLAN_CREATED = "recovery_plan_created", _("Recovery plan created")
    RECOVERY_TASK_CHANGED = "recovery_task_changed", _("Recovery task changed")
    RECOVERY_PLAN_WAIVED = "recovery_plan_waived", _("Recovery plan waived")


class AppendOnlyQuerySet(models.QuerySet["CaseEvent"]):
    """History rows are written once; bulk edits and deletes are refused outright."""

    def update(self, **kwargs: Any) -> int:
        raise TypeError("Case history is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Case history is append-only.")


class CaseEvent(models.Model):
    """One row of a case's append-only history: who did what, when, from what to what.

    On PostgreSQL a trigger also refuses UPDATE and DELETE, so not even raw SQL from the
    application can rewrite history.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    old_value = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    new_value = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    # Why: what a person typed, kept as typed; or, for a reason the system gives, a code of
    # cases.reasons.ReasonCode with its values, worded in the reader's language when read
    # (cases.reasons.reason_text). One or the other, never both.
    reason = models.TextField(blank=True)
    reason_code = models.CharField(max_length=64, blank=True)
    reason_params = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    client_visible = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[CaseEvent]] = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at", "id"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reason="") | models.Q(reason_code=""), name="event_reason_typed_or_coded"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} @ {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("Case history is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("Case history is append-only.")


class AppealAttempt(models.Model):
    """One submission of the appeal to the platform, with exactly the evidence it carried.

    ``manifest`` lists every evidence item (id, order, kind, SHA-256) that went in, so the
    agency can always say what the platform saw on each attempt, even after items are
    superseded for the next one. An attempt is in flight until its outcome is recorded
    (``decided_at``); a platform handles one appeal per violation at a time, so a case
    has at most one attempt in flight, which the database enforces too.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="appeal_attempts")
    number = models.PositiveSmallIntegerField()
    submitted_at = models.DateTimeField(default=timezone.now)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    manifest = models.JSONField(default=list, encoder=DjangoJSONEncoder)
    # The number the platform gives the appeal (申诉单号), entered when the platform issues it.
    platform_reference = models.CharField(max_length=100, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # This attempt's own result over the orders it appealed (the case's outcome is cumulative).
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True)
    orders_cleared = models.PositiveIntegerField(default=0)
    orders_upheld = models.PositiveIntegerField(default=0)
    points_restored = models.PositiveIntegerField(default=0)
    outcome_note = models.TextField(blank=True)

    class Meta:
        ordering = ["case", "number"]
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="one_attempt_number_per_case"),
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(decided_at__isnull=True), name="one_attempt_in_flight_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} attempt {self.number}"


class OrderOutcome(models.Model):
    """The platform's decision on one order in one appeal attempt (the order keeps the latest)."""

    attempt = models.ForeignKey(AppealAttempt, on_delete=models.PROTECT, related_name="order_outcomes")
    order = models.ForeignKey(FlaggedOrder, on_delete=models.PROTECT, related_name="outcomes")
    result = models.CharField(max_length=16, choices=OrderResult.choices)
    points_restored = models.PositiveIntegerField(default=0)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["attempt", "order"]
        constraints = [models.UniqueConstraint(fields=["attempt", "order"], name="one_outcome_per_order_per_attempt")]

    def __str__(self) -> str:
        return f"{self.attempt_id}/{self.order_id}: {self.result}"


class SupplementStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CANCELLED = "cancelled", _("Cancelled")


class SupplementRequest(models.Model):
    """The platform asked for more material on an attempt in flight, by a due time of its own."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="supplement_requests")
    attempt = models.ForeignKey(AppealAttempt, on_delete=models.PROTECT, related_name="supplement_requests")
    received_at = models.DateTimeField()
    description = models.TextField()
    due_at = models.DateTimeField()
    platform_reference = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=SupplementStatus.choices, default=SupplementStatus.OPEN)
    deadline = models.OneToOneField(
        "workflows.Deadline", null=True, blank=True, on_delete=models.PROTECT, related_name="supplement_request"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_at", "id"]
        indexes = [models.Index(fields=["case", "status"])]

    def __str__(self) -> str:
        return f"{self.case_id} supplement {self.pk} ({self.status})"


class SupplementResponse(models.Model):
    """What the agency sent the platform in answer to a supplement request."""

    request = models.ForeignKey(SupplementRequest, on_delete=models.PROTECT, related_name="responses")
    responded_at = models.DateTimeField(default=timezone.now)
    responded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    summary = models.TextField()
    # Evidence items sent with the answer: [{"item", "order", "kind", "sha256"}].
    manifest = models.JSONField(default=list, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["responded_at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id} response {self.pk}"


class SuspectedCause(models.TextChoices):
    PROMOTION_MISREAD = "promotion_misread", _("A normal promotion misread as fake trading")
    COMPETITOR_BRUSHING = "competitor_brushing", _("A competitor's malicious brushing")
    EMPLOYEE_ERROR = "employee_error", _("An employee's mistake")
    GENUINE_VIOLATION = "genuine_violation", _("A genuine violation")
    UNKNOWN = "unknown", _("Unknown")


class Recommendation(models.TextChoices):
    TAKE = "take", _("Take the case")
    DECLINE = "decline", _("Decline the case")


class Assessment(models.Model):
    """Step 2: why the platform flagged the shop, whether to take the case, and how to win it.

    Internal to the agency: the client sees the fee quote that follows, never this.
    """

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="assessment")
    causes = models.JSONField(default=list, blank=True, help_text=_("Suspected causes (SuspectedCause codes)."))
    cause_notes = models.TextField(blank=True)
    merit_score = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("The estimated chance of success, 0 to 100.")
    )
    strategy = models.TextField(blank=True)
    recommendation = models.CharField(max_length=16, choices=Recommendation.choices, blank=True)
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(merit_score__isnull=True) | models.Q(merit_score__lte=100),
                name="merit_score_at_most_100",
            )
        ]

    def __str__(self) -> str:
        return f"assessment of {self.case_id}"


class OrderCause(models.Model):
    """The suspected cause for one flagged order, where it differs from the case's."""

    order = models.OneToOneField(FlaggedOrder, on_delete=models.PROTECT, related_name="suspected_cause")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="order_causes")
    cause = models.CharField(max_length=32, choices=SuspectedCause.choices)
    note = models.TextField(blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.cause}"


class CaseNote(models.Model):
    """An internal note on a case: staff only, never shown to a client or sent to an integration."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at", "id"])]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.case_id}"


class CaseMessage(models.Model):
    """One message in the thread between the agency and the client on a case."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_client = models.BooleanField()
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at", "id"])]

    def __str__(self) -> str:
        return f"message {self.pk} on {self.case_id}"


class CaseStateSpan(models.Model):
    """A stretch of time a case spent in one state; ``left_at`` is empty while it is there.

    Written by the transition service beside the history row, so that reports take the
    median time per state with one aggregate query instead of replaying history.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="state_spans")
    state = models.CharField(max_length=32, choices=CaseState.choices)
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    seconds = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["case", "entered_at", "id"]
        indexes = [
            models.Index(fields=["state", "seconds"], condition=models.Q(left_at__isnull=False), name="span_closed")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(left_at__isnull=True), name="one_open_span_per_case"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.state} {self.entered_at}"
