"""Dossier benchmark: download an 800-file, 800 MB dossier from gunicorn; its time and the worker's memory.

``measure_dossier`` is called by bench.run for each database. It runs this module as a child
process (``python -m bench.dossier <out.json>``) with the bench environment to add the
data to the already migrated bench database, then serves it with a single-worker gunicorn
so that the process that streams the archive is known, downloads the dossier and reports:

- ``dossier_800_files_s``: wall time of the whole download, first byte to last, read and
  discarded by the client as it arrives;
- ``dossier_peak_rss_growth_mb``: how far the serving worker's peak resident memory rose
  above its resident memory just before the download (goal: under 50 MB).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.server import HOST, gunicorn, log_tail

ROOT = Path(__file__).resolve().parent.parent
ORDERS = 200
FILES_PER_ORDER = 4
FILE_BYTES = 1024 * 1024
SETUP_TIMEOUT = 600
DOWNLOAD_TIMEOUT = 300
READ_CHUNK = 1024 * 1024
READY_PATH = "/api/v1/ping/"
RSS_SAMPLE_SECONDS = 0.01
# The end-of-central-directory record that closes every ZIP (without a comment).
EOCD = struct.Struct("<4s4H2LH")


@dataclass
class DossierBenchResult:
    notes: list[str] = field(default_factory=list)
    figures: list[tuple[str, str, str]] = field(default_factory=list)


# --- The child: data in the bench database ----------------------------------------------


def setup(out: Path) -> None:
    """Add a case with ORDERS orders and FILES_PER_ORDER accepted files of FILE_BYTES each.

    The files are random bytes (nothing compresses them) written through the evidence
    storage, like uploads; rows are bulk-created because the upload path is not measured.
    A second case with one small file serves to warm the worker up.
    """
    import django

    django.setup()
    from django.core.files.base import ContentFile
    from django.db import transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from agency.accounts.models import Role, User
    from agency.organisations.models import Organisation, Platform, Shop
    from bench.seed import bench_user
    from cases.kinds import DEFAULT_REQUIRED_EVIDENCE
    from cases.models import FlaggedOrder
    from casework.demo import demo_case
    from evidence.models import EvidenceItem, ReviewState, UploadSource
    from evidence.storage import evidence_storage, random_name

    started = time.perf_counter()
    storage = evidence_storage()

    def items_for(case_id: int, order_ids: list[int], size: int, by: User, per_order: int) -> list[EvidenceItem]:
        items = []
        for order_id in order_ids:
            for kind in DEFAULT_REQUIRED_EVIDENCE["physical"][:per_order]:
                data = os.urandom(size)
                name = storage.save(random_name(None, ""), ContentFile(data))
                items.append(
                    EvidenceItem(
                        case_id=case_id,
                        order_id=order_id,
                        kind=kind,
                        file=name,
                        original_name=f"{kind}.png",
                        size=size,
                        content_type="image/png",
                        sha256=hashlib.sha256(data).hexdigest(),
                        source=UploadSource.STAFF,
                        uploaded_by=by,
                        review_state=ReviewState.ACCEPTED,
                        reviewed_by=by,
                        reviewed_at=timezone.now(),
                    )
                )
        return items

    with transaction.atomic():
        supervisor = bench_user("bench_dossier_supervisor", Role.SUPERVISOR)
        intake = bench_user("bench_dossier_intake", Role.INTAKE_SPECIALIST)
        organisation = Organisation.objects.create(name="Bench Dossier Merchant Co.")
        shop = Shop.objects.create(
            organisation=organisation, platform=Platform.TMALL, platform_shop_id="BENCH-DOSSIER", name="Dossier shop"
        )
        big = demo_case(intake=intake, supervisor=supervisor, shop=shop, assignee=supervisor, orders=ORDERS)
        small = demo_case(intake=intake, supervisor=supervisor, shop=shop, assignee=supervisor, orders=1)
        big_orders = list(FlaggedOrder.objects.filter(case=big).values_list("pk", flat=True))
        small_orders = list(FlaggedOrder.objects.filter(case=small).values_list("pk", flat=True))
        items = items_for(big.pk, big_orders, FILE_BYTES, supervisor, FILES_PER_ORDER)
        items += items_for(small.pk, small_orders, 1024, supervisor, 1)
        EvidenceItem.objects.bulk_create(items, batch_size=500)
        token = Token.objects.create(user=supervisor).key

    out.write_text(
        json.dumps(
            {
                "token": token,
                "case_path": f"/api/v1/cases/{big.pk}/dossier/",
                "warmup_path": f"/api/v1/cases/{small.pk}/dossier/",
                "files": len(big_orders) * FILES_PER_ORDER,
                "evidence_bytes": len(big_orders) * FILES_PER_ORDER * FILE_BYTES,
                "setup_seconds": time.perf_counter() - started,
            }
        )
    )


# --- The parent: serve, download, measure ----------------------------------------------------


def _status_kb(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field_name}")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def gunicorn_worker(port: int) -> int:
    """The pid of the single worker of the gunicorn this process started on ``port``."""
    bind = f"--bind={HOST}:{port}".encode()
    masters = [pid for pid in _children(os.getpid()) if bind in Path(f"/proc/{pid}/cmdline").read_bytes()]
    if len(masters) != 1:
        raise RuntimeError(f"expected one gunicorn master on port {port}, found {masters}")
    workers = _children(masters[0])
    if len(workers) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {workers}")
    return workers[0]


def reset_peak_rss(pid: int) -> bool:
    """Set the process's VmHWM back to its current VmRSS (Linux 4.0+); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class RssSampler(threading.Thread):
    """The highest VmRSS seen while running: the fallback when the peak cannot be reset."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_kb = max(self.peak_kb, _status_kb(self.pid, "VmRSS"))
            self.done.wait(RSS_SAMPLE_SECONDS)


def download(port: int, path: str, token: str) -> tuple[int, int, bytes]:
    """GET ``path``; (bytes received, Content-Length, the last 22 bytes). The body is discarded."""
    connection = http.client.HTTPConnection(HOST, port, timeout=DOWNLOAD_TIMEOUT)
    try:
        connection.request("GET", path, headers={"Authorization": f"Token {token}", "Accept": "application/zip"})
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {response.read(300)!r}")
        expected = int(response.getheader("Content-Length") or -1)
        received, tail = 0, b""
        while chunk := response.read(READ_CHUNK):
            received += len(chunk)
            tail = (tail + chunk)[-EOCD.size :]
        return received, expected, tail
    finally:
        connection.close()


def measure_dossier(env: dict[str, str], work: Path) -> DossierBenchResult:
    """Add the dossier data to the bench database in ``env``, then download it from gunicorn -w 1."""
    result = DossierBenchResult()
    out = work / "dossier.json"
    command = [sys.executable, "-m", "bench.dossier", str(out)]
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=SETUP_TIMEOUT)
    data = json.loads(out.read_text())
    log_path = work / "gunicorn-dossier.log"

    with gunicorn(env, log_path, workers=1, ready_path=READY_PATH) as port:
        worker = gunicorn_worker(port)
        # Warm up: the first dossier in a worker imports and builds what every later one reuses.
        download(port, data["warmup_path"], data["token"])
        peak_was_reset = reset_peak_rss(worker)
        rss_before_kb = _status_kb(worker, "VmRSS")
        sampler = RssSampler(worker)
        sampler.start()
        started = time.perf_counter()
        try:
            received, expected, tail = download(port, data["case_path"], data["token"])
        except (OSError, http.client.HTTPException, RuntimeError) as exc:
            raise RuntimeError(f"dossier download failed: {exc}\ngunicorn log:\n{log_tail(log_path)}") from exc
        finally:
            elapsed = time.perf_counter() - started
            sampler.done.set()
            sampler.join()
        peak_kb = _status_kb(worker, "VmHWM") if peak_was_reset else sampler.peak_kb

    signature, _disk, _cd_disk, _entries_here, entries, *_rest = EOCD.unpack(tail)
    if received != expected or signature != b"PK\x05\x06":
        raise RuntimeError(f"the dossier is incomplete: {received} of {expected} bytes, ends with {tail!r}")
    if entries != data["files"] + 3:
        raise RuntimeError(f"the dossier holds {entries} files, expected {data['files']} and the three index files")

    growth_mb = max(peak_kb - rss_before_kb, 0) / 1024
    method = (
        "VmHWM after it, the peak having been reset to VmRSS through /proc/<pid>/clear_refs just before"
        if peak_was_reset
        else f"the highest VmRSS sampled every {RSS_SAMPLE_SECONDS * 1000:.0f} ms during it (clear_refs refused)"
    )
    result.notes += [
        f"dossier: {data['files']} files of {FILE_BYTES // 1024} KiB in {ORDERS} orders, "
        f"archive {received / 1024**2:.1f} MiB with {entries} entries, added in {data['setup_seconds']:.1f} s; "
        f"downloaded once from gunicorn -w 1 (sync) after a one-file warm-up dossier",
        f"dossier memory: the worker's VmRSS just before the download ({rss_before_kb / 1024:.1f} MiB) against "
        f"{method} ({peak_kb / 1024:.1f} MiB); goal: growth under 50 MB",
    ]
    result.figures += [
        ("dossier_800_files_s", f"{elapsed:.2f}", "s"),
        ("dossier_peak_rss_growth_mb", f"{growth_mb:.1f}", "MB"),
    ]
    return result


if __name__ == "__main__":
    setup(Path(sys.argv[1]))
