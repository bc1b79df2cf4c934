"""App config for cases: the case state machine, flagged orders and case history."""

from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Cases"
