"""The default reputation recovery template: the five measures the agency recommends, and check-ins at 7, 30 and 90 days."""

from django.db import migrations

TASKS = [
    (
        "建立内部交易审核流程 (Set up an internal transaction review process)",
        "Review unusual orders (same address, same buyer, sudden volume) before they ship.",
        "client",
        14,
    ),
    (
        "员工规则培训 (Train staff on the platform's rules)",
        "Everyone who runs promotions or answers buyers learns what counts as fake trading.",
        "client",
        14,
    ),
    (
        "售后响应时间目标 (Set an after-sales response-time target)",
        "Agree a target for answering buyers after sale and measure it weekly.",
        "client",
        30,
    ),
    (
        "加入平台诚信经营计划 (Join the platform's integrity programme)",
        "Apply to the platform's integrity or trusted-merchant programme; the agency prepares the application.",
        "staff",
        30,
    ),
    (
        "促销活动规则风险审查 (Review promotions for rule risk)",
        "Go through planned promotions with the agency for anything a platform could read as brushing.",
        "staff",
        45,
    ),
]


def seed(apps, schema_editor):
    Template = apps.get_model("recovery", "RecoveryTemplate")
    Task = apps.get_model("recovery", "RecoveryTemplateTask")
    if Template.objects.filter(platform="").exists():
        return
    template = Template.objects.create(name="Standard reputation recovery", platform="", check_in_days=[7, 30, 90])
    for position, (title, description, owner, due_days) in enumerate(TASKS):
        Task.objects.create(
            template=template, position=position, title=title, description=description, owner=owner, due_days=due_days
        )


class Migration(migrations.Migration):
    dependencies = [("recovery", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
