"""Each case's count of orders still to win (in the appeal, not cleared), filled in for existing cases."""

from django.db import migrations, models
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce


def backfill(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    FlaggedOrder = apps.get_model("cases", "FlaggedOrder")
    open_orders = (
        FlaggedOrder.objects.filter(case_id=OuterRef("pk"), excluded_at__isnull=True)
        .filter(~Q(outcome="cleared"))
        .values("case_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    Case.objects.update(open_order_count=Coalesce(Subquery(open_orders), 0))


class Migration(migrations.Migration):
    dependencies = [("cases", "0009_backfill_state_spans")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="open_order_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
