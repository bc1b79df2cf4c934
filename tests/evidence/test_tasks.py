"""The bulk evidence task (``evidence.tasks.batch_work``) in a real Celery worker killed in the middle of a
commit: the batch's lease runs out, the sweep hands it to a restarted worker, which writes the files the
first one had not written and stores every item once.

Runs on PostgreSQL and Redis only (as CI does): the worker subprocess connects to this
test's database, which a transactional test commits to, and takes its task off Redis. It
shares the test's evidence storage (the folder, or the bucket and prefix under S3).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from agency.organisations.models import Shop
from cases.models import Case, CaseEvent, EventKind
from evidence import batches
from evidence.models import BatchStatus, EvidenceBatch, EvidenceItem
from tests.agency.test_celery import forget_redis_queue, stop, worker_env
from tests.evidence.zips import make_zip
from tests.integrations.test_tasks import database_url, forget_unacked, start_worker

REDIS_URL = os.environ.get("REDIS_URL", "")
DEADLINE_SECONDS = 120
# Enough files that storing them takes the worker a while: the test kills it partway.
ORDERS = 150
KINDS = ("聊天记录", "快递面单", "签收底单", "物流轨迹")
FILE_BYTES = 24 * 1024
LEASE_SECONDS = 3

# The marks of every test that runs a real worker (tests/evidence/test_check_tasks.py too).
REAL_WORKER_MARKS = [
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not REDIS_URL,
        reason="needs PostgreSQL and Redis (a worker subprocess shares the test database and "
        "takes its task off the broker); set DATABASE_URL and REDIS_URL, as CI does",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
pytestmark = REAL_WORKER_MARKS


def photo(tag: str) -> bytes:
    """A distinct PNG of FILE_BYTES that does not compress (so the archive is as large as a real one)."""
    header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    return header + tag.encode() + os.urandom(FILE_BYTES - len(header) - len(tag.encode()))


def storage_env() -> dict[str, str]:
    """The test's own evidence storage, for the worker: its folder, or its bucket prefix under S3."""
    options = getattr(settings, "EVIDENCE_S3_OPTIONS", None)
    if options and str(settings.STORAGES["evidence"]["BACKEND"]).endswith("PrivateS3Storage"):
        return {"EVIDENCE_S3_PREFIX": str(options["location"])}
    return {"EVIDENCE_ROOT": str(settings.EVIDENCE_ROOT)}


def wait_until(done: Callable[[], bool], *, every: float = 0.02) -> bool:
    started = time.monotonic()
    while time.monotonic() - started < DEADLINE_SECONDS:
        if done():
            return True
        time.sleep(every)  # polling a real subprocess, with the deadline above
    return done()


def test_a_worker_killed_mid_commit_is_replaced_and_every_item_stored_once(
    make_case: Callable[..., Case],
    blossom_shop: Shop,
    manager: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from agency.celery import app

    case = make_case(blossom_shop, orders=ORDERS, assignee=manager)
    orders = list(case.flagged_orders.order_by("id"))
    archive = make_zip(
        [(f"{order.platform_order_id}/{kind}.png", photo(f"{order.pk}{kind}")) for order in orders for kind in KINDS]
    )
    expected = ORDERS * len(KINDS)

    queue = f"test-evidence-kill-{uuid.uuid4().hex}"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = worker_env(tmp_path)
    env.update(
        DATABASE_URL=database_url(),
        EVIDENCE_BATCH_LEASE_SECONDS=str(LEASE_SECONDS),
        EVIDENCE_BULK_INLINE_MAX_BYTES="1024",
        **storage_env(),
    )
    broker = env["CELERY_BROKER_URL"]

    def send_work(batch_id: int) -> None:
        app.send_task("evidence.batch_work", args=[batch_id], queue=queue)

    def log(name: str = "first") -> str:
        path = tmp_path / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    monkeypatch.setattr(settings, "EVIDENCE_BULK_INLINE_MAX_BYTES", 1024)
    monkeypatch.setattr(batches, "_queue", send_work)
    first = start_worker(queue, env, cwd, tmp_path / "first.log")
    second = None
    try:
        batch = batches.batch_create(
            case_id=case.pk,
            actor=manager,
            file=SimpleUploadedFile("warehouse.zip", archive, content_type="application/zip"),
            dry_run=False,
        )
        assert batch.status == BatchStatus.RECEIVED

        def midway() -> bool:
            row = EvidenceBatch.objects.values("status", "progress_done").get(pk=batch.pk)
            return row["status"] == BatchStatus.COMMITTING and 0 < row["progress_done"] < expected

        assert wait_until(midway), log()
        os.killpg(first.pid, signal.SIGKILL)  # no warm shutdown: the process just dies
        assert first.wait(timeout=10) == -signal.SIGKILL
        killed_at = EvidenceBatch.objects.get(pk=batch.pk)
        assert killed_at.status == BatchStatus.COMMITTING, log()
        assert 0 < killed_at.progress_done < expected
        assert not EvidenceItem.objects.filter(case=case).exists()

        second = start_worker(queue, env, cwd, tmp_path / "second.log")
        # Beat's resume sweep, by hand: once the dead worker's lease has run out it queues the batch again.
        assert wait_until(lambda: batches.batches_resume(queue=send_work) == [batch.pk], every=0.5), log("second")
        assert wait_until(
            lambda: EvidenceBatch.objects.filter(pk=batch.pk, status=BatchStatus.COMMITTED).exists(), every=0.2
        ), log("second")
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        exit_code = stop(second) if second is not None else None
        forget_unacked(broker, queue)
        forget_redis_queue(broker, queue)

    batch.refresh_from_db()
    assert batch.stored_count == expected
    assert batch.attempts >= 2
    assert batch.lease_until is None
    items = list(EvidenceItem.objects.filter(case=case))
    assert len(items) == expected
    assert Counter((item.order_id, item.kind) for item in items) == Counter(
        {
            (order.pk, kind): 1
            for order in orders
            for kind in ("chat_log", "shipping_slip", "signed_delivery", "courier_tracking")
        }
    )
    assert len({item.file.name for item in items}) == expected
    assert CaseEvent.objects.filter(case=case, kind=EventKind.EVIDENCE_BATCH_UPLOADED).count() == 1
    for item in items[:: len(items) // 10]:
        with item.file.open("rb") as stored:
            assert stored.read().startswith(b"\x89PNG")
    assert exit_code == 0, log("second")
    assert "Traceback" not in log("second"), log("second")
