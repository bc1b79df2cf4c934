"""Staff API for client organisations and their shops."""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.permissions import HasStaffRole, IsAgencyStaff, current_user
from agency.organisations import selectors, services
from agency.organisations.models import Organisation, Platform, Shop


class OrganisationSerializer(serializers.ModelSerializer[Organisation]):
    shop_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Organisation
        fields = ["id", "name", "contact_email", "contact_phone", "shop_count", "created_at"]
        read_only_fields = ["id", "shop_count", "created_at"]


class ShopSerializer(serializers.ModelSerializer[Shop]):
    organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.all())
    platform = serializers.ChoiceField(choices=Platform.choices)

    class Meta:
        model = Shop
        fields = ["id", "organisation", "platform", "platform_shop_id", "name", "created_at"]
        read_only_fields = ["id", "created_at"]
        # Uniqueness is checked by the service so that the error names the field plainly.
        validators: list[Any] = []


class OrganisationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Organisation]):
    permission_classes = [IsAgencyStaff, HasStaffRole]
    # Ids are positive bigints; anything else is a 404 from the router, not a 500 later.
    lookup_value_regex = r"[0-9]{1,18}"
    write_roles = services.ORGANISATION_WRITERS
    serializer_class = OrganisationSerializer
    filter_backends = [DjangoFilterBackend, SearchFilter, OrderingFilter]
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> Any:
        return selectors.organisation_list()

    def create(self, request: Request) -> Response:
        data = OrganisationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organisation = services.organisation_create(actor=current_user(request), **data.validated_data)
        return Response(OrganisationSerializer(self.get_queryset().get(pk=organisation.pk)).data, status=201)

    def partial_update(self, request: Request, pk: str) -> Response:
        organisation = self.get_object()
        data = OrganisationSerializer(organisation, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.organisation_update(
            actor=current_user(request), organisation=organisation, changes=data.validated_data
        )
        return Response(OrganisationSerializer(self.get_queryset().get(pk=organisation.pk)).data)


class ShopViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Shop]):
    permission_classes = [IsAgencyStaff, HasStaffRole]
    # Ids are positive bigints; anything else is a 404 from the router, not a 500 later.
    lookup_value_regex = r"[0-9]{1,18}"
    write_roles = services.ORGANISATION_WRITERS
    serializer_class = ShopSerializer
    filterset_fields = ["organisation", "platform"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> Any:
        return selectors.shop_list()

    @extend_schema(responses={201: ShopSerializer})
    def create(self, request: Request) -> Response:
        data = ShopSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shop = services.shop_create(actor=current_user(request), **data.validated_data)
        return Response(ShopSerializer(shop).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ShopSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        shop = self.get_object()
        data = ShopSerializer(shop, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.shop_update(actor=current_user(request), shop=shop, changes=data.validated_data)
        return Response(ShopSerializer(shop).data)
