"""URL patterns under /api/v1/ (included by agency.urls): API keys, webhook subscriptions and their deliveries."""

from django.urls import URLPattern, URLResolver, include, path

import agency.api.converters  # noqa: F401  (registers <id:...>)
from agency.api.routers import api_router
from integrations.api.api_keys import ApiKeyViewSet
from integrations.api.webhooks import WebhookDeliveryListView, WebhookDeliveryResendView, WebhookSubscriptionViewSet

router = api_router()
router.register("api-keys", ApiKeyViewSet, basename="api-key")
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")

urlpatterns: list[URLPattern | URLResolver] = [
    path("webhooks/<id:pk>/deliveries/", WebhookDeliveryListView.as_view(), name="webhook-deliveries"),
    path("webhook-deliveries/<id:pk>/resend/", WebhookDeliveryResendView.as_view(), name="webhook-delivery-resend"),
    path("", include(router.urls)),
]
