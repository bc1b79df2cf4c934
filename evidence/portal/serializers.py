"""Client-safe representations of evidence for the portal: no staff identities or internal notes."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from evidence.api.serializers import OrderRefSerializer
from evidence.models import EvidenceItem, ReviewState, UploadSource


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
