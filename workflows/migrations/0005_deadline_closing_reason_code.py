"""A deadline's system closing reason as a code and values (cases.reasons), worded when read.

Deadlines closed before this keep their closing reason as the text it was stored in.
"""

import django.core.serializers.json
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0004_alter_notification_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="deadline",
            name="closing_reason_code",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="deadline",
            name="closing_reason_params",
            field=models.JSONField(blank=True, encoder=django.core.serializers.json.DjangoJSONEncoder, null=True),
        ),
    ]
