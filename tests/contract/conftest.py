"""One agency's worth of data, seeded once per test database, for the contract tests.

The fuzzer sends thousands of requests to every operation. Seeding a fresh case for each
would cost more than the requests; instead the demo's agency (users, two merchants,
their cases) is seeded once when the test database is made, and walked further through
the real services so that every state, every kind of record and every role exists. Each
test still runs in a transaction that is rolled back, so what one operation's examples
write never leaks into the next operation's.

This directory runs as its own pytest invocation (see dev.py), so the seeded rows never
meet the unit tests' exact counts.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import signals
from django.db import close_old_connections
from django.utils import timezone
from rest_framework.authtoken.models import Token

from agency.accounts.models import User
from agency.celery import app as celery_app
from agency.organisations.models import Shop
from cases.models import Case
from casework import services
from casework.demo import seed_demo
from integrations.api_keys import api_key_create
from integrations.webhooks import webhook_subscription_create
from tests.conftest import PATHS, agree_fee, complete_evidence
from tests.factories import order_data

# The roles the contract is checked as; "anonymous" sends no credentials.
ROLES = ("anonymous", "client", "api_key", "case_manager", "supervisor", "administrator")


@dataclass(frozen=True)
class Cast:
    """The Authorization header of each role."""

    headers: dict[str, dict[str, str]]


def _walk(shop: Shop, state: str, *, supervisor: User, manager: User) -> Case:
    case = services.case_create(
        actor=supervisor,
        shop=shop,
        violation_type="fake_transaction",
        notice_received_at=timezone.now() - dt.timedelta(hours=3),
        flagged_orders=[order_data(i) for i in range(4)],
    )
    services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=manager.pk)
    for name, inputs in PATHS[state]:
        if name == "accept_case":
            agree_fee(case, supervisor=supervisor)
        services.case_transition(case_id=case.pk, name=name, actor=supervisor, **inputs)
        if name == "accept_case":
            complete_evidence(case, reviewer=supervisor)
    return case


def seed_agency() -> dict[str, dict[str, str]]:
    seed_demo()
    users = {user.username: user for user in User.objects.all()}
    supervisor, manager, admin = users["supervisor"], users["manager1"], users["admin"]
    shop = Shop.objects.get(platform_shop_id="TM-58812301")
    for state in PATHS:
        _walk(shop, state, supervisor=supervisor, manager=manager)
    _, key = api_key_create(
        actor=admin, name="Blossom ERP", organisation_id=shop.organisation_id, permission="read_write"
    )
    webhook_subscription_create(
        actor=admin, url="http://127.0.0.1:9/agency", events=["case.state_changed"], description="CRM"
    )

    def token(username: str) -> dict[str, str]:
        return {"Authorization": f"Token {Token.objects.get_or_create(user=users[username])[0].key}"}

    return {
        "anonymous": {},
        "client": token("client_blossom"),
        "api_key": {"Authorization": f"Api-Key {key}"},
        "case_manager": token("manager1"),
        "supervisor": token("supervisor"),
        "administrator": token("admin"),
    }


@pytest.fixture(scope="session")
def cast(django_db_setup: Any, django_db_blocker: Any) -> Cast:
    # Outside a test's transaction, on-commit tasks fire at once: run them in-process
    # (e-mail goes to the test outbox) instead of leaving messages on a broker.
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with django_db_blocker.unblock():
            headers = seed_agency()
    finally:
        celery_app.conf.task_always_eager = previous
    return Cast(headers=headers)


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """Keep the database connection across the fuzzer's requests, as Django's test client does.

    schemathesis calls the WSGI application itself, so each request's end closes "old"
    connections; inside a test's transaction that closes the connection the test runs in
    (PostgreSQL; SQLite's in-memory test database is exempt).
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def request_count(request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    """Requests a test sent, by role; reported in the run's summary (see pytest_terminal_summary)."""
    counts: Counter[str] = Counter()
    yield counts
    # Properties travel with the test's reports, so the count reaches the controller under xdist too.
    request.node.user_properties.append(("fuzz_requests", dict(counts)))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the fuzzer's figures: operations, requests per role, failures."""
    totals: Counter[str] = Counter()
    operations: set[str] = set()
    failed = 0
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) == "call" and getattr(report, "failed", False):
                failed += 1
            if getattr(report, "when", None) != "teardown":
                continue
            for name, value in getattr(report, "user_properties", []):
                if name == "fuzz_requests":
                    totals.update(value)
                    operations.add(report.nodeid.split("[", 1)[1].split("]", 1)[0])
    if not totals:
        return
    terminalreporter.write_line(
        f"FUZZ operations={len(operations)} requests={sum(totals.values())} failed_tests={failed} "
        + " ".join(f"{role}={totals[role]}" for role in ROLES)
    )
