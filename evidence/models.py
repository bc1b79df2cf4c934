"""Evidence: the files that prove each flagged order, their review, and requests to the client."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.kinds import EvidenceKind
from cases.models import AppealAttempt, Case, FlaggedOrder
from evidence.storage import evidence_storage, random_name


class ReviewState(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class UploadSource(models.TextChoices):
    STAFF = "staff", _("Agency staff")
    CLIENT = "client", _("Client")


class EvidenceItemQuerySet(models.QuerySet["EvidenceItem"]):
    def active(self) -> EvidenceItemQuerySet:
        """Items that count now: not removed and not superseded by a newer one."""
        return self.filter(removed_at__isnull=True, superseded_by__isnull=True)


class EvidenceItem(models.Model):
    """One file of evidence, for one flagged order or for the case as a whole.

    The file is stored under a random name; ``original_name`` is kept only for display and
    for the dossier. ``content_type`` is what the bytes are, not what the name claims.
    Once an item has gone into a submitted appeal (``first_submitted_in``) it is locked:
    it can be superseded by a new item for the next attempt but never removed or replaced.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence_items")
    order = models.ForeignKey(
        FlaggedOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence_items"
    )
    kind = models.CharField(max_length=32, choices=EvidenceKind.choices)
    file = models.FileField(storage=evidence_storage, upload_to=random_name, max_length=255)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    note = models.TextField(blank=True)
    source = models.CharField(max_length=16, choices=UploadSource.choices)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    request = models.ForeignKey(
        "EvidenceRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="uploads"
    )
    # The archive this item came in with (evidence.batches), if it was not a single upload.
    batch = models.ForeignKey("EvidenceBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="items")

    review_state = models.CharField(max_length=16, choices=ReviewState.choices, default=ReviewState.PENDING)
    review_reason = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    first_submitted_in = models.ForeignKey(
        AppealAttempt, null=True, blank=True, on_delete=models.PROTECT, related_name="first_items"
    )
    superseded_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="supersedes"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    removal_reason = models.TextField(blank=True)

    objects = EvidenceItemQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at", "id"]
        indexes = [
            models.Index(fields=["case", "order", "kind"]),
            models.Index(fields=["case", "sha256"]),
        ]
        constraints = [
            # The same bytes are stored once per order (or once per case for case-level
            # items) among the items that count; the service reports a repeat upload.
            models.UniqueConstraint(
                fields=["case", "order", "sha256"],
                condition=models.Q(removed_at__isnull=True, superseded_by__isnull=True),
                name="evidence_once_per_order",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=~models.Q(review_state=ReviewState.REJECTED) | ~models.Q(review_reason=""),
                name="rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"

    @property
    def is_locked(self) -> bool:
        return self.first_submitted_in_id is not None

    @property
    def is_active(self) -> bool:
        return self.removed_at is None and self.superseded_by_id is None


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    FULFILLED = "fulfilled", _("Fulfilled")
    CANCELLED = "cancelled", _("Cancelled")


class EvidenceRequest(models.Model):
    """Staff ask the client for specific items; fulfilled when every item has arrived."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence_requests")
    message = models.TextField(blank=True)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancellation_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["case", "status"])]

    def __str__(self) -> str:
        return f"request {self.pk} on {self.case_id}"


class EvidenceRequestItem(models.Model):
    """One thing a request asks for: a kind of evidence, for one order or for the case."""

    request = models.ForeignKey(EvidenceRequest, on_delete=models.PROTECT, related_name="items")
    order = models.ForeignKey(FlaggedOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32, choices=EvidenceKind.choices)
    fulfilled_by = models.ForeignKey(
        EvidenceItem, null=True, blank=True, on_delete=models.PROTECT, related_name="fulfils"
    )

    class Meta:
        ordering = ["request", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "order", "kind"], name="request_asks_once", nulls_distinct=False
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.order_id or 'the case'}"


class BatchStatus(models.TextChoices):
    RECEIVED = "received", _("Received, waiting to be read")
    PREVIEWING = "previewing", _("Being read")
    PREVIEWED = "previewed", _("Read, waiting for commit")
    COMMITTING = "committing", _("Storing the files")
    COMMITTED = "committed", _("Stored")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Could not be read")
    EXPIRED = "expired", _("Expired without a commit")


# A batch in one of these states still has work for a worker to do (evidence.batches).
BATCH_WORKING_STATES = (BatchStatus.RECEIVED, BatchStatus.PREVIEWING, BatchStatus.COMMITTING)


class EvidenceBatch(models.Model):
    """One archive (or several files sent together) of evidence for many orders of a case.

    The archive is kept in evidence storage until the batch is committed, cancelled or
    expires. ``preview`` holds what reading it found: for each file the order and kind it
    goes to or why not, totals, and per order the required kinds the batch completes.
    Committing stores every matched file as an evidence item pending review, in one
    transaction with one history row. Large archives are read and stored by a Celery task
    (``evidence.tasks``) that holds a lease while it works, so that a task whose worker
    died is taken over by the next sweep and resumes.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence_batches")
    source = models.CharField(max_length=16, choices=UploadSource.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=BatchStatus.choices, default=BatchStatus.RECEIVED)
    # The archive as received; blank once the batch is over.
    archive = models.FileField(storage=evidence_storage, upload_to=random_name, max_length=255, blank=True)
    archive_name = models.CharField(max_length=255)
    archive_size = models.PositiveBigIntegerField()
    archive_sha256 = models.CharField(max_length=64)
    # What the archive's directory says its files unpack to (whether it is read within a request goes by it).
    unpacked_size = models.PositiveBigIntegerField(default=0)
    # Where the batch's files are stored before they become items (a random folder in storage).
    storage_token = models.CharField(max_length=32, unique=True)
    commit_requested = models.BooleanField(default=False)
    mapping = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    preview = models.JSONField(null=True, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error = models.JSONField(null=True, blank=True)
    # A worker (or a request) holds the batch until lease_until, under its own lease_token;
    # past it, the sweep hands the batch to another, and the first may no longer change it.
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    stored_count = models.PositiveIntegerField(default=0)
    committed_at = models.DateTimeField(null=True, blank=True)
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "lease_until"]), models.Index(fields=["case", "status"])]
        constraints = [
            # The same archive is stored once per case, however often or concurrently it is committed.
            models.UniqueConstraint(
                fields=["case", "archive_sha256"],
                condition=models.Q(status="committed"),
                name="batch_archive_committed_once",
            ),
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.archive_name}) on {self.case_id}"


