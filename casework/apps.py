"""App config for casework: the steps of the process, put together across the apps."""

from django.apps import AppConfig


class CaseworkConfig(AppConfig):
    name = "casework"
    verbose_name = "Casework"
