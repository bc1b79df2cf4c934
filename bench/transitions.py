"""Taking submit_appeal on a 200-order case over the API: statements and wall time.

Run inside bench.inprocess once Django is set up and the bench data is seeded. Each case
is opened through the real services, assessed and quoted, walked to the evidence stage,
and given accepted evidence of every kind its profile requires for each order (rows
only: the transition reads the evidence's rows, never its files). Then one
``POST /api/v1/cases/{id}/transitions/`` submits it; a case can be submitted once, so
the time is the median over several cases.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

ORDERS = 200
CASES = 7

# Transaction control is issued by the driver on PostgreSQL and not logged there; leave it
# out on SQLite too, so the figure is the same statements on both (as the pinned test).
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


def _ready_case(*, intake: Any, supervisor: Any, assignee: Any, shop: Any, seed: int) -> Any:
    from billing.services import quote_accept, quote_propose
    from cases.assessment import assessment_record
    from cases.models import FlaggedOrder
    from casework.demo import demo_case
    from casework.transitions import case_transition
    from evidence.models import EvidenceItem, ReviewState, UploadSource
    from evidence.rules import required_evidence

    case = demo_case(intake=intake, supervisor=supervisor, shop=shop, assignee=assignee, orders=ORDERS, order_seed=seed)
    case_transition(case_id=case.pk, name="start_assessment", actor=supervisor)
    assessment_record(case_id=case.pk, actor=supervisor, recommendation="take", merit_score=70)
    quote = quote_propose(case_id=case.pk, actor=supervisor, fee_model="flat", amount=Decimal("8000"))
    quote_accept(quote_id=quote.pk, actor=supervisor, note="Agreed by phone.")
    case = case_transition(case_id=case.pk, name="accept_case", actor=supervisor)
    required = required_evidence(case)
    items = [
        EvidenceItem(
            case=case,
            order_id=order_id,
            kind=kind,
            review_state=ReviewState.ACCEPTED,
            source=UploadSource.STAFF,
            uploaded_by=supervisor,
            reviewed_by=supervisor,
            original_name=f"{kind}-{order_id}.jpg",
            file=f"bench/{case.pk}/{order_id}-{kind}.jpg",
            reviewed_at=timezone.now(),
            content_type="image/jpeg",
            size=1024,
            sha256=hashlib.sha256(f"{case.pk}-{order_id}-{kind}".encode()).hexdigest(),
        )
        for order_id, goods_type in FlaggedOrder.objects.filter(case=case).values_list("id", "goods_type")
        for kind in required[goods_type]
    ]
    EvidenceItem.objects.bulk_create(items, batch_size=1000)
    return case


def submit_appeal_figures(supervisor_token: str) -> list[tuple[str, str, str]]:
    from agency.accounts.models import Role, User
    from agency.organisations.models import Shop

    supervisor = User.objects.get(username="bench_supervisor")
    intake = User.objects.get(username="bench_intake")
    assignee = User.objects.filter(role=Role.CASE_MANAGER).order_by("pk").first()
    shop = Shop.objects.order_by("pk").first()
    client = Client(headers={"Authorization": f"Token {supervisor_token}", "Accept": "application/json"})
    statements: list[int] = []
    timings: list[float] = []
    for number in range(CASES):
        case = _ready_case(intake=intake, supervisor=supervisor, assignee=assignee, shop=shop, seed=7000 + number)
        url = f"/api/v1/cases/{case.pk}/transitions/"
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response: Any = client.post(url, {"transition": "submit_appeal"}, content_type="application/json")
            timings.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"POST {url} answered {response.status_code}: {response.content[:300]!r}")
        statements.append(
            sum(
                1
                for query in captured.captured_queries
                if not query["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)
            )
        )
    return [
        (f"submit_appeal_{ORDERS}_orders_statements", str(max(statements)), "statements"),
        (f"submit_appeal_{ORDERS}_orders_ms", f"{statistics.median(timings) * 1000:.1f}", "ms"),
    ]
