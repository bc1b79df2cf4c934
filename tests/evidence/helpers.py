"""Helpers the evidence tests share: the kinds a profile requires, and giving an order accepted evidence."""

from __future__ import annotations

from tests.factories import evidence_item

PHYSICAL = ["chat_log", "shipping_slip", "signed_delivery", "courier_tracking"]
VIRTUAL = ["delivery_record", "customer_confirmation"]


def give(case, order, kinds, by, **kwargs):
    return [evidence_item(case, order=order, kind=kind, uploaded_by=by, **kwargs) for kind in kinds]
