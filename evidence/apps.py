"""App config for evidence."""

from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = "Evidence"

    def ready(self) -> None:
        # Registers what follows a missed chat evidence deadline with workflows.deadlines.
        from evidence import deadlines  # noqa: F401
