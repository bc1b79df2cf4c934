"""Serializers of the evidence API.

The upload, review and removal inputs and the item as staff see it, with its check (what
reading the file found and how it compares with the order); the item as the client sees it
in the portal (no staff identities, internal notes or checks); the text read from a file,
for both; evidence requests, as staff see them and as the client does (no staff names, no
internal reasons); the bulk acceptance of items whose checks match.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agency.api.fields import DueMomentField
from cases.api.serializers import UserRefSerializer
from cases.kinds import EvidenceKind
from evidence.comparing import Text
from evidence.models import (
    CheckOutcome,
    EvidenceCheck,
    EvidenceFinding,
    EvidenceItem,
    EvidenceRequest,
    EvidenceRequestItem,
    ReadMethod,
    RequestStatus,
    ReviewState,
    UploadSource,
)
from evidence.services import ReviewDecision

# Primary keys are 64-bit; a larger number is a bad id, not a database error.
MAX_ID = 2**63 - 1


class EvidenceUploadInputSerializer(serializers.Serializer[dict[str, Any]]):
    """Multipart form of an upload; the file's name, size and content are checked by evidence.uploads."""

    # An empty file gets the same message from evidence.uploads as every other refusal.
    file = serializers.FileField(
        allow_empty_file=True,
        use_url=False,
        help_text="The evidence file: a JPEG, PNG, GIF or WebP image, a PDF, or a plain-text or CSV chat export "
        "(UTF-8, UTF-16 with BOM, or GB18030). The type is read from the content and the extension must match it.",
    )
    kind = serializers.ChoiceField(choices=EvidenceKind.choices)
    order = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="The flagged order's id; leave out for evidence about the case as a whole.",
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    request = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="The evidence request this answers; any upload matching an open request item fulfils it anyway.",
    )
    supersedes = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="Id of an item of the same order that this file replaces (the only way to replace an item "
        "that went into a submitted appeal). Both stay in the history.",
    )


class ReviewInputSerializer(serializers.Serializer[dict[str, Any]]):
    decision = serializers.ChoiceField(choices=ReviewDecision.CHOICES)
    reason = serializers.CharField(
        max_length=5000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required to reject: the client sees it, so say what to fix.",
    )


class RemoveInputSerializer(serializers.Serializer[dict[str, Any]]):
    reason = serializers.CharField(max_length=5000)


class OrderRefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    platform_order_id = serializers.CharField()


class EvidenceFindingSerializer(serializers.ModelSerializer[EvidenceFinding]):
    name_display = serializers.CharField(source="get_name_display", read_only=True)
    result_display = serializers.CharField(source="get_result_display", read_only=True)

    class Meta:
        model = EvidenceFinding
        fields = ["name", "name_display", "result", "result_display", "expected", "found", "snippet", "page", "line"]
        read_only_fields = fields
        extra_kwargs = {
            "expected": {"help_text": "What the order says."},
            "found": {"help_text": "What the file says, where it says something (blank when nothing was found)."},
            "snippet": {"help_text": "The line of the file it was found in."},
            "page": {"help_text": "The page it was found on, counted from 1."},
            "line": {"help_text": "The line on that page, counted from 1."},
        }


class EvidenceCheckSerializer(serializers.ModelSerializer[EvidenceCheck]):
    """What reading the file found and how it compares with the item's order (staff only)."""

    # Blank until the first comparison, and the method until the file is read: the schema's enums say so.
    outcome = serializers.ChoiceField(
        choices=CheckOutcome.choices,
        allow_blank=True,
        read_only=True,
        help_text="The last comparison with the order; blank before the first. While the state is queued "
        "again it is the previous one.",
    )
    outcome_display = serializers.CharField(source="get_outcome_display", read_only=True)
    method = serializers.ChoiceField(
        choices=ReadMethod.choices, allow_blank=True, read_only=True, help_text="How the file was read."
    )
    findings = EvidenceFindingSerializer(many=True, read_only=True)
    text_url = serializers.SerializerMethodField(help_text="The text read from the file.")

    class Meta:
        model = EvidenceCheck
        fields = [
            "state",
            "outcome",
            "outcome_display",
            "method",
            "read_at",
            "checked_at",
            "pages_read",
            "pages_total",
            "read_error",
            "findings",
            "text_url",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "state": {"help_text": "queued: waiting to be checked (also again, after its order or rule changed)."}
        }

    def get_text_url(self, check: EvidenceCheck) -> str:
        return reverse("evidence-text", kwargs={"pk": check.item_id})


