"""App config for client organisations, their users and their shops."""

from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "agency.organisations"
    label = "organisations"
    verbose_name = "Client organisations"
