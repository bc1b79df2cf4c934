"""manage.py seed_demo: load the demo agency, clients and case (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand

from casework.demo import seed_demo


class Command(BaseCommand):
    help = "Create demo staff, two client organisations with shops and cases, and deadline alerts due at once."

    def handle(self, *args: Any, **options: Any) -> None:
        for line in seed_demo():
            self.stdout.write(line)
