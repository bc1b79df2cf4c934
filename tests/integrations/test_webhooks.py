"""Webhooks (``integrations.webhooks``) against a real local HTTP receiver: signed, in per-case order, retried,
never lost. Managing subscriptions over the API is tests/integrations/api/test_webhooks.py's."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from pytest_httpserver import HTTPServer

from agency.accounts.models import User
from agency.organisations.models import Organisation, Shop
from cases.models import Case
from casework import services
from integrations import webhooks
from integrations.models import DeliveryStatus, OutboxEvent, WebhookDelivery, WebhookSubscription
from tests.integrations.helpers import Receiver, subscribe, verify

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(time_machine: time_machine.TimeMachineFixture) -> time_machine.TimeMachineFixture:
    time_machine.move_to(START, tick=False)
    return time_machine


def run_until_settled(clock: time_machine.TimeMachineFixture, *, step: dt.timedelta, limit: int = 30) -> int:
    """Run the dispatcher, move the clock past the backoff, again, until nothing is pending."""
    for runs in range(1, limit + 1):
        webhooks.dispatch()
        if not WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists():
            return runs
        clock.shift(step)
    raise AssertionError("deliveries still pending")


def test_an_event_is_delivered_signed(
    httpserver: HTTPServer, administrator: User, make_case: Callable[..., Case], blossom_shop: Shop
) -> None:
    receiver = Receiver(httpserver)
    subscribe(administrator, receiver.url)
    case = make_case(blossom_shop, orders=1)

    result = webhooks.dispatch()

    events = list(OutboxEvent.objects.filter(case=case).order_by("sequence"))
    assert result.fanned_out == len(events) == 2
    assert result.delivered == 2
    assert len(receiver.requests) == 2
    _status, headers, body = receiver.requests[0]
    assert headers["Content-Type"] == "application/json"
    assert verify(headers, body)
    assert not verify(headers, body, secret="another secret")
    assert abs(int(headers["Webhook-Timestamp"]) - timezone.now().timestamp()) < 60
    payload = json.loads(body)
    assert headers["Webhook-Id"] == payload["id"] == str(events[0].id)
    assert payload["type"] == "case.created"
    assert payload["sequence"] == 1
    assert payload["case"] == case.pk
    assert payload["occurred_at"]
    assert payload["data"]["case"]["reference"] == case.reference
    assert payload["data"]["values"] == {"reference": case.reference}
    assert [body["sequence"] for body in receiver.bodies()] == [1, 2]
    delivery = WebhookDelivery.objects.get(event=events[0])
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 200
    assert delivery.last_latency_ms is not None
    assert delivery.delivered_at is not None
    assert delivery.claimed_until is None
    # Nothing more to do: a second run sends nothing again.
    assert webhooks.dispatch().delivered == 0
    assert len(receiver.requests) == 2


def test_a_rolled_back_change_sends_nothing(
    httpserver: HTTPServer,
    administrator: User,
    blossom_shop: Shop,
    intake: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    receiver = Receiver(httpserver)
    subscribe(administrator, receiver.url)

    def open_case_then_fail() -> None:
        with transaction.atomic():
            services.case_create(
                actor=intake,
                shop=blossom_shop,
                violation_type="fake_transaction",
                notice_received_at=timezone.now() - dt.timedelta(hours=1),
            )
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        open_case_then_fail()

    assert callbacks == []
    assert OutboxEvent.objects.count() == 0
    assert webhooks.dispatch().fanned_out == 0
    assert receiver.requests == []
    assert WebhookDelivery.objects.count() == 0


def test_a_receiver_down_then_up_gets_every_event_in_case_order(
    httpserver: HTTPServer,
    clock: time_machine.TimeMachineFixture,
    administrator: User,
    case_in: Callable[..., Case],
    make_case: Callable[..., Case],
    blossom_shop: Shop,
) -> None:
    # Down (503s) for the first seven requests, then up.
    receiver = Receiver(httpserver, [503] * 7 + [200])
    subscribe(administrator, receiver.url)
    first = case_in("submitted")
    second = make_case(blossom_shop, orders=2)

    runs = run_until_settled(clock, step=dt.timedelta(hours=1))

    assert runs > 1
    expected = {str(event_id) for event_id in OutboxEvent.objects.values_list("id", flat=True)}
    delivered = receiver.bodies(ok_only=True)
    assert {body["id"] for body in delivered} == expected
    assert len(delivered) == len(expected)  # each once: nothing sent again after its 2xx
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    by_case: dict[int, list[int]] = defaultdict(list)
    for body in receiver.bodies():  # every request, failed ones too
        by_case[body["case"]].append(body["sequence"])
    for case in (first, second):
        sent = by_case[case.pk]
        # Never a later event before an earlier one was delivered; none skipped.
        assert sent == sorted(sent)
        assert sorted(set(sent)) == list(range(1, Case.objects.get(pk=case.pk).event_sequence + 1))
    retried = WebhookDelivery.objects.filter(attempts__gt=1)
    assert retried.exists()
    assert all(delivery.last_status_code == 200 for delivery in retried)


def test_a_delivery_is_retried_with_backoff_and_fails_after_a_day(
    httpserver: HTTPServer,
    clock: time_machine.TimeMachineFixture,
    administrator: User,
    supervisor: User,
    manager: User,
    make_case: Callable[..., Case],
    blossom_shop: Shop,
) -> None:
    receiver = Receiver(httpserver, [500])
    subscribe(administrator, receiver.url)
    case = make_case(blossom_shop, orders=0)

    webhooks.dispatch()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.PENDING, 1, 500)
    assert delivery.last_error == "HTTP 500"
    # About 30 s doubling: the first retry is due after roughly a minute, not before.
    assert dt.timedelta(seconds=50) < delivery.next_attempt_at - timezone.now() < dt.timedelta(seconds=70)
    clock.shift(dt.timedelta(seconds=30))
    webhooks.dispatch()
    assert len(receiver.requests) == 1

    run_until_settled(clock, step=dt.timedelta(hours=4))

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_attempt_at is not None
    assert delivery.last_attempt_at - delivery.created_at >= dt.timedelta(hours=settings.WEBHOOK_RETRY_WINDOW_HOURS)
    assert delivery.last_attempt_at - delivery.created_at < dt.timedelta(hours=settings.WEBHOOK_RETRY_WINDOW_HOURS + 4)
    assert 7 <= delivery.attempts <= 20
    assert len(receiver.requests) == delivery.attempts
    # A failed delivery no longer holds up the case's later events.
    receiver.statuses = [200]
    services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=manager.pk)
    webhooks.dispatch()
    assert receiver.bodies()[-1]["type"] == "case.assigned"


def test_a_redirect_is_not_followed(
    httpserver: HTTPServer, administrator: User, make_case: Callable[..., Case], blossom_shop: Shop
) -> None:
    receiver = Receiver(httpserver, [302])
    subscribe(administrator, receiver.url)
    make_case(blossom_shop, orders=0)
    webhooks.dispatch()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.PENDING, 302)
    assert len(receiver.requests) == 1


def test_a_receiver_that_is_not_listening_is_retried(
    administrator: User, make_case: Callable[..., Case], blossom_shop: Shop
) -> None:
    # Port 9 on loopback (discard) has nobody listening in the test environment.
    subscribe(administrator, "http://127.0.0.1:9/hook")
    make_case(blossom_shop, orders=0)
    result = webhooks.dispatch()
    assert result.retried == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_status_code is None
    assert delivery.last_error


def test_a_claim_left_by_a_killed_worker_is_taken_over(
    httpserver: HTTPServer,
    clock: time_machine.TimeMachineFixture,
    administrator: User,
    make_case: Callable[..., Case],
    blossom_shop: Shop,
) -> None:
    receiver = Receiver(httpserver)
    subscribe(administrator, receiver.url)
    make_case(blossom_shop, orders=0)
    webhooks.fan_out()
    delivery = WebhookDelivery.objects.get()
    # A worker claimed it, maybe even sent it, and died before recording the answer.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_until=timezone.now() + dt.timedelta(seconds=settings.WEBHOOK_CLAIM_SECONDS)
    )
    assert webhooks.dispatch().delivered == 0
    assert receiver.requests == []

    clock.shift(dt.timedelta(seconds=settings.WEBHOOK_CLAIM_SECONDS + 1))
    assert webhooks.dispatch().delivered == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.claimed_until) == (DeliveryStatus.DELIVERED, None)


def test_an_event_whose_task_was_lost_is_sent_by_the_next_beat_run(
    httpserver: HTTPServer,
    administrator: User,
    blossom_shop: Shop,
    intake: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    receiver = Receiver(httpserver)
    subscribe(administrator, receiver.url)
    with (
        mock.patch("integrations.tasks.dispatch_webhooks.delay", side_effect=ConnectionError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.case_create(
            actor=intake,
            shop=blossom_shop,
            violation_type="fake_transaction",
            notice_received_at=timezone.now() - dt.timedelta(hours=1),
        )
    # The change committed although the task could not be queued; beat's run delivers it.
    assert OutboxEvent.objects.count() == 1
    from integrations.tasks import dispatch_webhooks

    assert dispatch_webhooks.run()["delivered"] == 1
    assert len(receiver.requests) == 1


def test_an_organisation_scoped_subscription_gets_only_its_organisation_events(
    httpserver: HTTPServer,
    administrator: User,
    make_case: Callable[..., Case],
    blossom_shop: Shop,
    star_shop: Shop,
    blossom: Organisation,
) -> None:
    receiver = Receiver(httpserver)
    subscribe(administrator, receiver.url, organisation=blossom)
    mine = make_case(blossom_shop, orders=0)
    make_case(star_shop, orders=0)

    webhooks.dispatch()

    assert {body["case"] for body in receiver.bodies()} == {mine.pk}
    assert WebhookDelivery.objects.count() == 1
    assert OutboxEvent.objects.filter(fanned_out_at__isnull=True).count() == 0


def test_a_subscription_gets_only_the_event_types_it_wants_and_none_while_paused(
    httpserver: HTTPServer,
    administrator: User,
    make_case: Callable[..., Case],
    blossom_shop: Shop,
    manager: User,
) -> None:
    receiver = Receiver(httpserver)
    subscribe(administrator, receiver.url, events=["case.assigned"])
    subscribe(administrator, receiver.url, active=False)
    make_case(blossom_shop, orders=1, assignee=manager)

    webhooks.dispatch()

    assert [body["type"] for body in receiver.bodies()] == ["case.assigned"]


def test_a_resent_delivery_goes_out_again(
    httpserver: HTTPServer, administrator: User, make_case: Callable[..., Case], blossom_shop: Shop, api: Any
) -> None:
    receiver = Receiver(httpserver)
    subscribe(administrator, receiver.url)
    make_case(blossom_shop, orders=0)
    webhooks.dispatch()
    delivery = WebhookDelivery.objects.get()

    response = api(administrator).post(f"/api/v1/webhook-deliveries/{delivery.pk}/resend/")

    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    assert response.json()["attempts"] == 1
    webhooks.dispatch()
    assert len(receiver.requests) == 2
    assert receiver.requests[0][1]["Webhook-Id"] == receiver.requests[1][1]["Webhook-Id"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)


# --- URL checks --------------------------------------------------------------------------


def public_address(*args: Any, **kwargs: Any) -> list[Any]:
    return [(2, 1, 6, "", ("93.184.215.14", 443))]


@override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False)
@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "ftp://example.com/hook",
    ],
)
def test_unsafe_urls_are_refused(url: str, administrator: User, api: Any) -> None:
    response = api(administrator).post("/api/v1/webhooks/", {"url": url}, format="json")
    assert response.status_code == 400, response.content
    assert "url" in response.json()["error"]["details"]["fields"]
    assert not WebhookSubscription.objects.exists()


@override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False)
def test_an_https_url_on_a_public_address_is_accepted() -> None:
    with mock.patch("integrations.webhooks.socket.getaddrinfo", side_effect=public_address):
        webhooks.check_webhook_url("https://hooks.example.com/in")


@override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False)
def test_a_host_that_resolves_to_any_private_address_is_refused() -> None:
    def mixed(*args: Any, **kwargs: Any) -> list[Any]:
        return [*public_address(), (2, 1, 6, "", ("10.0.0.5", 443))]

    with (
        mock.patch("integrations.webhooks.socket.getaddrinfo", side_effect=mixed),
        pytest.raises(webhooks.UnsafeUrl),
    ):
        webhooks.check_webhook_url("https://rebinding.example.com/in")


def test_the_url_is_checked_again_at_delivery_time(
    httpserver: HTTPServer, administrator: User, make_case: Callable[..., Case], blossom_shop: Shop
) -> None:
    receiver = Receiver(httpserver)
    subscribe(administrator, receiver.url)
    make_case(blossom_shop, orders=0)
    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False):
        webhooks.dispatch()
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert "https" in delivery.last_error


def test_beat_runs_the_dispatcher_every_ten_seconds() -> None:
    entries = [
        entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == "integrations.dispatch_webhooks"
    ]
    assert entries == [{"task": "integrations.dispatch_webhooks", "schedule": 10.0}]


def test_a_later_event_waits_for_an_earlier_one_not_yet_fanned_out(
    httpserver: HTTPServer, administrator: User, make_case: Callable[..., Case], blossom_shop: Shop
) -> None:
    receiver = Receiver(httpserver)
    subscription = subscribe(administrator, receiver.url)
    make_case(blossom_shop, orders=1)
    first, second = OutboxEvent.objects.order_by("sequence")
    # As if a fan-out batch had ended between the two events.
    WebhookDelivery.objects.create(event=second, subscription=subscription, case=second.case, sequence=second.sequence)
    OutboxEvent.objects.filter(pk=second.pk).update(fanned_out_at=timezone.now())

    assert webhooks.deliver_due().delivered == 0
    assert receiver.requests == []

    webhooks.fan_out()
    assert webhooks.deliver_due().delivered == 2
    assert [body["sequence"] for body in receiver.bodies()] == [first.sequence, second.sequence]
