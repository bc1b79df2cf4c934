"""Default platform rule profiles, and a profile for every case opened before they existed.

The figures come from public summaries of platform rules (DOMAIN.md, "Numbers that
matter"); where no figure is known the conservative one is used (a shorter window, the
75-day chat look-back). Administrators edit them in admin or through the API.
"""

from django.db import migrations

PHYSICAL = ["chat_log", "shipping_slip", "signed_delivery", "courier_tracking"]
VIRTUAL = ["delivery_record", "customer_confirmation"]
# platform: (window value, window unit, attempt limit, note)
WINDOWS = {
    "taobao": (72, "hours", 2, "72 hours from the notice; a second appeal (二次申诉) is allowed after a rejection."),
    "tmall": (72, "hours", 2, "As Taobao: 72 hours, second appeal allowed."),
    "1688": (72, "hours", 2, "Alibaba rules, as Taobao."),
    "jd": (7, "natural_days", 2, "7 natural days; late appeals are invalid."),
    "pinduoduo": (7, "natural_days", 2, "No public figure; 7 natural days assumed."),
    "douyin": (7, "natural_days", 2, "No public figure; 7 natural days assumed."),
    "amazon": (17, "natural_days", 2, "Two unsuccessful appeals or 17 days without the requested information end it."),
    "other": (72, "hours", 2, "Unknown platform: the shortest common window."),
}
VIOLATIONS = ["fake_transaction", "counterfeit", "misdescription", "intellectual_property", "other"]


def create_profiles(apps, schema_editor):
    Profile = apps.get_model("cases", "PlatformRuleProfile")
    Case = apps.get_model("cases", "Case")
    for platform, (value, unit, attempts, note) in WINDOWS.items():
        for violation in VIOLATIONS:
            Profile.objects.get_or_create(
                platform=platform,
                violation_type=violation,
                defaults={
                    "appeal_window_value": value,
                    "appeal_window_unit": unit,
                    "attempt_limit": attempts,
                    "chat_lookback_days": 75,
                    "required_evidence": {"physical": PHYSICAL, "virtual": VIRTUAL},
                    "notes": note,
                },
            )
    for case in Case.objects.filter(rule_profile__isnull=True).select_related("shop"):
        case.rule_profile = Profile.objects.get(platform=case.shop.platform, violation_type=case.violation_type)
        case.save(update_fields=["rule_profile"])


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_rule_profiles_exclusions_attempts"), ("organisations", "0001_initial")]

    operations = [migrations.RunPython(create_profiles, migrations.RunPython.noop)]
