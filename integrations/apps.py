"""App config for integrations: API keys, the event outbox and webhooks, idempotent writes."""

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Registers the OpenAPI description of the Api-Key scheme with drf-spectacular.
        # Connects the receiver that writes each case history row's events into the outbox.
        from integrations import (
            events,  # noqa: F401
            schema,  # noqa: F401
        )
