"""Bulk evidence benchmark: an archive of 800 files (200 orders x 4 kinds, about 100 KB each), read and stored.

``measure_bulk_evidence`` is called by bench.run for each database. It runs this module as
a child process (``python -m bench.bulk_evidence <out.json>``) with the bench environment,
on the bench database bench.inprocess migrated, which:

1. adds a 200-order case (casework.demo) and writes the archive to a file: a folder per
   order id holding 聊天记录.png, 快递面单.png, 签收底单.png and 物流轨迹.png, each about
   100 KB of incompressible bytes behind a PNG header (as photos are), deflated;
2. resets its own peak memory (VmHWM, Linux) and receives the archive as the API does,
   as a job (the archive is larger than the inline limit): ``batch_create`` stores it and
   ``batch_work`` reads it (the preview), timed together as ``bulk_evidence_800_preview_s``;
3. commits it: ``batch_commit`` and ``batch_work`` write the 800 files to evidence storage
   and insert the items, the history row and the outbox event in one transaction,
   timed as ``bulk_evidence_800_commit_s``;
4. reports ``bulk_evidence_peak_rss_growth_mb``: the process's peak resident memory during
   steps 2 and 3 minus its resident memory before them (goal: under 50 MB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDERS = 200
KINDS = ("聊天记录", "快递面单", "签收底单", "物流轨迹")
FILE_BYTES = 100 * 1024
CHILD_TIMEOUT = 600
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


@dataclass
class BulkEvidenceBenchResult:
    notes: list[str] = field(default_factory=list)
    figures: list[tuple[str, str, str]] = field(default_factory=list)


def _status_kb(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field_name}")


def write_archive(path: Path, order_ids: list[str]) -> int:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for order_id in order_ids:
            for kind in KINDS:
                body = PNG_HEADER + os.urandom(FILE_BYTES - len(PNG_HEADER))
                archive.writestr(f"{order_id}/{kind}.png", body)
    return path.stat().st_size


def child(out: Path) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.files import File
    from django.db import transaction

    from agency.accounts.models import Role
    from agency.organisations.models import Organisation, Platform, Shop
    from bench.seed import bench_user
    from casework.demo import demo_case
    from evidence import batches
    from evidence.models import BatchStatus, EvidenceItem

    with transaction.atomic():
        supervisor = bench_user("bench_bulk_supervisor", Role.SUPERVISOR)
        intake = bench_user("bench_bulk_intake", Role.INTAKE_SPECIALIST)
        organisation = Organisation.objects.create(name="Bench Bulk Evidence Merchant Co.")
        shop = Shop.objects.create(
            organisation=organisation, platform=Platform.TAOBAO, platform_shop_id="BENCH-BULK", name="Bulk shop"
        )
        case = demo_case(intake=intake, supervisor=supervisor, shop=shop, assignee=supervisor, orders=ORDERS)
    order_ids = list(case.flagged_orders.order_by("id").values_list("platform_order_id", flat=True))
    archive_path = out.with_suffix(".zip")
    archive_bytes = write_archive(archive_path, order_ids)
    if archive_bytes <= settings.EVIDENCE_BULK_INLINE_MAX_BYTES:
        raise RuntimeError("the bench archive is meant to be a job, larger than the inline limit")
    batches._queue = lambda batch_id: None  # this process is the worker: it runs the job itself below

    Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to VmRSS
    rss_before_kb = _status_kb("VmRSS")
    started = time.perf_counter()
    with archive_path.open("rb") as upload:
        batch = batches.batch_create(
            case_id=case.pk, actor=supervisor, file=File(upload, name="warehouse.zip"), dry_run=True
        )
    batches.batch_work(batch.pk)
    preview_s = time.perf_counter() - started
    batch.refresh_from_db()
    if batch.status != BatchStatus.PREVIEWED or (batch.preview or {})["totals"]["ready"] != ORDERS * len(KINDS):
        raise RuntimeError(f"the preview is not what the archive holds: {batch.status} {batch.error}")

    started = time.perf_counter()
    batches.batch_commit(actor=supervisor, batch_id=batch.pk)
    batches.batch_work(batch.pk)
    commit_s = time.perf_counter() - started
    peak_kb = _status_kb("VmHWM")
    batch.refresh_from_db()
    stored = EvidenceItem.objects.filter(batch=batch).count()
    if batch.status != BatchStatus.COMMITTED or stored != ORDERS * len(KINDS):
        raise RuntimeError(f"the commit stored {stored} items ({batch.status}, {batch.error})")
    archive_path.unlink()

    out.write_text(
        json.dumps(
            {
                "notes": [
                    f"bulk evidence: {stored} files of {FILE_BYTES // 1024} KB in a {archive_bytes / 1e6:.1f} MB "
                    f"ZIP, read as a job ({batch.progress_total} files) and stored in one commit",
                ],
                "figures": [
                    ["bulk_evidence_800_preview_s", f"{preview_s:.2f}", "s"],
                    ["bulk_evidence_800_commit_s", f"{commit_s:.2f}", "s"],
                    ["bulk_evidence_peak_rss_growth_mb", f"{(peak_kb - rss_before_kb) / 1024:.1f}", "MB"],
                ],
            }
        )
    )


def measure_bulk_evidence(env: dict[str, str], work: Path) -> BulkEvidenceBenchResult:
    """Add the 200-order case to the bench database in ``env``; time the archive's preview and commit."""
    out = work / "bulk_evidence.json"
    command = [sys.executable, "-m", "bench.bulk_evidence", str(out)]
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=CHILD_TIMEOUT)
    data = json.loads(out.read_text())
    return BulkEvidenceBenchResult(notes=data["notes"], figures=[tuple(figure) for figure in data["figures"]])


if __name__ == "__main__":
    child(Path(sys.argv[1]))
