"""Staff profile endpoints: the platform skills and away flag that automatic assignment reads."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agency.accounts.models import User
from agency.api.fields import StrictBooleanField
from agency.api.permissions import IsAgencyStaff, current_user
from agency.organisations.models import Platform
from casework import assignment


class StaffSerializer(serializers.ModelSerializer[User]):
    name = serializers.CharField(source="label", read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "name",
            "role",
            "team",
            "team_name",
            "platform_skills",
            "is_away",
            "last_assigned_at",
        ]
        read_only_fields = fields


class StaffUpdateInputSerializer(serializers.Serializer[dict[str, Any]]):
    platform_skills = serializers.ListField(
        child=serializers.ChoiceField(choices=Platform.choices),
        required=False,
        allow_empty=True,
        max_length=len(Platform.choices) * 2,
        help_text="Platform codes this person handles; empty: automatic assignment gives them nothing.",
    )
    is_away = StrictBooleanField(required=False)


class AwayInputSerializer(serializers.Serializer[dict[str, Any]]):
    is_away = StrictBooleanField()


class StaffListView(ListAPIView[User]):
    """Agency staff with their assignment settings; supervisors and administrators only."""

    permission_classes = [IsAgencyStaff]
    serializer_class = StaffSerializer
    queryset = User.objects.none()  # for schema generation; get_queryset() answers requests

    def get_queryset(self) -> Any:
        return assignment.staff_list(actor=current_user(self.request))


class StaffDetailView(APIView):
    permission_classes = [IsAgencyStaff]

    @extend_schema(request=StaffUpdateInputSerializer, responses={200: StaffSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        """Set a staff member's platform skills and away flag; supervisors and administrators only."""
        data = StaffUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        staff = assignment.staff_profile_update(
            actor=current_user(request),
            user_id=pk,
            platform_skills=data.validated_data.get("platform_skills"),
            is_away=data.validated_data.get("is_away"),
        )
        return Response(StaffSerializer(staff).data)


class StaffMeAwayView(APIView):
    permission_classes = [IsAgencyStaff]

    @extend_schema(request=AwayInputSerializer, responses={200: StaffSerializer})
    def post(self, request: Request) -> Response:
        """Mark yourself away (no new cases are assigned to you automatically) or back."""
        data = AwayInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        staff = assignment.staff_away_set(actor=current_user(request), is_away=data.validated_data["is_away"])
        return Response(StaffSerializer(staff).data)
