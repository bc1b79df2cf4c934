"""System reasons in the history as a code and values (cases.reasons), worded when read.

Rows written before this keep their reason as the text it was stored in: history is
append-only (on PostgreSQL a trigger refuses UPDATE), so they are not rewritten into codes.
"""

import django.core.serializers.json
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0010_case_open_order_count"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="caseevent",
            name="reason_code",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="caseevent",
            name="reason_params",
            field=models.JSONField(blank=True, encoder=django.core.serializers.json.DjangoJSONEncoder, null=True),
        ),
        migrations.AddConstraint(
            model_name="caseevent",
            constraint=models.CheckConstraint(
                condition=models.Q(("reason", ""), ("reason_code", ""), _connector="OR"),
                name="event_reason_typed_or_coded",
            ),
        ),
    ]
