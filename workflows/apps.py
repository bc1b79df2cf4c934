"""App config for workflows: background work (deadlines, reminders, notifications)."""

from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"
