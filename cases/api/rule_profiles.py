"""Platform rule profiles over the API: every staff member reads them, administrators correct them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.permissions import HasStaffRole, IsAgencyStaff, current_user
from agency.api.schema import CONFLICT_RESPONSES
from cases.models import PlatformRuleProfile
from casework import services


class RuleProfileSerializer(serializers.ModelSerializer[PlatformRuleProfile]):
    class Meta:
        model = PlatformRuleProfile
        fields = [
            "id",
            "platform",
            "violation_type",
            "appeal_window_value",
            "appeal_window_unit",
            "attempt_limit",
            "chat_lookback_days",
            "required_evidence",
            "follow_up_min_gap_hours",
            "follow_up_max_silence_value",
            "follow_up_max_silence_unit",
            "notes",
            "updated_at",
        ]
        read_only_fields = ["id", "platform", "violation_type", "updated_at"]
        extra_kwargs = {
            "attempt_limit": {"min_value": 1, "max_value": 10},
            "appeal_window_value": {"min_value": 1, "max_value": 10_000},
            "chat_lookback_days": {"min_value": 1, "max_value": 3650},
            "follow_up_min_gap_hours": {
                "min_value": 1,
                "max_value": 720,
                "help_text": "Hours after the last outbound contact before the next one needs no reason.",
            },
            "follow_up_max_silence_value": {
                "min_value": 1,
                "max_value": 365,
                "help_text": "How long the platform may go without a contact, in the unit below, before a reminder.",
            },
            "required_evidence": {
                "help_text": 'Evidence kinds per goods type, for example {"physical": ["chat_log"], "virtual": [...]}'
            },
        }


class RuleProfileViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet[Any]
):
    """One profile per platform and violation type (all exist from the start); no create or delete."""

    permission_classes = [IsAgencyStaff, HasStaffRole]
    write_roles = services.RULE_PROFILE_EDITORS
    lookup_value_regex = r"[0-9]{1,18}"
    serializer_class = RuleProfileSerializer
    queryset = PlatformRuleProfile.objects.all()
    filterset_fields = ["platform", "violation_type"]
    ordering_fields = ["platform", "violation_type", "updated_at"]
    ordering = ["platform", "violation_type"]

    @extend_schema(responses={200: RuleProfileSerializer, **CONFLICT_RESPONSES})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Correct a profile: new cases take its attempt limit; open cases read its requirements."""
        profile = self.get_object()
        data = RuleProfileSerializer(profile, data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        updated = services.rule_profile_update(
            profile_id=profile.pk, actor=current_user(request), changes=data.validated_data
        )
        return Response(RuleProfileSerializer(updated).data)
