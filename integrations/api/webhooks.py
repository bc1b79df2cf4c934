"""Webhook subscriptions and their delivery log over the API; administrators only."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiCallback, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.fields import DateTimeField, StrictBooleanField
from agency.api.permissions import IsAgencyStaff, current_user
from agency.organisations.models import Organisation
from integrations import webhooks as service
from integrations.models import DeliveryStatus, EventType, WebhookDelivery, WebhookSubscription


class IsWebhookAdministrator(BasePermission):
    message = _("Only administrators manage webhooks.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return getattr(request.user, "role", None) in service.WEBHOOK_ADMINS


# --- The payload a receiver gets (documented as a callback of the create operation) ------


class WebhookCaseSnapshotSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    external_reference = serializers.CharField(help_text="The integrating program's own id for the case.")
    organisation = serializers.IntegerField()
    state = serializers.CharField()
    outcome = serializers.CharField()
    assignee = serializers.IntegerField(allow_null=True)
    flagged_order_count = serializers.IntegerField()
    updated_at = DateTimeField()


class WebhookEventDataSerializer(serializers.Serializer[Any]):
    case = WebhookCaseSnapshotSerializer(help_text="The case as it was when the event happened.")
    values = serializers.JSONField(
        allow_null=True, help_text='What the change set, for example {"state": ..., "transition": ...}.'
    )


WEBHOOK_EVENT_DESCRIPTION = (
    "The JSON body of every webhook POST. Headers: Webhook-Id (the event id; dedupe by it, delivery is at "
    "least once), Webhook-Timestamp (unix seconds) and Webhook-Signature: v1= followed by the hex HMAC-SHA256, "
    "keyed with the subscription's secret, of \"{timestamp}.{body}\". A case's events arrive in sequence order."
)
# Built with inline_serializer: a Serializer class cannot have a field called "data".
WebhookEventSerializer = inline_serializer(
    name="WebhookEvent",
    fields={
        "id": serializers.UUIDField(help_text="The event id; the same on every retry."),
        "type": serializers.ChoiceField(choices=EventType.choices),
        "occurred_at": DateTimeField(),
        "sequence": serializers.IntegerField(
            help_text="Counts the case's events from 1: order by it, spot gaps with it."
        ),
        "case": serializers.IntegerField(allow_null=True),
        "data": WebhookEventDataSerializer(),
    },
)


WEBHOOK_CALLBACK = OpenApiCallback(
    name="event",
    path="{$request.body#/url}",
    decorator={
        "post": extend_schema(
            summary="A domain event, delivered to the subscription's URL",
            description=WEBHOOK_EVENT_DESCRIPTION,
            request=WebhookEventSerializer,
            responses={200: OpenApiResponse(description="Any 2xx: delivered. Anything else is retried.")},
        )
    },
)


# --- Subscriptions -----------------------------------------------------------------------


class WebhookSubscriptionSerializer(serializers.ModelSerializer[WebhookSubscription]):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), help_text="Event types wanted; empty for all."
    )

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "organisation", "description", "active", "created_at", "updated_at"]
        read_only_fields = fields


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(help_text="Shown only in this response: store it to verify signatures.")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookSubscriptionInputSerializer(serializers.Serializer[Any]):
    url = serializers.URLField(max_length=500, help_text="https, on a public address.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        required=False,
        default=list,
        help_text="Event types wanted; empty for all.",
    )
    secret = serializers.CharField(
        required=False, default="", min_length=16, max_length=128, write_only=True, help_text="Generated if not given."
    )
    organisation = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Only this organisation's events; null for every organisation's.",
    )
    description = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    active = StrictBooleanField(required=False, default=True)


class WebhookSubscriptionUpdateSerializer(serializers.Serializer[Any]):
    url = serializers.URLField(required=False, max_length=500)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices), required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)
    active = StrictBooleanField(required=False)


class WebhookSubscriptionViewSet(viewsets.GenericViewSet[Any]):
    """Webhook subscriptions: where the domain events go. Administrators only."""

    permission_classes = [IsAgencyStaff, IsWebhookAdministrator]
    lookup_value_regex = r"[0-9]{1,18}"
    serializer_class = WebhookSubscriptionSerializer
    queryset = WebhookSubscription.objects.none()  # for the schema only; the service selects
    filter_backends: list[Any] = []

    @extend_schema(tags=["webhooks"], responses={200: WebhookSubscriptionSerializer(many=True)})
    def list(self, request: Request) -> Response:
        """Every subscription, newest first."""
        found = service.webhook_subscription_list(actor=current_user(request))
        page = self.paginate_queryset(found)
        return self.get_paginated_response(WebhookSubscriptionSerializer(page, many=True).data)

    @extend_schema(
        tags=["webhooks"],
        request=WebhookSubscriptionInputSerializer,
        responses={201: WebhookSubscriptionCreatedSerializer},
        callbacks=[WEBHOOK_CALLBACK],
    )
    def create(self, request: Request) -> Response:
        """Subscribe a URL to events; the answer shows the signing secret, this once."""
        data = WebhookSubscriptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = service.webhook_subscription_create(actor=current_user(request), **data.validated_data)
        return Response(WebhookSubscriptionCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=["webhooks"], responses={200: WebhookSubscriptionSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        subscription = service.webhook_subscription_get(actor=current_user(request), subscription_id=int(pk))
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(
        tags=["webhooks"], request=WebhookSubscriptionUpdateSerializer, responses={200: WebhookSubscriptionSerializer}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        """Change the URL, the events, the description, or pause (active=false) and resume."""
        data = WebhookSubscriptionUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = service.webhook_subscription_update(
            actor=current_user(request), subscription_id=int(pk), changes=data.validated_data
        )
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(tags=["webhooks"], responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        """Remove a subscription and its delivery log."""
        service.webhook_subscription_delete(actor=current_user(request), subscription_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Deliveries --------------------------------------------------------------------------


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    event_type = serializers.ChoiceField(source="event.type", choices=EventType.choices)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_type",
            "case",
            "sequence",
            "status",
            "attempts",
            "last_status_code",
            "last_latency_ms",
            "last_error",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
            "created_at",
        ]
        read_only_fields = fields


class DeliveryListQuerySerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False, allow_blank=True, default="")


class WebhookDeliveryListView(GenericAPIView[Any]):
    permission_classes = [IsAgencyStaff, IsWebhookAdministrator]
    serializer_class = WebhookDeliverySerializer
    filter_backends: list[Any] = []

    @extend_schema(
        tags=["webhooks"],
        parameters=[DeliveryListQuerySerializer],
        responses={200: WebhookDeliverySerializer(many=True)},
    )
    def get(self, request: Request, pk: int) -> Response:
        """A subscription's deliveries, newest first, with the last status code, latency and error."""
        query = DeliveryListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = service.webhook_delivery_list(
            actor=current_user(request), subscription_id=pk, status=query.validated_data["status"]
        )
        page = self.paginate_queryset(found)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


class WebhookDeliveryResendView(GenericAPIView[Any]):
    permission_classes = [IsAgencyStaff, IsWebhookAdministrator]
    serializer_class = WebhookDeliverySerializer

    @extend_schema(tags=["webhooks"], request=None, responses={202: WebhookDeliverySerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Send a delivery again now (delivered or failed alike); receivers dedupe by event id."""
        delivery = service.webhook_delivery_resend(actor=current_user(request), delivery_id=pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
