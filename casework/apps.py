"""App config for casework: the steps of the process, put together across the apps."""

from django.apps import AppConfig


class CaseworkConfig(AppConfig):
    name = "casework"
    verbose_name = "Casework"

    def ready(self) -> None:
        # The integration events each transition adds, declared with its steps.
        from casework import transitions

        transitions.events_register()
