"""Child process: migrate and seed the bench database, then time the staff case list in-process.

Run by bench.run with the bench environment; it writes its figures and what the load test
needs (the portal path and the client's token) as JSON to the path given as argument.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

PAGE_SIZES = (50, 200)
WARMUP_REQUESTS = 3
TIMED_REQUESTS = 20


def measured(fetch: Callable[[], None]) -> tuple[int, float]:
    """(SQL queries of one request, median wall time in ms of TIMED_REQUESTS more), after warming up."""
    for _ in range(WARMUP_REQUESTS):
        fetch()
    with CaptureQueriesContext(connection) as captured:
        fetch()
    # Read now: the next request's request_started signal clears the connection's query log.
    queries = len(captured.captured_queries)
    timings = []
    for _ in range(TIMED_REQUESTS):
        start = time.perf_counter()
        fetch()
        timings.append(time.perf_counter() - start)
    return queries, statistics.median(timings) * 1000


def case_list_figures(token: str, page_size: int) -> tuple[int, float]:
    """(SQL queries of one request, median wall time in ms) for one page of the staff case list."""
    client = Client(headers={"Authorization": f"Token {token}", "Accept": "application/json"})
    url = f"/api/v1/cases/?page_size={page_size}"

    def fetch() -> None:
        response: Any = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
        returned = len(response.json()["results"])
        if returned != page_size:
            raise RuntimeError(f"GET {url} returned {returned} cases, expected {page_size}")

    return measured(fetch)


def page_figures(client_token: str, paths: dict[str, str]) -> list[tuple[str, str, str]]:
    """Queries and median wall time of the client portal's pages (HTML, as a signed-in merchant sees them)."""
    from rest_framework.authtoken.models import Token

    client = Client(headers={"Accept-Language": "zh-CN"})
    client.force_login(Token.objects.select_related("user").get(key=client_token).user)
    figures = []
    for name, path in paths.items():

        def fetch(path: str = path) -> None:
            response: Any = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code}")

        queries, ms = measured(fetch)
        figures += [(f"page_{name}_queries", str(queries), "queries"), (f"page_{name}_ms", f"{ms:.1f}", "ms")]
    return figures


def main() -> None:
    out = Path(sys.argv[1])
    django.setup()
    from bench.imports import measure_import  # these import models, so only once Django is set up
    from bench.seed import seed
    from bench.transitions import CASES as SUBMIT_CASES
    from bench.transitions import submit_appeal_figures

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    migrated = time.perf_counter()
    data = seed()
    seeded = time.perf_counter()

    measured = {page_size: case_list_figures(data.supervisor_token, page_size) for page_size in PAGE_SIZES}
    figures = [(f"case_list_queries_{size}", str(queries), "queries") for size, (queries, _ms) in measured.items()]
    figures += [(f"case_list_ms_{size}", f"{ms:.1f}", "ms") for size, (_queries, ms) in measured.items()]
    import_figures, import_notes = measure_import(supervisor_token=data.supervisor_token, case_id=data.portal_case_id)
    figures += import_figures
    figures += submit_appeal_figures(data.supervisor_token)
    # DEBUG is off, as in production: the pages name their assets through the static manifest.
    call_command("collectstatic", interactive=False, verbosity=0)
    pages = {"my_cases": "/portal/", "case": f"/portal/cases/{data.portal_case_id}/"}
    figures += page_figures(data.client_token, pages)

    result = {
        "vendor": connection.vendor,
        "notes": [
            f"data: {data.cases} cases in 2 organisations ({data.shops} shops), {data.orders} flagged orders, "
            f"{data.events} case events; migrate {migrated - started:.1f} s, seed {seeded - migrated:.1f} s",
            f"case list: supervisor token, in-process test client, median of {TIMED_REQUESTS} requests "
            f"after {WARMUP_REQUESTS} warm-up requests",
            *import_notes,
            f"submit_appeal: one POST per case on {SUBMIT_CASES} cases of 200 orders with complete evidence, "
            "statements without transaction control (most; the token's own lookup included, which the pinned test, "
            "signed in without a token, does not count), median wall time",
            f"pages: the client's /portal/ and /portal/cases/{data.portal_case_id}/ as HTML, signed in by session, "
            f"median of {TIMED_REQUESTS} requests after {WARMUP_REQUESTS} warm-up requests",
        ],
        "figures": figures,
        "portal_path": f"/api/v1/portal/cases/{data.portal_case_id}/",
        "client_token": data.client_token,
    }
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
