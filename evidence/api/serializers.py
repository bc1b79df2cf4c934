"""Serializers for the staff evidence API: the upload, review and removal inputs and the item staff see."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.api.serializers import UserRefSerializer
from cases.kinds import EvidenceKind
from evidence.models import EvidenceItem
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
