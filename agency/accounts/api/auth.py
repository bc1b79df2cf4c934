"""Authentication endpoints: token sign-in, sign-out and the signed-in user's profile."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agency.accounts import services
from agency.accounts.models import User
from agency.accounts.throttling import LoginRateThrottle
from agency.api.permissions import current_user
from agency.organisations.models import Membership


class LoginInputSerializer(serializers.Serializer[dict[str, Any]]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class TokenView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        request=LoginInputSerializer,
        responses={200: inline_serializer("Token", {"token": serializers.CharField()})},
        auth=[],
        description="Exchange a username and password for an API token (`Authorization: Token <token>`). "
        "Repeated failures for one username from one address answer 429 with Retry-After.",
    )
    def post(self, request: Request) -> Response:
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = services.token_obtain(
            username=data.validated_data["username"],
            password=data.validated_data["password"],
            address=LoginRateThrottle().get_ident(request),
        )
        return Response({"token": token})


class MeSerializer(serializers.ModelSerializer[User]):
    name = serializers.CharField(source="label")
    organisations = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name", "email", "role", "team", "organisations"]

    def get_organisations(self, user: User) -> list[dict[str, Any]]:
        memberships = Membership.objects.filter(user=user).select_related("organisation")
        return [{"id": m.organisation_id, "name": m.organisation.name} for m in memberships]


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        """Who the caller is: role, team and (for client users) organisations."""
        return Response(MeSerializer(current_user(request)).data)
