"""The evidence check task (``evidence.tasks.check_item``) in a real Celery worker killed in the middle of OCR:
the check's lease runs out, the sweep queues it again, a restarted worker checks the item once and its
findings are written once.

Runs on PostgreSQL and Redis only (as CI does), like tests/evidence/test_tasks.py, whose
helpers it shares.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from agency.organisations.models import Shop
from cases.models import Case
from evidence import checks, services
from evidence.models import CheckOutcome, CheckState, EvidenceCheck, EvidenceFinding, ReadMethod
from tests.agency.test_celery import forget_redis_queue, stop, worker_env
from tests.evidence.labelled import CJK_FONT
from tests.evidence.test_tasks import REAL_WORKER_MARKS, storage_env, wait_until
from tests.integrations.test_tasks import database_url, forget_unacked, start_worker

LEASE_SECONDS = 3
# Scanned pages (no text layer), so that reading takes the worker several seconds of OCR.
PAGES = 6

pytestmark = REAL_WORKER_MARKS


def scanned_slip(order: Any) -> bytes:
    """A PDF of scanned pages: a shipping slip for the order, then pages of other text."""
    font = ImageFont.truetype(str(CJK_FONT), 30)
    shipped = timezone.localtime(order.order_time + dt.timedelta(days=1))
    pages = []
    for number in range(PAGES):
        page = Image.new("RGB", (1240, 1754), "white")
        draw = ImageDraw.Draw(page)
        lines = (
            ["顺丰速运 电子面单", f"运单号：{order.tracking_number}", f"寄件时间：{shipped:%Y-%m-%d %H:%M}"]
            if number == 0
            else [f"第 {number + 1} 页 装箱清单", "商品：保温杯 500ml", "数量：1 件"] * 6
        )
        for index, line in enumerate(lines):
            draw.text((120, 120 + 70 * index), line, fill="black", font=font)
        pages.append(page)
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", resolution=150, save_all=True, append_images=pages[1:])
    return buffer.getvalue()


def test_a_worker_killed_mid_check_is_replaced_and_the_findings_written_once(
    make_case: Callable[..., Case],
    blossom_shop: Shop,
    manager: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from agency.celery import app

    case = make_case(blossom_shop, orders=1, assignee=manager)
    order = case.flagged_orders.get()

    queue = f"test-evidence-check-kill-{uuid.uuid4().hex}"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = worker_env(tmp_path)
    env.update(DATABASE_URL=database_url(), EVIDENCE_CHECK_LEASE_SECONDS=str(LEASE_SECONDS), **storage_env())
    broker = env["CELERY_BROKER_URL"]

    def send(check_ids: Sequence[int]) -> None:
        for check_id in check_ids:
            app.send_task("evidence.check_item", args=[check_id], queue=queue)

    def log(name: str = "first") -> str:
        path = tmp_path / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    monkeypatch.setattr(checks, "_send", send)
    monkeypatch.setattr(settings, "EVIDENCE_CHECK_LEASE_SECONDS", LEASE_SECONDS)
    first = start_worker(queue, env, cwd, tmp_path / "first.log")
    second = None
    try:
        upload = SimpleUploadedFile("面单.pdf", scanned_slip(order), content_type="application/pdf")
        item = services.evidence_upload(
            case_id=case.pk, actor=manager, file=upload, kind="shipping_slip", order_id=order.pk
        )
        check_id = EvidenceCheck.objects.get(item=item).pk

        def reading() -> bool:
            return EvidenceCheck.objects.filter(pk=check_id, state=CheckState.QUEUED).exclude(lease_token="").exists()

        assert wait_until(reading, every=0.05), log()
        os.killpg(first.pid, signal.SIGKILL)  # no warm shutdown: the process just dies mid-OCR
        assert first.wait(timeout=10) == -signal.SIGKILL
        killed_at = EvidenceCheck.objects.get(pk=check_id)
        assert (killed_at.state, killed_at.attempts, killed_at.text) == (CheckState.QUEUED, 1, ""), log()
        assert not EvidenceFinding.objects.filter(evidence_check_id=check_id).exists()

        second = start_worker(queue, env, cwd, tmp_path / "second.log")
        # Beat's resume sweep, by hand: once the dead worker's lease has run out it queues the check again.
        assert wait_until(lambda: checks.checks_resume(send=send) == [check_id], every=0.5), log("second")
        assert wait_until(
            lambda: EvidenceCheck.objects.filter(pk=check_id, state=CheckState.DONE).exists(), every=0.2
        ), log("second")
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        exit_code = stop(second) if second is not None else None
        forget_unacked(broker, queue)
        forget_redis_queue(broker, queue)

    check = EvidenceCheck.objects.get(pk=check_id)
    assert (check.outcome, check.method, check.lease_token, check.attempts) == (
        CheckOutcome.MATCH,
        ReadMethod.OCR,
        "",
        0,
    )
    assert (check.pages_read, check.pages_total) == (PAGES, PAGES)
    findings = list(EvidenceFinding.objects.filter(evidence_check_id=check_id).order_by("id"))
    assert [(finding.name, finding.result) for finding in findings] == [
        ("tracking_number", "match"),
        ("courier", "match"),
        ("delivered_after_order", "match"),
    ]
    assert findings[0].page == 1
    assert exit_code == 0, log("second")
    assert "Traceback" not in log("second"), log("second")
