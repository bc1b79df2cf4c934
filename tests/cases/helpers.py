"""Helpers for the tests that open cases over the staff API: a create payload, and an order as the API takes it."""

from __future__ import annotations

from tests.factories import order_data

NOTICE = "2026-11-20T10:30:00+08:00"


def create_payload(target_shop, **overrides):
    payload = {
        "shop": target_shop.pk,
        "violation_type": "fake_transaction",
        "severity": "serious",
        "notice_received_at": NOTICE,
        "notice_period_start": "2026-09-01T00:00:00+08:00",
        "notice_period_end": "2026-11-15T00:00:00+08:00",
        "penalty_points": 12,
        "restrictions": ["search_demotion", "marketing_ban"],
        "appeal_deadline": "2026-11-27T10:30:00+08:00",
    }
    payload.update(overrides)
    return payload


def jsonable_order(index, **overrides):
    data = order_data(index, **overrides)
    data["order_time"] = data["order_time"].isoformat()
    data["amount"] = str(data["amount"])
    return data