class EvidenceItemSerializer(serializers.ModelSerializer[EvidenceItem]):
    order = OrderRefSerializer(read_only=True, allow_null=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    uploaded_by = UserRefSerializer(read_only=True)
    review_state_display = serializers.CharField(source="get_review_state_display", read_only=True)
    reviewed_by = UserRefSerializer(read_only=True, allow_null=True)
    removed_by = UserRefSerializer(read_only=True, allow_null=True)
    locked = serializers.BooleanField(
        source="is_locked", read_only=True, help_text="Went into a submitted appeal: can be superseded only."
    )
    submitted_in_attempt = serializers.SerializerMethodField()
    active = serializers.BooleanField(
        source="is_active", read_only=True, help_text="Counts now: neither removed nor superseded."
    )
    download_url = serializers.SerializerMethodField()
    check = serializers.SerializerMethodField(
        help_text="What reading the file found, and how it compares with the order; null for an item without a "
        "check (every stored file gets one, so hardly ever)."
    )

    class Meta:
        model = EvidenceItem
        fields = [
            "id",
            "case",
            "order",
            "kind",
            "kind_display",
            "original_name",
            "size",
            "content_type",
            "sha256",
            "note",
            "request",
            "source",
            "uploaded_by",
            "uploaded_at",
            "review_state",
            "review_state_display",
            "review_reason",
            "reviewed_by",
            "reviewed_at",
            "locked",
            "submitted_in_attempt",
            "active",
            "superseded_by",
            "superseded_at",
            "removed_at",
            "removed_by",
            "removal_reason",
            "download_url",
            "check",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_submitted_in_attempt(self, item: EvidenceItem) -> int | None:
        """The number of the appeal attempt the item first went into, if any."""
        attempt = item.first_submitted_in
        return attempt.number if attempt is not None else None

    def get_download_url(self, item: EvidenceItem) -> str:
        return reverse("evidence-download", kwargs={"pk": item.pk})

    @extend_schema_field(EvidenceCheckSerializer(allow_null=True))
    def get_check(self, item: EvidenceItem) -> dict[str, Any] | None:
        # Loaded with the item (evidence.selectors); an item without a check row has none to show.
        check = getattr(item, "evidence_check", None)
        return EvidenceCheckSerializer(check).data if check is not None else None


# --- The client's view of an item (portal) --------------------------------------------------


class PortalEvidenceItemSerializer(serializers.ModelSerializer[EvidenceItem]):
    """What the merchant sees of an item.

    Who reviewed or removed it and why it was removed stay internal; a rejection reason
    is shown, because the client needs it to send a better file. A note is shown only on
    the client's own uploads (staff notes may be internal).
    """

    order = OrderRefSerializer(read_only=True, allow_null=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    review_state_display = serializers.CharField(source="get_review_state_display", read_only=True)
    rejection_reason = serializers.SerializerMethodField()
    note = serializers.SerializerMethodField()
    locked = serializers.BooleanField(
        source="is_locked", read_only=True, help_text="Went into a submitted appeal: can be superseded only."
    )
    active = serializers.BooleanField(
        source="is_active", read_only=True, help_text="Counts now: neither removed nor superseded."
    )
    can_remove = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceItem
        fields = [
            "id",
            "order",
            "kind",
            "kind_display",
            "original_name",
            "size",
            "content_type",
            "sha256",
            "note",
            "request",
            "source",
            "uploaded_at",
            "review_state",
            "review_state_display",
            "rejection_reason",
            "reviewed_at",
            "locked",
            "active",
            "superseded_by",
            "superseded_at",
            "removed_at",
            "can_remove",
            "download_url",
        ]
        read_only_fields = fields

    def get_rejection_reason(self, item: EvidenceItem) -> str:
        return item.review_reason if item.review_state == ReviewState.REJECTED else ""

    def get_note(self, item: EvidenceItem) -> str:
        return item.note if item.source == UploadSource.CLIENT else ""

    @extend_schema_field(serializers.BooleanField())
    def get_can_remove(self, item: EvidenceItem) -> bool:
        """The client's own upload, still counting, not in a submitted appeal, on an open case."""
        return item.source == UploadSource.CLIENT and item.is_active and not item.is_locked and item.case.is_open

    def get_download_url(self, item: EvidenceItem) -> str:
        return reverse("portal-evidence-download", kwargs={"pk": item.pk})


class PortalRemoveInputSerializer(serializers.Serializer[dict[str, Any]]):
    reason = serializers.CharField(max_length=5000, help_text="Why the file is taken back, for the case history.")


# --- The text read from a file (staff and portal) ------------------------------------------------


class EvidenceTextSerializer(serializers.ModelSerializer[EvidenceCheck]):
    """The text read from a file, and how; nothing about how it compares with the order."""

    method = serializers.ChoiceField(
        choices=ReadMethod.choices,
        allow_blank=True,
        read_only=True,
        help_text="How the file was read; blank while it has not been read yet.",
    )
    pages = serializers.SerializerMethodField(help_text="The same text as pages of lines.")

    class Meta:
        model = EvidenceCheck
        fields = ["method", "pages_read", "pages_total", "read_at", "text", "pages"]
        read_only_fields = fields
        extra_kwargs = {
            "read_at": {"help_text": "When the file was read; null while it has not been read yet."},
            "pages_total": {"help_text": "Pages in the file; only the first pages_read were read."},
            "text": {"help_text": "Pages separated by a form feed (\\f), lines by a newline."},
        }

    @extend_schema_field(serializers.ListField(child=serializers.ListField(child=serializers.CharField())))
    def get_pages(self, check: EvidenceCheck) -> list[list[str]]:
        return Text.parse(check.text).pages


# --- Accepting every item whose checks match ------------------------------------------------------


class AcceptMatchingInputSerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(
        choices=EvidenceKind.choices, required=False, help_text="Only items of this kind; all kinds when left out."
    )


class AcceptMatchingResultSerializer(serializers.Serializer[dict[str, Any]]):
    accepted = serializers.IntegerField(help_text="How many items were accepted.")
    items = EvidenceItemSerializer(many=True, help_text="The items accepted, as they are now.")


# --- Evidence requests: the staff view, and the client's ---------------------------------------


class RequestedOrderSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    platform_order_id = serializers.CharField()


class EvidenceRequestItemSerializer(serializers.ModelSerializer[EvidenceRequestItem]):
    order = RequestedOrderSerializer(allow_null=True, read_only=True, help_text="None: for the case as a whole.")
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    fulfilled = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceRequestItem
        fields = ["id", "order", "kind", "kind_display", "fulfilled", "fulfilled_by"]
        read_only_fields = fields

    def get_fulfilled(self, item: EvidenceRequestItem) -> bool:
        return item.fulfilled_by_id is not None


class PortalEvidenceRequestSerializer(serializers.ModelSerializer[EvidenceRequest]):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    items = EvidenceRequestItemSerializer(many=True, read_only=True)
    items_outstanding = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceRequest
        fields = [
            "id",
            "case",
            "status",
            "status_display",
            "message",
            "due_at",
            "created_at",
            "fulfilled_at",
            "cancelled_at",
            "items_outstanding",
            "items",
        ]
        read_only_fields = fields

    def get_items_outstanding(self, request: EvidenceRequest) -> int:
        # Counted from the prefetched items: no query per request.
        return sum(1 for item in request.items.all() if item.fulfilled_by_id is None)


class EvidenceRequestSerializer(PortalEvidenceRequestSerializer):
    created_by = serializers.CharField(source="created_by.label", read_only=True)
    cancelled_by = serializers.CharField(source="cancelled_by.label", read_only=True, allow_null=True)

    class Meta(PortalEvidenceRequestSerializer.Meta):
        fields = [*PortalEvidenceRequestSerializer.Meta.fields, "created_by", "cancelled_by", "cancellation_reason"]
        read_only_fields = fields


class RequestItemInputSerializer(serializers.Serializer[dict[str, Any]]):
    order = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    kind = serializers.ChoiceField(choices=EvidenceKind.choices)


class EvidenceRequestInputSerializer(serializers.Serializer[dict[str, Any]]):
    items = RequestItemInputSerializer(many=True, allow_empty=False)
    due_at = DueMomentField()
    message = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class CancelInputSerializer(serializers.Serializer[dict[str, Any]]):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RequestListQuerySerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.ChoiceField(choices=RequestStatus.choices, required=False)
