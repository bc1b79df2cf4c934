"""App config for integrations: API keys, the event outbox and webhooks, idempotent writes."""

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"
