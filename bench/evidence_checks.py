"""Evidence checks benchmark: the labelled set (tests/evidence/labelled.py) stored, read and compared as a worker does.

``measure_evidence_checks`` is called by bench.run for each database. It runs this module as
a child process (``python -m bench.evidence_checks <out.json>``) on the bench database, which:

1. adds a case with the set's orders and uploads every sample through the upload service
   (its check is created as it would be in production; no task is sent);
2. runs ``evidence.checks.check_run`` on each check, as one worker process with one OCR
   thread (EVIDENCE_OCR_THREADS=1, as docker-compose runs the checks' worker), timing each;
3. reads the findings back from the database and scores them against the labels
   (tests/evidence/accuracy.py): ``evidence_check_accuracy_clean`` and ``_degraded`` (share
   of correct findings on clean and on degraded images; goals 98 % and 90 %),
   ``evidence_check_mismatch_recall`` (planted mismatches caught; goal 100 %), and
   ``ocr_images_per_s`` (images checked per second of check_run: reading the stored file,
   OCR, comparing, writing the findings).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT = 900


@dataclass
class EvidenceChecksBenchResult:
    notes: list[str] = field(default_factory=list)
    figures: list[tuple[str, str, str]] = field(default_factory=list)


def child(out: Path) -> None:
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction
    from django.utils import timezone

    from agency.accounts.models import Role
    from agency.organisations.models import Organisation, Platform, Shop
    from bench.seed import bench_user
    from casework import services as case_services
    from evidence import checks, reading, services
    from evidence.models import EvidenceCheck
    from tests.evidence.accuracy import Result, Scores
    from tests.evidence.labelled import labelled_set, orders

    samples = labelled_set()
    with transaction.atomic():
        supervisor = bench_user("bench_checks_supervisor", Role.SUPERVISOR)
        organisation = Organisation.objects.create(name="Bench Evidence Checks Merchant Co.")
        shop = Shop.objects.create(
            organisation=organisation, platform=Platform.TAOBAO, platform_shop_id="BENCH-CHECKS", name="Checks shop"
        )
        case = case_services.case_create(
            actor=supervisor,
            shop=shop,
            violation_type="fake_transaction",
            # Received now: its deadlines lie ahead, so bench.sweep, later on this database, finds none due.
            notice_received_at=timezone.now(),
            flagged_orders=[
                {
                    "platform_order_id": order.platform_order_id,
                    "order_time": order.order_time,
                    "amount": order.amount,
                    "currency": "CNY",
                    "buyer_handle": order.buyer_handle,
                    "goods_type": order.goods_type,
                    "courier": order.courier,
                    "tracking_number": order.tracking_number,
                }
                for order in orders()
            ],
        )
    flagged = dict(case.flagged_orders.values_list("platform_order_id", "pk"))
    checks._send = lambda check_ids: None  # this process is the worker: it runs each check itself below
    items = []
    for sample in samples:
        upload = SimpleUploadedFile(sample.name, sample.data, content_type=sample.content_type)
        items.append(
            services.evidence_upload(
                case_id=case.pk,
                actor=supervisor,
                file=upload,
                kind=sample.kind,
                order_id=flagged[sample.order.platform_order_id],
            )
        )

    reading.engine()  # loaded once per worker process, before the clock starts
    results = []
    for sample, item in zip(samples, items, strict=True):
        check = EvidenceCheck.objects.get(item=item)
        started = time.perf_counter()
        if not checks.check_run(check.pk):
            raise RuntimeError(f"the check of {sample.name} did not run")
        seconds = time.perf_counter() - started
        check.refresh_from_db()
        found = dict(check.findings.values_list("name", "result"))
        results.append(Result(sample, check.outcome, found, seconds))
    scores = Scores(results)
    images = len(scores.clean_images) + len(scores.degraded_images)
    out.write_text(
        json.dumps(
            {
                "notes": [
                    f"evidence checks: {len(samples)} labelled files ({len(scores.clean_images)} clean images, "
                    f"{len(scores.degraded_images)} degraded, {len(scores.documents)} PDFs and chat exports), "
                    f"{scores.planted} planted mismatches; {images} images checked by one worker process with "
                    f"EVIDENCE_OCR_THREADS={os.environ.get('EVIDENCE_OCR_THREADS')}; "
                    f"documents {scores.accuracy_documents:.1%} correct",
                    *(f"evidence checks missed: {line}" for line in scores.report().splitlines() if line),
                ],
                "figures": [
                    ["evidence_check_accuracy_clean", f"{scores.accuracy_clean * 100:.1f}", "%"],
                    ["evidence_check_accuracy_degraded", f"{scores.accuracy_degraded * 100:.1f}", "%"],
                    ["evidence_check_mismatch_recall", f"{scores.mismatch_recall * 100:.1f}", "%"],
                    ["ocr_images_per_s", f"{scores.images_per_second:.2f}", "images/s"],
                ],
            }
        )
    )


def measure_evidence_checks(env: dict[str, str], work: Path) -> EvidenceChecksBenchResult:
    """Check the labelled set on the bench database in ``env``, as one worker process with one OCR thread."""
    out = work / "evidence_checks.json"
    command = [sys.executable, "-m", "bench.evidence_checks", str(out)]
    child_env = {**env, "EVIDENCE_OCR_THREADS": "1"}
    subprocess.run(command, cwd=ROOT, env=child_env, check=True, timeout=CHILD_TIMEOUT)
    data = json.loads(out.read_text())
    return EvidenceChecksBenchResult(notes=data["notes"], figures=[tuple(figure) for figure in data["figures"]])


if __name__ == "__main__":
    child(Path(sys.argv[1]))
