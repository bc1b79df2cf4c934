"""Inputs the API reads strictly (``agency.api.fields``, with the ranges of ``agency.moments``): datetimes
within the range of their kind, booleans never implied.

Each range refusal is a 400 naming the field, and nothing is written. Datetimes come back
as RFC 3339 with an offset of whole minutes.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from agency import moments
from cases.models import Case, CaseEvent
from integrations.models import WebhookSubscription
from integrations.webhooks import webhook_subscription_create
from tests.agency.api.helpers import field_errors
from tests.cases.helpers import create_payload, jsonable_order
from workflows.models import Deadline

pytestmark = pytest.mark.django_db

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.mark.parametrize(
    "when",
    [
        "1900-01-01T00:00:00+08:00",
        "1999-12-31T23:59:59+00:00",
        "9999-12-31T23:59:59-05:00",
        "9999-12-31T23:59:59",
        "an hour from now",
    ],
)
def test_order_and_notice_times_outside_the_past_range_are_refused(api, intake, blossom_shop, when):
    if when == "an hour from now":
        when = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    order = jsonable_order(0)
    order["order_time"] = when
    response = api(intake).post("/api/v1/cases/", create_payload(blossom_shop, flagged_orders=[order]), format="json")
    assert "order_time" in field_errors(response)["flagged_orders"]["0"]

    for field in ("notice_received_at", "notice_period_start", "notice_period_end"):
        response = api(intake).post("/api/v1/cases/", create_payload(blossom_shop, **{field: when}), format="json")
        assert field in field_errors(response), field
    assert not Case.objects.exists()


def test_a_past_moment_a_few_minutes_ahead_of_the_server_is_clock_skew(api, intake, blossom_shop):
    ahead = (timezone.now() + moments.CLOCK_SKEW / 2).isoformat()
    response = api(intake).post("/api/v1/cases/", create_payload(blossom_shop, notice_received_at=ahead), format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("years_ahead", [6, 7000])
def test_due_times_beyond_the_horizon_are_refused(api, intake, blossom_shop, years_ahead):
    far = timezone.now().replace(year=min(timezone.now().year + years_ahead, 9999))
    response = api(intake).post(
        "/api/v1/cases/", create_payload(blossom_shop, appeal_deadline=far.isoformat()), format="json"
    )
    assert "appeal_deadline" in field_errors(response)
    assert not Case.objects.exists()


def test_a_due_time_within_the_horizon_and_one_already_past_are_kept(api, intake, blossom_shop):
    soon = (timezone.now() + dt.timedelta(days=365 * 4)).isoformat()
    response = api(intake).post("/api/v1/cases/", create_payload(blossom_shop, appeal_deadline=soon), format="json")
    assert response.status_code == 201, response.content
    lapsed = "2026-11-27T10:30:00+08:00"
    response = api(intake).post("/api/v1/cases/", create_payload(blossom_shop, appeal_deadline=lapsed), format="json")
    assert response.status_code == 201, response.content


def test_supplement_and_deadline_times_in_year_9999_are_400_not_500(api, supervisor, case_in):
    case = case_in("submitted")
    response = api(supervisor).post(
        f"/api/v1/cases/{case.pk}/supplements/",
        {"description": "Send the slips.", "received_at": "9999-12-31T23:00:00+08:00"},
        format="json",
    )
    assert "received_at" in field_errors(response)
    before = Deadline.objects.count()
    response = api(supervisor).post(
        f"/api/v1/cases/{case.pk}/deadlines/",
        {"kind": "platform_supplement", "due_at": "9999-12-31T23:00:00-12:00"},
        format="json",
    )
    assert "due_at" in field_errors(response)
    assert Deadline.objects.count() == before


def test_the_schema_documents_each_range(api, db):
    document = api(None).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    order = document["components"]["schemas"]["FlaggedOrderInputRequest"]["properties"]["order_time"]
    assert "2000-01-01" in order["description"]
    assert "up to now" in order["description"]


def test_datetimes_are_written_as_rfc3339_with_whole_minute_offsets(api, supervisor, case_in):
    case = case_in("evidence")
    body = api(supervisor).get(f"/api/v1/cases/{case.pk}/").json()
    stamps = [value for value in _walk(body) if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}T", value)]
    assert stamps
    for stamp in stamps:
        assert RFC3339.match(stamp), stamp


def test_a_stored_moment_before_1901_is_written_in_utc_not_with_a_seconds_offset(api, supervisor, case_in):
    # In Asia/Shanghai, 1900 has the local mean time offset +08:05:43; RFC 3339 cannot say it.
    case = case_in("intake")
    Case.objects.filter(pk=case.pk).update(notice_received_at=dt.datetime(1900, 1, 1, 0, 0, tzinfo=dt.UTC))
    for url in (f"/api/v1/cases/{case.pk}/", "/api/v1/cases/"):
        body = api(supervisor).get(url).json()
        stamps = [value for value in _walk(body) if isinstance(value, str) and value.startswith("1900-")]
        assert stamps == ["1900-01-01T00:00:00Z"], (url, stamps)


def _walk(value: Any) -> Any:
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)
    else:
        yield value


# --- Booleans ------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["form", "json"])
def test_away_without_is_away_is_400_and_changes_nothing(api, manager, content_type):
    manager.is_away = True
    manager.save(update_fields=["is_away"])
    client = api(manager)
    if content_type == "form":
        response = client.post("/api/v1/staff/me/away/", {}, format="multipart")
    else:
        response = client.post("/api/v1/staff/me/away/", {}, format="json")
    assert "is_away" in field_errors(response)
    manager.refresh_from_db()
    assert manager.is_away is True


def test_away_in_a_form_is_read(api, manager):
    response = api(manager).post("/api/v1/staff/me/away/", {"is_away": "true"}, format="multipart")
    assert response.status_code == 200, response.content
    manager.refresh_from_db()
    assert manager.is_away is True


def test_a_form_patch_without_active_leaves_a_webhook_on(api, administrator):
    hook = webhook_subscription_create(actor=administrator, url="http://127.0.0.1:9/hook", description="CRM")
    response = api(administrator).patch(
        f"/api/v1/webhooks/{hook.pk}/", {"description": "CRM, renamed"}, format="multipart"
    )
    assert response.status_code == 200, response.content
    hook.refresh_from_db()
    assert (hook.active, hook.description) == (True, "CRM, renamed")
    assert WebhookSubscription.objects.count() == 1
    assert CaseEvent.objects.count() == 0
