"""Staff endpoints for the log of contacts with the platform on a case, with its follow-up cadence."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.fields import DateTimeField, PastMomentField
from agency.api.permissions import IsAgencyStaff, current_user
from agency.api.schema import CONFLICT_RESPONSES
from cases.api.serializers import UserRefSerializer
from cases.models import WindowUnit
from workflows import contacts as service
from workflows.models import ContactChannel, ContactDirection, PlatformContact


class PlatformContactSerializer(serializers.ModelSerializer[PlatformContact]):
    logged_by = UserRefSerializer(read_only=True)

    class Meta:
        model = PlatformContact
        fields = [
            "id",
            "channel",
            "direction",
            "summary",
            "platform_reference",
            "contacted_at",
            "logged_by",
            "logged_at",
            "override_reason",
        ]
        read_only_fields = fields


class PlatformContactInputSerializer(serializers.Serializer[dict[str, Any]]):
    channel = serializers.ChoiceField(choices=ContactChannel.choices)
    direction = serializers.ChoiceField(
        choices=ContactDirection.choices,
        default=ContactDirection.OUTBOUND,
        help_text="outbound: the agency contacted the platform; inbound: the platform reached out.",
    )
    # Blank is refused by the service, with the same 400 and field name.
    summary = serializers.CharField(max_length=10_000, allow_blank=True, trim_whitespace=False)
    contacted_at = PastMomentField(
        required=False, allow_null=True, default=None, help_text="When the contact happened; defaults to now."
    )
    platform_reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    override_reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required for an outbound contact inside the profile's minimum gap since the last one.",
    )


class CadenceSerializer(serializers.Serializer[dict[str, Any]]):
    last_contact_at = DateTimeField(allow_null=True)
    next_contact_allowed_at = DateTimeField(
        allow_null=True, help_text="An outbound contact before this needs an override reason; null: any time."
    )
    follow_up_due_at = DateTimeField(
        allow_null=True, help_text="The current follow-up deadline (open, or missed and not yet made good)."
    )
    silence_exceeded = serializers.BooleanField()
    min_gap_hours = serializers.IntegerField()
    max_silence_value = serializers.IntegerField()
    max_silence_unit = serializers.ChoiceField(choices=WindowUnit.choices)


class PlatformContactPageSerializer(serializers.Serializer[dict[str, Any]]):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    cadence = CadenceSerializer()
    results = PlatformContactSerializer(many=True)


class CasePlatformContactsView(GenericAPIView[Any]):
    """Contacts with the platform on one case (GET), or a new one logged (POST). Staff only; never in the portal.

    GET answers one page of the log, newest first, in the usual page envelope with the
    case's follow-up cadence beside the results (so a screen needs one request):
    ``{"count", "next", "previous", "cadence": {...}, "results": [...]}``. The cadence
    says when the platform was last contacted, from when the next outbound contact needs
    no override reason, when the current follow-up is due and whether the silence has
    already gone on too long.
    """

    permission_classes = [IsAgencyStaff]
    serializer_class = PlatformContactSerializer
    filter_backends: list[Any] = []

    @extend_schema(responses={200: PlatformContactPageSerializer})
    def get(self, request: Request, case_id: int) -> Response:
        case = service.platform_contact_case_get(user=current_user(request), case_id=case_id)
        page = self.paginate_queryset(service.platform_contact_list(case=case))
        paginator: Any = self.paginator
        body = {
            "count": paginator.page.paginator.count,
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "cadence": CadenceSerializer(service.platform_contact_cadence(case=case)).data,
            "results": PlatformContactSerializer(page, many=True).data,
        }
        return Response(body)

    @extend_schema(
        request=PlatformContactInputSerializer, responses={201: PlatformContactSerializer, **CONFLICT_RESPONSES}
    )
    def post(self, request: Request, case_id: int) -> Response:
        """Log a contact while the platform reviews the appeal (409 otherwise).

        An outbound contact inside the rule profile's minimum gap since the last one
        needs ``override_reason`` (400 naming that field otherwise). Every contact meets
        the open follow-up deadline and starts the next one from its time.
        """
        data = PlatformContactInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = service.platform_contact_log(case_id=case_id, actor=current_user(request), **data.validated_data)
        return Response(PlatformContactSerializer(contact).data, status=status.HTTP_201_CREATED)
