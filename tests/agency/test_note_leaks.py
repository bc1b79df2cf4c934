"""The client never sees an internal note, through any endpoint: every GET route is tried, including ones added later.

A check across the whole API, so it lives here rather than beside ``casework.conversation`` (whose own
tests, writing and reading notes and messages, are tests/casework/test_conversation.py).

Routes are enumerated from the URL resolver, not listed by hand, so a portal endpoint
added in a later issue is covered without touching this file. Path parameters are filled
with the case's id (right after ``cases/``) or with the id of any row that belongs to the
case (notes included, so no route may fetch a note by its id either).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.urls import get_resolver
from django.utils import timezone

from agency.accounts.models import User
from cases.models import Case, CaseEvent
from casework import conversation
from evidence.requests import evidence_request_create
from integrations.models import OutboxEvent
from tests.factories import PNG_HEADER, evidence_item
from workflows.models import Notification

pytestmark = pytest.mark.django_db

MARKER = "INTERNAL-NOTE-MARKER-5c1e9a"
CASE_PARAM = re.compile(r"cases/%\((\w+)\)s")
# Routes that answer something other than JSON or that stream files are still checked for the
# marker; these are never worth a GET (they change state on POST only, a GET is 405).
MIN_PORTAL_ROUTES_ANSWERING = 8


def api_v1_get_routes() -> list[tuple[str, tuple[str, ...]]]:
    """Every reversible route under /api/v1/, as (format string, parameter names); format suffixes left out."""
    resolver = get_resolver()
    found: set[tuple[str, tuple[str, ...]]] = set()
    for key in list(resolver.reverse_dict):
        for possibilities, _pattern, _defaults, _converters in resolver.reverse_dict.getlist(key):
            for template, params in possibilities:
                if template.startswith("api/v1/") and "format" not in params:
                    found.add((template, tuple(params)))
    return sorted(found)


def ids_belonging_to(case: Case) -> list[int]:
    """Ids of the rows that belong to the case, directly (notes, messages, evidence, quotes, ...) or one step away
    (a recovery plan's tasks, an evidence request's items)."""
    ids: set[int] = {case.pk}
    owners: dict[Any, set[Any]] = {Case: {case.pk}}
    for _depth in range(2):
        found: dict[Any, set[Any]] = {}
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if isinstance(field, models.ForeignKey) and field.related_model in owners:
                    keys = owners[field.related_model]
                    pks = set(model._default_manager.filter(**{f"{field.name}__in": keys}).values_list("pk", flat=True))
                    found.setdefault(model, set()).update(pks)
        ids.update(pk for pks in found.values() for pk in pks if isinstance(pk, int))
        owners = {model: pks for model, pks in found.items() if pks and model is not Case}
    return sorted(ids)


def urls_for(template: str, params: tuple[str, ...], case: Case, candidates: list[int]) -> list[str]:
    """Concrete URLs for one route: the case's id after ``cases/``, each candidate id elsewhere."""
    case_params = set(CASE_PARAM.findall(template))
    others = [name for name in params if name not in case_params]
    if len(others) > 1:
        return []  # not filled: too many combinations, and no such route exists today
    values = dict.fromkeys(case_params, case.pk)
    if not others:
        return ["/" + template % values] if params or "%(" not in template else []
    return ["/" + template % {**values, others[0]: candidate} for candidate in candidates]


