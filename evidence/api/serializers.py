"""Serializers of the evidence API.

The upload, review and removal inputs and the item as staff see it; the item as the client
sees it in the portal (no staff identities or internal notes); evidence requests, as staff
see them and as the client does (no staff names, no internal reasons).
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agency.api.fields import DueMomentField
from cases.api.serializers import UserRefSerializer
from cases.kinds import EvidenceKind
from evidence.models import EvidenceItem, EvidenceRequest, EvidenceRequestItem, RequestStatus, ReviewState, UploadSource
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
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_submitted_in_attempt(self, item: EvidenceItem) -> int | None:
        """The number of the appeal attempt the item first went into, if any."""
        attempt = item.first_submitted_in
        return attempt.number if attempt is not None else None

    def get_download_url(self, item: EvidenceItem) -> str:
        return reverse("evidence-download", kwargs={"pk": item.pk})


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
