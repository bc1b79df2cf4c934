"""App config for billing: the fee the agency quotes for a case and what the client owes after the outcome."""

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"