class KindKeywords(models.Model):
    """The words that name one evidence kind in folder and file names of a bulk upload.

    Editable data, like the rule profiles: administrators add the words their clients
    use. Matching is case-insensitive; where one keyword lies inside a longer one that
    matched (``delivery`` in ``signed_delivery``), only the longer counts.
    """

    kind = models.CharField(max_length=32, choices=EvidenceKind.choices, unique=True)
    keywords = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["kind"]
        verbose_name_plural = "kind keywords"

    def __str__(self) -> str:
        return f"{self.kind}: {', '.join(self.keywords)}"


# --- Checks: each file read and compared with its order (evidence.checks) ---------------------------


class CheckName(models.TextChoices):
    """What one check compares; rules (EvidenceCheckRule) combine them per evidence kind."""

    TRACKING_NUMBER = "tracking_number", _("Tracking number")
    COURIER = "courier", _("Courier")
    DELIVERED_AFTER_ORDER = "delivered_after_order", _("Dispatch, delivery or sign-off on or after the order")
    ORDER_ID = "order_id", _("Order id")
    BUYER = "buyer", _("Buyer handle or account")
    TIME_NEAR_ORDER = "time_near_order", _("A time near the order time")
    AMOUNT = "amount", _("Amount")


class FindingResult(models.TextChoices):
    MATCH = "match", _("Matches the order")
    MISMATCH = "mismatch", _("Contradicts the order")
    NOT_FOUND = "not_found", _("Not found in the file")
    UNREADABLE = "unreadable", _("The file could not be read")


