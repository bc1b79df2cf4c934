"""manage.py evidence_verify: read evidence files back from storage and compare them with their records."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.downloads import stored_file_problem
from evidence.models import EvidenceItem


class Command(BaseCommand):
    help = (
        "Read every evidence file (or those of the given cases) back from storage, the folder or the "
        "S3 bucket, and compare its size and SHA-256 with the ones recorded at upload. Prints one line "
        "per file that is missing or changed and exits with status 1 if there is any."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", type=int, action="append", dest="cases", metavar="ID", help="only this case")

    def handle(self, *args: Any, **options: Any) -> None:
        items = EvidenceItem.objects.order_by("pk").only("pk", "case_id", "file", "size", "sha256")
        if options["cases"]:
            items = items.filter(case_id__in=options["cases"])
        checked = 0
        problems = 0
        for item in items.iterator(chunk_size=500):
            checked += 1
            problem = stored_file_problem(item)
            if problem:
                problems += 1
                self.stdout.write(f"evidence item {item.pk} (case {item.case_id}, {item.file.name}): {problem}")
        self.stdout.write(f"{checked} evidence files checked, {problems} missing or changed")
        if problems:
            raise CommandError(f"{problems} evidence files do not match their records")