@pytest.fixture(params=["evidence", "reputation_recovery"])
def rich_case(request: Any, case_in: Any, supervisor: User, manager: User, alice: User) -> Case:
    """A Blossom case with something in every portal view: quote, evidence, a request, deadlines, messages.

    Once in evidence and once in reputation recovery (outcome per order, recovery plan).
    """
    case: Case = case_in(request.param)
    order = case.flagged_orders.first()
    # Other bytes than the accepted chat log the walk gave this order (one file per order once).
    evidence_item(
        case, order=order, kind="chat_log", uploaded_by=alice, review_state="rejected", content=PNG_HEADER + b"blurred"
    )
    evidence_request_create(
        case_id=case.pk,
        actor=manager,
        items=[{"order": order.pk if order else None, "kind": "signed_delivery_slip"}],
        due_at=timezone.now() + dt.timedelta(days=3),
        message="Please send the signed slip.",
    )
    conversation.message_post(case_id=case.pk, actor=manager, body="Please check the slips we asked for.")
    conversation.message_post(case_id=case.pk, actor=alice, body="Will do.")
    conversation.note_add(case_id=case.pk, actor=manager, body=f"{MARKER}: the client's owner seems evasive.")
    conversation.note_add(case_id=case.pk, actor=supervisor, body=f"Second note {MARKER}")
    return case


def test_no_endpoint_shows_a_client_an_internal_note(api, rich_case, alice):
    case = rich_case
    candidates = ids_belonging_to(case)
    client = api(alice)
    answered: list[str] = []
    portal_answered: set[str] = set()
    tried = 0

    for template, params in api_v1_get_routes():
        for url in urls_for(template, params, case, candidates):
            tried += 1
            response = client.get(url)
            # Health and readiness answer 503 while no worker has beaten (as in a test).
            not_ready = response.status_code == 503 and url.startswith("/api/v1/health/")
            assert response.status_code < 500 or not_ready, url
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert MARKER.encode() not in body, f"the internal note leaks through {url}"
            if response.status_code == 200:
                answered.append(url)
                if template.startswith("api/v1/portal/"):
                    portal_answered.add(template)

    assert tried > 50
    assert len(portal_answered) >= MIN_PORTAL_ROUTES_ANSWERING, sorted(portal_answered)
    for expected in (
        "api/v1/portal/cases/",
        "api/v1/portal/cases/%(pk)s/",
        "api/v1/portal/cases/%(pk)s/timeline/",
        "api/v1/portal/cases/%(case_id)s/messages/",
        "api/v1/portal/deadlines/",
    ):
        assert expected in portal_answered
    assert "/api/v1/notifications/" in answered
    assert "/api/v1/auth/me/" in answered


def test_the_timeline_and_messages_the_client_reads_are_real_but_have_no_note(api, rich_case, alice):
    timeline = api(alice).get(f"/api/v1/portal/cases/{rich_case.pk}/timeline/", {"page_size": 200})
    messages = api(alice).get(f"/api/v1/portal/cases/{rich_case.pk}/messages/")

    assert "note_added" not in [row["kind"] for row in timeline.data["results"]]
    assert "The agency sent you a message." in [row["text"] for row in timeline.data["results"]]
    assert [row["body"] for row in messages.data["results"]] == ["Please check the slips we asked for.", "Will do."]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_notifications_in_either_language_have_no_note(api, rich_case, alice, language):
    response = api(alice).get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    assert response.data["count"] >= 1
    assert MARKER not in response.content.decode()


def test_the_staff_note_and_history_endpoints_refuse_a_client(api, rich_case, alice):
    client = api(alice)

    for url in (
        f"/api/v1/cases/{rich_case.pk}/notes/",
        f"/api/v1/cases/{rich_case.pk}/events/",
        f"/api/v1/cases/{rich_case.pk}/messages/",
        f"/api/v1/cases/{rich_case.pk}/",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert MARKER not in response.content.decode()


def test_nothing_that_leaves_the_agency_carries_a_note(rich_case):
    for event in OutboxEvent.objects.all():
        assert MARKER not in json.dumps(event.data, default=str)
    for row in CaseEvent.objects.filter(case=rich_case):
        assert MARKER not in json.dumps([row.old_value, row.new_value, row.reason], default=str)
    for notification in Notification.objects.all():
        assert MARKER not in json.dumps(notification.params, default=str)


def test_staff_do_read_the_note(api, rich_case, manager):
    response = api(manager).get(f"/api/v1/cases/{rich_case.pk}/notes/")

    assert response.status_code == 200
    assert MARKER in response.content.decode()