class CheckOutcome(models.TextChoices):
    """One item's checks taken together, in the order a reviewer should look at them."""

    MISMATCH = "mismatch", _("Contradicts the order")
    UNREADABLE = "unreadable", _("Could not be read")
    NOT_FOUND = "not_found", _("Order details not found")
    MATCH = "match", _("Matches the order")
    UNCHECKED = "unchecked", _("No check applies")


class CheckState(models.TextChoices):
    QUEUED = "queued", _("Waiting to be checked")
    DONE = "done", _("Checked")


class ReadMethod(models.TextChoices):
    TEXT_LAYER = "text_layer", _("The PDF's text layer")
    TEXT = "text", _("Text file")
    OCR = "ocr", _("OCR")
    MIXED = "mixed", _("Text layer and OCR")
    NONE = "none", _("Not read")


class EvidenceCheck(models.Model):
    """What reading one evidence item found, and how it compares with the item's order.

    One row per item, created with the item. A worker reads the file (the text is kept
    here, under the file's access rules) and writes the findings, once, under a lease
    (``lease_token``): a worker that died mid-check loses the item to the next sweep.
    ``generation`` moves on when the order or the rules change, so a check compared
    against old facts is compared again; the text is not read twice.
    """

    item = models.OneToOneField(EvidenceItem, on_delete=models.CASCADE, related_name="evidence_check")
    state = models.CharField(max_length=16, choices=CheckState.choices, default=CheckState.QUEUED)
    outcome = models.CharField(max_length=16, choices=CheckOutcome.choices, blank=True)
    generation = models.PositiveIntegerField(default=1)
    requested_at = models.DateTimeField(default=timezone.now)
    # The reading: how, when, what (pages separated by form feeds, lines by newlines).
    method = models.CharField(max_length=16, choices=ReadMethod.choices, blank=True)
    text = models.TextField(blank=True)
    pages_read = models.PositiveIntegerField(default=0)
    pages_total = models.PositiveIntegerField(default=0)
    read_error = models.CharField(max_length=200, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["state", "lease_until"]), models.Index(fields=["outcome"])]

    def __str__(self) -> str:
        return f"check of item {self.item_id}: {self.outcome or self.state}"


class EvidenceFinding(models.Model):
    """One check's result on one item: what the order says, what the file says, and where."""

    evidence_check = models.ForeignKey(EvidenceCheck, on_delete=models.CASCADE, related_name="findings")
    name = models.CharField(max_length=32, choices=CheckName.choices)
    result = models.CharField(max_length=16, choices=FindingResult.choices)
    expected = models.CharField(max_length=255, blank=True)
    found = models.CharField(max_length=255, blank=True)
    snippet = models.CharField(max_length=500, blank=True)
    page = models.PositiveIntegerField(null=True, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["evidence_check", "id"]
        constraints = [models.UniqueConstraint(fields=["evidence_check", "name"], name="one_finding_per_check")]

    def __str__(self) -> str:
        return f"{self.name}: {self.result}"


class EvidenceCheckRule(models.Model):
    """How one evidence kind is compared with its order: editable data, like the rule profiles.

    ``groups`` lists alternatives, each a list of check names: the item matches when every
    check of one group matches (a chat log: the order id, or the buyer and a time near the
    order). Every check named anywhere runs and is reported. A kind with no rule, or an
    empty one, is not checked (its items are ``unchecked``).
    """

    kind = models.CharField(max_length=32, choices=EvidenceKind.choices, unique=True)
    groups = models.JSONField(default=list, blank=True)
    window_hours = models.PositiveIntegerField(
        default=72, help_text=_("How far from the order time a time may lie and still be near it.")
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.groups}"
