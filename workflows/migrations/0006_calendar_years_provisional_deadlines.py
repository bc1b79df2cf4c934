"""Which years' official holiday arrangement is loaded, and provisional deadlines.

The years already seeded from chinese-calendar (those with library days) are official;
every other year runs on its statutory holidays until it is entered. Open working-time
clocks that already reach a year without an arrangement were computed on the weekday rule
alone; a migration writes no case history, so they are left for the hourly calendar task
(calendar_provisional_catch_up), which recomputes them with their history and marks them.
"""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def mark_seeded_years_official(apps: Any, schema_editor: Any) -> None:
    CalendarDay = apps.get_model("workflows", "CalendarDay")
    CalendarYear = apps.get_model("workflows", "CalendarYear")
    years = sorted({day.year for day in CalendarDay.objects.filter(source="library").values_list("date", flat=True)})
    for year in years:
        CalendarYear.objects.update_or_create(year=year, defaults={"official": True, "source": "library"})


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0005_deadline_closing_reason_code"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="deadline",
            name="provisional",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="deadline",
            name="provisional_years",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("deadline_reminder", "Deadline reminder"),
                    ("deadline_missed", "Deadline missed"),
                    ("deadline_escalation", "Missed deadline escalated"),
                    ("follow_up_due", "Time to follow up with the platform"),
                    ("case_assigned", "Case assigned to you"),
                    ("auto_assignment_failed", "A new case needs assigning"),
                    ("quote_proposed", "A fee quote is waiting for you"),
                    ("quote_decided", "The client decided on the fee quote"),
                    ("message_received", "New message on a case"),
                    ("calendar_year_missing", "A year's holiday arrangement is missing"),
                ],
                max_length=32,
            ),
        ),
        migrations.CreateModel(
            name="CalendarYear",
            fields=[
                ("year", models.PositiveSmallIntegerField(primary_key=True, serialize=False)),
                ("official", models.BooleanField(default=False)),
                (
                    "source",
                    models.CharField(
                        choices=[("library", "Official schedule (chinese-calendar)"), ("manual", "Entered by staff")],
                        default="manual",
                        max_length=16,
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("missing_notice_sent_at", models.DateTimeField(blank=True, null=True)),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["year"]},
        ),
        migrations.RunPython(mark_seeded_years_official, migrations.RunPython.noop),
    ]
