"""Administrators' API for API keys: create (the plaintext is shown once), list, read, revoke."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.fields import DueMomentField
from agency.api.permissions import IsAgencyStaff, current_user
from cases.api.serializers import OrganisationRefSerializer, UserRefSerializer
from integrations import api_keys
from integrations.models import ApiKey, KeyPermission


class IsAdministrator(BasePermission):
    message = _("Only administrators manage API keys.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return getattr(request.user, "role", None) in api_keys.KEY_ADMINISTRATORS


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    organisation = OrganisationRefSerializer(allow_null=True, read_only=True)
    created_by = UserRefSerializer(read_only=True)
    scope = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = [
            "prefix",
            "name",
            "scope",
            "organisation",
            "permission",
            "created",
            "created_by",
            "last_used_at",
            "expiry_date",
            "revoked",
            "revoked_at",
        ]
        read_only_fields = fields

    def get_scope(self, key: ApiKey) -> str:
        """'organisation' (sees one organisation, as its users do) or 'agency' (sees every case)."""
        return "organisation" if key.organisation_id is not None else "agency"


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(
        read_only=True, help_text="The key itself, shown only in this answer: `Authorization: Api-Key <key>`."
    )

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(max_length=api_keys.NAME_MAX_LENGTH)
    organisation = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="The client organisation the key is limited to; omit or null for an agency-wide key.",
    )
    permission = serializers.ChoiceField(choices=KeyPermission.choices)
    expiry_date = DueMomentField(required=False, allow_null=True)


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ApiKey]):
    """API keys other programs sign in with. Administrators only."""

    permission_classes = [IsAgencyStaff, IsAdministrator]
    serializer_class = ApiKeySerializer
    lookup_field = "prefix"
    lookup_url_kwarg = "prefix"
    lookup_value_regex = r"[A-Za-z0-9]{1,16}"
    filterset_fields = ["organisation", "permission", "revoked"]
    ordering_fields = ["created", "name", "last_used_at"]

    def get_queryset(self) -> QuerySet[ApiKey]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ApiKey.objects.none()
        return api_keys.api_key_list(actor=current_user(self.request))

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request) -> Response:
        """Make a key. The answer carries the key itself; it is stored hashed and never shown again."""
        data = ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, plaintext = api_keys.api_key_create(
            actor=current_user(request),
            name=data.validated_data["name"],
            organisation_id=data.validated_data.get("organisation"),
            permission=data.validated_data["permission"],
            expiry_date=data.validated_data.get("expiry_date"),
        )
        key.key = plaintext  # type: ignore[attr-defined]  # only on this instance, only for this answer
        return Response(ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ApiKeySerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, prefix: str) -> Response:
        """Revoke the key for good: it answers 401 from now on. Revoking a revoked key changes nothing."""
        key = api_keys.api_key_revoke(actor=current_user(request), key_id=prefix)
        return Response(ApiKeySerializer(api_keys.api_key_get(actor=current_user(request), key_id=key.prefix)).data)
