"""App config for reports: read-only aggregates over cases, orders, deadlines and fees."""

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"
