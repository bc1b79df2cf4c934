"""Idempotency-Key on writes (``integrations.api.idempotency``): a repeated POST gets the first answer again
and changes nothing."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent, CaseState, EventKind, FlaggedOrder
from casework import services as case_services
from evidence.models import EvidenceItem
from integrations.api_keys import api_key_create
from integrations.models import IdempotencyRecord
from integrations.services import idempotency_records_purge
from tests.cases.helpers import create_payload, jsonable_order
from tests.casework.test_importing import chinese_csv, upload
from tests.conftest import requires_postgres
from tests.evidence.samples import png, session_client, upload_file

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases/"


def post_case(client, payload, key="key-1", **extra):
    return client.post(CASES, payload, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def created_events() -> int:
    return CaseEvent.objects.filter(kind=EventKind.CREATED).count()


# --- Create case ---------------------------------------------------------------------------


def test_a_repeated_create_returns_the_first_answer_and_creates_one_case(api, intake, blossom_shop):
    payload = create_payload(blossom_shop, flagged_orders=[jsonable_order(i) for i in range(2)])
    client = api(intake)

    first = post_case(client, payload)
    second = post_case(client, payload)

    assert first.status_code == 201
    assert second.status_code == 201
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"] == "application/json"
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Case.objects.count() == 1
    assert created_events() == 1
    assert FlaggedOrder.objects.count() == 2
    record = IdempotencyRecord.objects.get()
    assert (record.caller, record.key, record.method, record.path) == (f"user:{intake.pk}", "key-1", "POST", CASES)
    assert record.response_status == 201
    assert record.expires_at == record.created_at + dt.timedelta(hours=24)


def test_the_same_key_with_another_body_is_refused_with_422(api, intake, blossom_shop):
    client = api(intake)
    post_case(client, create_payload(blossom_shop))

    response = post_case(client, create_payload(blossom_shop, penalty_points=3))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Case.objects.count() == 1
    assert created_events() == 1


def test_the_same_key_on_another_path_is_refused_with_422(api, intake, supervisor, blossom_shop):
    client = api(supervisor)
    created = post_case(client, create_payload(blossom_shop), key="shared").json()

    response = client.post(
        f"{CASES}{created['id']}/transitions/",
        {"transition": "start_assessment"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="shared",
    )

    assert response.status_code == 422
    assert Case.objects.get().state == CaseState.INTAKE


def test_keys_are_scoped_to_the_caller(api, intake, supervisor, blossom_shop):
    payload = create_payload(blossom_shop)

    first = post_case(api(intake), payload, key="same")
    second = post_case(api(supervisor), payload, key="same")

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second
    assert Case.objects.count() == 2


def test_an_expired_key_counts_as_new(api, intake, blossom_shop, time_machine):
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    payload = create_payload(blossom_shop)
    client = api(intake)
    first = post_case(client, payload)

    time_machine.move_to(start + dt.timedelta(hours=25), tick=False)
    second = post_case(client, payload)

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert Case.objects.count() == 2
    record = IdempotencyRecord.objects.get()
    assert record.created_at == start + dt.timedelta(hours=25)


def test_a_key_within_its_24_hours_is_still_replayed(api, intake, blossom_shop, time_machine):
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    payload = create_payload(blossom_shop)
    client = api(intake)
    post_case(client, payload)

    time_machine.move_to(start + dt.timedelta(hours=23), tick=False)
    second = post_case(client, payload)

    assert second["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1


def test_a_400_answer_is_stored_and_replayed(api, intake, blossom_shop):
    payload = create_payload(blossom_shop, violation_type="no_such_violation")
    client = api(intake)

    first = post_case(client, payload)
    second = post_case(client, payload)

    assert first.status_code == second.status_code == 400
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.get().response_status == 400


def test_a_server_error_leaves_no_record_so_the_client_can_retry(api, intake, blossom_shop, monkeypatch):
    payload = create_payload(blossom_shop)
    client = api(intake)

    def broken(**kwargs):
        raise APIException("Storage unavailable.")

    with monkeypatch.context() as patch:
        patch.setattr(case_services, "case_create", broken)
        failed = post_case(client, payload)
    assert failed.status_code == 500
    assert not IdempotencyRecord.objects.exists()

    retried = post_case(client, payload)
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert Case.objects.count() == 1


def test_an_unexpected_exception_leaves_no_record(api, intake, blossom_shop, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(case_services, "case_create", broken)

    with pytest.raises(RuntimeError):
        post_case(api(intake), create_payload(blossom_shop))

    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there"])
def test_a_malformed_key_is_refused_naming_the_header(api, intake, blossom_shop, key):
    response = post_case(api(intake), create_payload(blossom_shop), key=key)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "Idempotency-Key" in error["details"]["fields"]
    assert not Case.objects.exists()


def test_the_longest_key_is_accepted(api, intake, blossom_shop):
    response = post_case(api(intake), create_payload(blossom_shop), key="~" * 255)

    assert response.status_code == 201


def test_a_key_still_in_progress_answers_409_with_retry_after(api, intake, blossom_shop):
    payload = create_payload(blossom_shop)
    client = api(intake)
    post_case(client, payload)
    # As if the first request were still running: its answer is not stored yet.
    IdempotencyRecord.objects.update(response_status=None, response_body=None)

    response = post_case(client, payload)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_progress"
    assert response["Retry-After"] == "1"
    assert Case.objects.count() == 1


def test_without_a_key_nothing_changes(api, intake, blossom_shop):
    payload = create_payload(blossom_shop)
    client = api(intake)

    client.post(CASES, payload, format="json")
    client.post(CASES, payload, format="json")

    assert Case.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_anonymous_requests_are_refused_before_any_record(api, blossom_shop):
    response = post_case(api(), create_payload(blossom_shop))

    assert response.status_code == 401
    assert not IdempotencyRecord.objects.exists()


def test_a_client_user_is_refused_before_any_record(api, alice, blossom_shop):
    response = post_case(api(alice), create_payload(blossom_shop))

    assert response.status_code == 403
    assert not IdempotencyRecord.objects.exists()


def test_each_api_key_has_its_own_keys(administrator, blossom_shop):
    def key_client(name):
        _key, plaintext = api_key_create(actor=administrator, name=name, organisation_id=None, permission="read_write")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plaintext}")
        return client

    bot, other_bot = key_client("Intake bot"), key_client("Other bot")
    payload = create_payload(blossom_shop)

    first = post_case(bot, payload, key="order-4711")
    again = post_case(bot, payload, key="order-4711")
    other = post_case(other_bot, payload, key="order-4711")

    assert first.status_code == again.status_code == other.status_code == 201, first.content
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in other
    assert Case.objects.count() == 2


# --- Transitions ---------------------------------------------------------------------------


def test_a_repeated_transition_is_replayed_not_refused(api, supervisor, case_in):
    case = case_in(CaseState.INTAKE)
    client = api(supervisor)
    url = f"{CASES}{case.pk}/transitions/"
    body = {"transition": "start_assessment"}

    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    second = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    without_key = client.post(url, body, format="json")

    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert without_key.status_code == 409  # the state machine itself still refuses a second move
    assert CaseEvent.objects.filter(case=case, kind=EventKind.STATE_CHANGED).count() == 1


def test_a_refused_transition_is_replayed_as_refused(api, supervisor, case_in):
    case = case_in(CaseState.INTAKE)
    client = api(supervisor)
    url = f"{CASES}{case.pk}/transitions/"
    body = {"transition": "submit_appeal"}

    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="t-2")
    second = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="t-2")

    assert first.status_code == second.status_code == 409
    assert second["Idempotent-Replayed"] == "true"


def test_reading_transitions_ignores_the_key(api, supervisor, case_in):
    case = case_in(CaseState.INTAKE)

    response = api(supervisor).get(f"{CASES}{case.pk}/transitions/", HTTP_IDEMPOTENCY_KEY="read")

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert not IdempotencyRecord.objects.exists()


# --- Import and upload (multipart) ---------------------------------------------------------


def test_a_repeated_import_imports_once(api, manager, case_in):
    case = case_in(CaseState.INTAKE, orders=0)
    client = api(manager)
    url = f"{CASES}{case.pk}/orders/import/"
    content = chinese_csv(4)

    first = client.post(url, {"file": upload(content)}, format="multipart", HTTP_IDEMPOTENCY_KEY="imp")
    second = client.post(url, {"file": upload(content)}, format="multipart", HTTP_IDEMPOTENCY_KEY="imp")

    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert case.flagged_orders.count() == 4


def test_another_file_under_the_same_key_is_refused(api, manager, case_in):
    case = case_in(CaseState.INTAKE, orders=0)
    client = api(manager)
    url = f"{CASES}{case.pk}/orders/import/"
    client.post(url, {"file": upload(chinese_csv(4))}, format="multipart", HTTP_IDEMPOTENCY_KEY="imp")

    response = client.post(
        url, {"file": upload(chinese_csv(4, start=10))}, format="multipart", HTTP_IDEMPOTENCY_KEY="imp"
    )

    assert response.status_code == 422
    assert case.flagged_orders.count() == 4


def test_a_repeated_upload_stores_one_evidence_item(api, manager, case_in):
    case = case_in(CaseState.EVIDENCE, with_evidence=False)
    order = case.flagged_orders.order_by("id").first()
    client = api(manager)
    url = f"{CASES}{case.pk}/evidence/"

    def send():
        data = {"file": upload_file("slip.png", png("a")), "kind": "shipping_slip", "order": order.pk}
        return client.post(url, data, format="multipart", HTTP_IDEMPOTENCY_KEY="up")

    first = send()
    second = send()

    assert first.status_code == 201, first.content
    assert second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert EvidenceItem.objects.filter(case=case).count() == 1


def test_a_repeated_upload_from_a_browser_session_stores_one_item(manager, case_in):
    # The CSRF check of a session reads the form before the view: the file is hashed all the same.
    case = case_in(CaseState.EVIDENCE, with_evidence=False)
    order = case.flagged_orders.order_by("id").first()
    client = session_client(manager)
    url = f"{CASES}{case.pk}/evidence/"

    def send(tag):
        data = {"file": upload_file("slip.png", png(tag)), "kind": "shipping_slip", "order": order.pk}
        return client.post(url, data, format="multipart", HTTP_IDEMPOTENCY_KEY="up")

    first = send("a")
    second = send("a")
    other_file = send("b")

    assert first.status_code == second.status_code == 201, first.content
    assert second["Idempotent-Replayed"] == "true"
    assert other_file.status_code == 422
    assert EvidenceItem.objects.filter(case=case).count() == 1


# --- Housekeeping --------------------------------------------------------------------------


def test_purge_removes_only_expired_records(intake):
    now = timezone.now()

    def record(key, expires_at):
        return IdempotencyRecord.objects.create(
            caller=f"user:{intake.pk}",
            key=key,
            method="POST",
            path=CASES,
            request_hash="0" * 64,
            response_status=201,
            response_body=json.dumps({}).encode(),
            response_content_type="application/json",
            expires_at=expires_at,
        )

    record("old", now - dt.timedelta(seconds=1))
    record("at-expiry", now)
    kept = record("fresh", now + dt.timedelta(hours=1))

    assert idempotency_records_purge(now=now) == 2
    assert list(IdempotencyRecord.objects.all()) == [kept]


def test_beat_purges_the_records_every_hour(intake, time_machine):
    from django.conf import settings

    from integrations.tasks import purge_idempotency_records

    entry = settings.CELERY_BEAT_SCHEDULE["idempotency-purge"]
    assert (entry["task"], entry["schedule"]) == ("integrations.purge_idempotency_records", 3600.0)
    IdempotencyRecord.objects.create(
        caller=f"user:{intake.pk}",
        key="k",
        method="POST",
        path=CASES,
        request_hash="0" * 64,
        expires_at=timezone.now() + dt.timedelta(hours=24),
    )
    time_machine.move_to(timezone.now() + dt.timedelta(hours=25), tick=False)
    assert purge_idempotency_records.apply().get() == 1
    assert not IdempotencyRecord.objects.exists()


# --- Concurrency (PostgreSQL) --------------------------------------------------------------


@requires_postgres
# serialized_rollback keeps the seeded rule profiles across the flush after the test.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_duplicate_sent_while_the_first_runs_gets_409_then_the_replay(api, intake, blossom_shop, monkeypatch):
    payload = create_payload(blossom_shop)
    first_is_running = threading.Event()
    release_first = threading.Event()
    original = case_services.case_create

    def slow_create(**kwargs):
        first_is_running.set()
        assert release_first.wait(timeout=10)
        return original(**kwargs)

    monkeypatch.setattr(case_services, "case_create", slow_create)
    answers: dict[str, int] = {}

    def first_request():
        try:
            answers["first"] = post_case(api(intake), payload).status_code
        finally:
            connections.close_all()

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert first_is_running.wait(timeout=10)
        # The record was committed before the view ran, so this connection sees it.
        duplicate = post_case(api(intake), payload)
    finally:
        release_first.set()
        thread.join(timeout=30)

    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "idempotency_key_in_progress"
    assert answers["first"] == 201
    replay = post_case(api(intake), payload)
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1
