"""The import figure: a 10,000-row platform export imported into a fresh intake case, timed in-process.

Run inside the bench child (bench.inprocess) after seeding, so Django is set up and the
bench database is in place.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
import time
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.authtoken.models import Token

from cases.models import Case, ViolationType
from casework.importing import flagged_orders_import, read_order_file
from casework.services import case_create

ROWS = 10_000
RUNS = 3
# The columns of a typical Taobao order export, with one it does not import (备注).
HEADERS = ["订单编号", "下单时间", "实付金额", "买家昵称", "商品类型", "物流公司", "运单号", "备注"]


def export_csv(rows: int) -> bytes:
    """A platform-style export: UTF-8 with a BOM, Chinese headers, ="…" order ids, ￥ amounts."""
    start = dt.datetime(2026, 1, 1, 9, 0)  # noqa: DTZ001 - exports write wall-clock times without a zone
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADERS)
    for index in range(rows):
        placed = start + dt.timedelta(minutes=7 * index)
        writer.writerow(
            [
                f'="{3900000000000000000 + index}"',
                placed.strftime("%Y-%m-%d %H:%M:%S"),
                f"￥{1 + index % 5000:,}.{index % 100:02d}",
                f"buyer_{index:05d}",
                "实物",
                "顺丰速运",
                f"SF{index:012d}",
                "",
            ]
        )
    return text.getvalue().encode("utf-8-sig")


def measure_import(*, supervisor_token: str, case_id: int) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(figures, notes): the median time of RUNS imports of ROWS orders, each into a new case."""
    actor = Token.objects.select_related("user").get(key=supervisor_token).user
    shop = Case.objects.select_related("shop").get(pk=case_id).shop
    content = export_csv(ROWS)

    def upload() -> Any:
        return SimpleUploadedFile("taobao-export.csv", content, content_type="text/csv")

    timings = []
    for _ in range(RUNS):
        case = case_create(
            actor=actor, shop=shop, violation_type=ViolationType.FAKE_TRANSACTION, notice_received_at=timezone.now()
        )
        started = time.perf_counter()
        result = flagged_orders_import(case_id=case.pk, actor=actor, upload=upload())
        timings.append(time.perf_counter() - started)
        case.refresh_from_db()
        if result.imported != ROWS or case.flagged_order_count != ROWS:
            raise RuntimeError(f"the import wrote {case.flagged_order_count} orders, expected {ROWS}")

    started = time.perf_counter()
    read_order_file(upload=upload())
    reading = time.perf_counter() - started
    median = statistics.median(timings)
    figures = [("import_10k_orders_s", f"{median:.2f}", "s")]
    notes = [
        f"import: {ROWS:,}-row CSV ({len(content) // 1024} KB, {len(HEADERS)} columns, Chinese headers) through "
        f"flagged_orders_import into a new intake case; median of {RUNS} runs "
        f"({min(timings):.2f}-{max(timings):.2f} s), of which reading and checking the file {reading:.2f} s"
    ]
    return figures, notes
