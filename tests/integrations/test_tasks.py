"""The webhook dispatch task (``integrations.tasks``) in a real Celery worker killed in the middle of a
delivery: the delivery's claim runs out, a restarted worker sends the event again, and the receiver gets it
at least once.

Runs on PostgreSQL and Redis only (as CI does): the worker subprocess connects to this
test's database, which a transactional test commits to, and takes its task off Redis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from agency.accounts.models import User
from agency.organisations.models import Shop
from cases.models import Case
from integrations import webhooks
from integrations.models import DeliveryStatus, OutboxEvent, WebhookDelivery
from tests.agency.test_celery import forget_redis_queue, stop, worker_env
from tests.integrations.helpers import SECRET, verify

REDIS_URL = os.environ.get("REDIS_URL", "")
DEADLINE_SECONDS = 60
SEND_EVERY_SECONDS = 1.5
# As tests/agency/test_celery.py's worker, without gossip and mingle: a killed worker could
# not remove its gossip queue's binding from the shared Redis.
WORKER_SCRIPT = """
import sys
from agency.celery import app

queue = sys.argv[1]
app.conf.task_default_queue = queue
app.worker_main([
    "worker", "--pool", "solo", "--loglevel", "info", "--without-gossip", "--without-mingle",
    "-Q", queue, "-n", f"{queue}@%h",
])
"""
# Short, so that the restarted worker can take the killed one's delivery over within seconds.
CLAIM_SECONDS = 3

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not REDIS_URL,
        reason="needs PostgreSQL and Redis (a worker subprocess shares the test database and "
        "takes its task off the broker); set DATABASE_URL and REDIS_URL, as CI does",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


class BlockingReceiver:
    """Holds the first request until released (its worker is killed meanwhile); answers 200."""

    def __init__(self, server: HTTPServer) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.answered_after_first = 0
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        server.expect_request("/hook", method="POST").respond_with_handler(self.handle)
        self.url = server.url_for("/hook")

    def handle(self, request: Request) -> Response:
        with self.lock:
            self.requests.append((dict(request.headers), request.get_data()))
            first = len(self.requests) == 1
        if first:
            self.first_arrived.set()
            self.release.wait(timeout=DEADLINE_SECONDS)  # the answer goes nowhere: its sender is dead
        else:
            with self.lock:
                self.answered_after_first += 1
        return Response("ok", status=200)


@pytest.fixture
def receiver() -> Iterator[BlockingReceiver]:
    # Threaded: the held first request must not stall the ones after it.
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    blocking = BlockingReceiver(server)
    try:
        yield blocking
    finally:
        blocking.release.set()
        server.clear()
        server.stop()


def database_url() -> str:
    """This test's database (the test database Django created) as a DATABASE_URL."""
    db = connection.settings_dict
    credentials = quote(str(db["USER"] or ""), safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(str(db["PASSWORD"]), safe="")
    host = str(db["HOST"] or "127.0.0.1")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(str(db['NAME']), safe='')}"


def start_worker(queue: str, env: dict[str, str], cwd: Path, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "-c", WORKER_SCRIPT, queue],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, to kill it whole
        )


def wait_until(done: Callable[[], bool], *, tick: Callable[[], None] | None = None) -> bool:
    """Poll a real subprocess's effects until ``done`` or the deadline, calling ``tick`` now and then."""
    started = time.monotonic()
    last_tick = -SEND_EVERY_SECONDS
    while time.monotonic() - started < DEADLINE_SECONDS:
        if done():
            return True
        if tick is not None and time.monotonic() - last_tick >= SEND_EVERY_SECONDS:
            tick()
            last_tick = time.monotonic()
        time.sleep(0.2)  # polling a real subprocess, with the deadline above
    return done()


def forget_unacked(broker: str, queue: str) -> None:
    """Drop the killed worker's unacknowledged message, which kombu would otherwise put back on
    the (by then forgotten) throwaway queue when its visibility timeout ran out."""
    import json

    import redis

    client = redis.Redis.from_url(broker)
    try:
        for tag, raw in client.hgetall("unacked").items():
            try:
                _message, _exchange, routing_key = json.loads(raw)
            except (ValueError, TypeError):
                continue
            if routing_key == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    finally:
        client.close()


def test_a_worker_killed_mid_delivery_is_replaced_and_the_event_delivered(
    receiver: BlockingReceiver,
    administrator: User,
    make_case: Callable[..., Case],
    blossom_shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from agency.celery import app
    from integrations.tasks import dispatch_webhooks

    # The commit's own dispatch would go to the shared broker's default queue; this test
    # sends its dispatches to its throwaway queue instead.
    queued: list[Any] = []
    monkeypatch.setattr(dispatch_webhooks, "delay", lambda *args, **kwargs: queued.append(args))
    webhooks.webhook_subscription_create(actor=administrator, url=receiver.url, secret=SECRET)
    case = make_case(blossom_shop, orders=0)
    event = OutboxEvent.objects.get(case=case)
    assert event.fanned_out_at is None  # the worker's dispatch fans it out
    assert queued, "the commit queued a dispatch"

    queue = f"test-webhook-kill-{uuid.uuid4().hex}"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = worker_env(tmp_path)
    env.update(
        DATABASE_URL=database_url(),
        WEBHOOK_ALLOW_PRIVATE_URLS="1",
        WEBHOOK_CLAIM_SECONDS=str(CLAIM_SECONDS),
        WEBHOOK_TIMEOUT_SECONDS="10",
    )
    broker = env["CELERY_BROKER_URL"]

    def send_dispatch() -> None:
        app.send_task("integrations.dispatch_webhooks", queue=queue)

    def log(name: str = "first") -> str:
        path = tmp_path / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    first = start_worker(queue, env, cwd, tmp_path / "first.log")
    second: subprocess.Popen[bytes] | None = None
    try:
        send_dispatch()
        assert receiver.first_arrived.wait(timeout=DEADLINE_SECONDS), log()
        # The first worker is mid-delivery: it claimed the delivery and waits for the answer.
        delivery = WebhookDelivery.objects.get(event=event)
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.claimed_until is not None
        assert delivery.attempts == 0

        os.killpg(first.pid, signal.SIGKILL)  # no warm shutdown: the process just dies
        assert first.wait(timeout=10) == -signal.SIGKILL
        receiver.release.set()  # that answer goes nowhere

        second = start_worker(queue, env, cwd, tmp_path / "second.log")
        # Beat's periodic dispatch, by hand: the first runs find the delivery still claimed.
        delivered = wait_until(
            lambda: (
                receiver.answered_after_first >= 1
                and WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.DELIVERED).exists()
            ),
            tick=send_dispatch,
        )
        assert delivered, log() + log("second")
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        exit_code = stop(second) if second is not None else None
        forget_unacked(broker, queue)
        forget_redis_queue(broker, queue)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1  # the killed worker never recorded its attempt
    assert delivery.last_status_code == 200
    assert delivery.claimed_until is None
    # At least once: the same event id came twice, each time signed.
    ids = [headers["Webhook-Id"] for headers, _body in receiver.requests]
    assert ids.count(str(event.id)) >= 2, ids
    assert set(ids) == {str(event.id)}
    for headers, body in receiver.requests:
        assert verify(headers, body)
    assert receiver.requests[0][1] == receiver.requests[-1][1]  # the same body on every attempt
    assert exit_code == 0, log("second")
    assert "Traceback" not in log("second"), log("second")
    assert "integrations.dispatch_webhooks" in log("second")
