"""manage.py calendar_import: add the official holiday schedule for some years, keeping staff's own days."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workflows.calendar_services import calendar_import_library
from workflows.holidays import FIRST_SEEDED_YEAR, library_years


class Command(BaseCommand):
    help = (
        "Add the public holidays and make-up working days the chinese-calendar library knows, "
        f"for the given years (default: every year from {FIRST_SEEDED_YEAR} it knows), and mark those years "
        "official (their arrangement is loaded). Days staff entered are kept; running working-time deadlines "
        "over the added days, and the provisional ones that reach a year made official, are recomputed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--year", type=int, action="append", dest="years", metavar="YEAR", help="A year to import (repeatable)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        years: list[int] | None = options["years"]
        known = library_years()
        if years:
            unknown = sorted(set(years) - set(known))
            if unknown:
                # A year the library does not know would import nothing and look like success.
                raise CommandError(
                    f"The installed chinese-calendar knows {known[0]}-{known[-1]}, not {', '.join(map(str, unknown))}; "
                    "upgrade it or enter the days in the admin."
                )
        result = calendar_import_library(years=sorted(set(years)) if years else None)
        self.stdout.write(
            self.style.SUCCESS(
                f"Calendar days: {result.added} added, {result.updated} updated, {result.kept} kept "
                f"({', '.join(map(str, sorted(set(years)))) if years else f'{FIRST_SEEDED_YEAR} on'})."
            )
        )
        if result.declared:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Now official (provisional deadlines recomputed): {', '.join(map(str, result.declared))}."
                )
            )
