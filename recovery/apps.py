"""App config for recovery: the reputation recovery plan that follows an outcome."""

from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "recovery"
    verbose_name = "Reputation recovery"
