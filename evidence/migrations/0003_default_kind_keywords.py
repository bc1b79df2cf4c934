"""The keywords that name each evidence kind in a bulk upload's folder and file names, as a new
installation starts with them (evidence.matching.DEFAULT_KIND_KEYWORDS, frozen here)."""

from django.db import migrations

KEYWORDS = {
    "chat_log": ["聊天", "旺旺", "千牛", "咚咚", "chat", "chat_log"],
    "shipping_slip": ["面单", "快递单", "运单", "shipping", "waybill", "shipping_slip"],
    "signed_delivery": ["签收", "signed", "signed_delivery", "signed delivery"],
    "courier_tracking": ["物流", "轨迹", "tracking", "courier_tracking", "courier tracking"],
    "delivery_record": ["发货记录", "充值", "delivery", "delivery_record", "delivery record"],
    "customer_confirmation": ["确认", "confirmation", "customer_confirmation", "customer confirmation"],
    "payment_record": ["付款", "支付", "payment", "payment_record", "payment record"],
    "malicious_brushing": ["恶意刷单", "malicious", "malicious_brushing"],
    "other": [],
}


def create(apps, schema_editor):
    KindKeywords = apps.get_model("evidence", "KindKeywords")
    for kind, words in KEYWORDS.items():
        KindKeywords.objects.get_or_create(kind=kind, defaults={"keywords": words})


class Migration(migrations.Migration):
    dependencies = [("evidence", "0002_evidence_batches")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
