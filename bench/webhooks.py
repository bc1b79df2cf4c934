"""Webhook benchmark: events per second one worker delivers to a local receiver.

``measure_webhooks`` is called by bench.run for each database. It runs this module as a
child process (``python -m bench.webhooks <out.json>``) with the bench environment (plus
``WEBHOOK_ALLOW_PRIVATE_URLS``, so that a plain-http receiver on 127.0.0.1 is allowed), on
the bench database bench.inprocess migrated and seeded, which:

1. marks the events earlier bench steps wrote as fanned out, so that only this bench's go out;
2. starts a receiver: a threaded ``http.server`` in this process on 127.0.0.1 that reads
   each POST and answers 200 at once;
3. adds CASES new cases with EVENTS_PER_CASE unfanned outbox events each (numbered in
   sequence, as the outbox writes them) and one active subscription for every event type;
4. times ``dispatch()`` run over and over in this one process, as a worker does with the
   dispatch task, until every delivery is delivered: fan-out, claims, signed POSTs, the
   per-case ordering and the recorded outcomes.

Figure: ``webhook_events_per_s``, deliveries delivered per second of that loop.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASES = 100
EVENTS_PER_CASE = 10
MAX_RUNS = 200
CHILD_TIMEOUT = 300


@dataclass
class WebhookBenchResult:
    notes: list[str] = field(default_factory=list)
    figures: list[tuple[str, str, str]] = field(default_factory=list)


# --- The child: a receiver, the events, the timed dispatcher loop --------------------------


class _Receiver(BaseHTTPRequestHandler):
    received = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with _Receiver.lock:
            _Receiver.received += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        return None


def _add_events(case_ids: list[int]) -> int:
    """EVENTS_PER_CASE unfanned outbox events per case, numbered 1, 2, ... as the outbox does."""
    from django.db import transaction
    from django.utils import timezone

    from cases.models import Case
    from integrations.events import case_snapshot
    from integrations.models import EventType, OutboxEvent

    now = timezone.now()
    types = [value for value in EventType.values if value != EventType.CASE_CREATED]
    rng = random.Random(2026)
    events = []
    for case in Case.objects.filter(pk__in=case_ids):
        snapshot = case_snapshot(case)
        for sequence in range(1, EVENTS_PER_CASE + 1):
            events.append(
                OutboxEvent(
                    type=EventType.CASE_CREATED if sequence == 1 else rng.choice(types),
                    case=case,
                    organisation_id=case.organisation_id,
                    sequence=sequence,
                    occurred_at=now - dt.timedelta(seconds=EVENTS_PER_CASE - sequence),
                    data={"case": snapshot, "values": {"reference": case.reference}},
                )
            )
    with transaction.atomic():
        OutboxEvent.objects.bulk_create(events, batch_size=500)
        Case.objects.filter(pk__in=case_ids).update(event_sequence=EVENTS_PER_CASE)
    return len(events)


def child(out: Path) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from agency.accounts.models import Role, User
    from bench.sweep import _add_cases
    from integrations.models import DeliveryStatus, OutboxEvent, WebhookDelivery, WebhookSubscription
    from integrations.webhooks import dispatch, generate_secret

    earlier = OutboxEvent.objects.filter(fanned_out_at__isnull=True).update(fanned_out_at=timezone.now())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        case_ids = _add_cases(CASES, random.Random(2026))
        events = _add_events(case_ids)
        owner = User.objects.filter(role=Role.ADMINISTRATOR).first() or User.objects.first()
        if owner is None:
            raise RuntimeError("the bench database has no users")
        WebhookSubscription.objects.create(
            url=f"http://127.0.0.1:{server.server_address[1]}/hook",
            events=[],
            secret=generate_secret(),
            created_by=owner,
        )

        runs = delivered = retried = failed = 0
        started = time.perf_counter()
        while runs < MAX_RUNS:
            result = dispatch()
            runs += 1
            delivered += result.delivered
            retried += result.retried
            failed += result.failed
            pending = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists()
            if not pending and not OutboxEvent.objects.filter(fanned_out_at__isnull=True).exists():
                break
        elapsed = time.perf_counter() - started
    finally:
        server.shutdown()
        server.server_close()

    statuses = dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("pk")))
    if delivered != events or statuses != {DeliveryStatus.DELIVERED: events} or _Receiver.received != events:
        raise RuntimeError(
            f"{events} events: {delivered} delivered in {runs} dispatcher runs, deliveries by status {statuses}, "
            f"{_Receiver.received} requests received ({retried} retried, {failed} failed)"
        )
    rate = delivered / elapsed
    notes = [
        f"webhooks: {events} outbox events over {CASES} new cases ({EVENTS_PER_CASE} each, in sequence), one "
        f"subscription to a threaded http.server on 127.0.0.1 in the same process answering 200; "
        f"{runs} dispatch() runs in one process (what one worker does with the dispatch task, without the "
        f"broker) fanned out and delivered all {delivered} in {elapsed:.2f} s, each a claim, a signed POST on "
        f"a new connection and the recorded outcome ({connection.vendor}; {earlier} earlier events set aside)"
    ]
    figures = [("webhook_events_per_s", f"{rate:.1f}", "events/s")]
    out.write_text(json.dumps({"vendor": connection.vendor, "notes": notes, "figures": figures}))


# --- The parent: run the child, collect its figures ----------------------------------------


def measure_webhooks(env: dict[str, str], work: Path) -> WebhookBenchResult:
    """Add webhook events to the bench database in ``env`` and time one worker delivering them."""
    out = work / "webhooks.json"
    command = [sys.executable, "-m", "bench.webhooks", str(out)]
    subprocess.run(command, cwd=ROOT, env={**env, "WEBHOOK_ALLOW_PRIVATE_URLS": "1"}, check=True, timeout=CHILD_TIMEOUT)
    data = json.loads(out.read_text())
    return WebhookBenchResult(notes=data["notes"], figures=[tuple(figure) for figure in data["figures"]])


if __name__ == "__main__":
    child(Path(sys.argv[1]))
