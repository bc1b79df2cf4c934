"""App config for user accounts, staff roles and teams."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "agency.accounts"
    label = "accounts"
    verbose_name = "Accounts"
