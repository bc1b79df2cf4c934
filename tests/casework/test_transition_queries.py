"""Statements per transition over the API: the case is loaded once and each rule read once.

Each figure is every statement one ``POST /api/v1/cases/{id}/transitions/`` runs (the
view, the transition's steps in its transaction, what runs when it commits, and the
answer) on a 200-order case for ``submit_appeal`` and a small one for the others. The
tests run outside a test transaction, as a request does; transaction control (BEGIN,
COMMIT, which SQLite logs and PostgreSQL's driver does not) is not counted, so the
figures are the same on both. A transition that needs more than its pin is a regression
to explain.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casework import transitions
from tests.conftest import agree_fee

pytestmark = pytest.mark.django_db

CASE_READ = re.compile(r'^SELECT "cases_case"\.')
EVIDENCE_READ = re.compile(r'^SELECT "evidence_evidenceitem"\.')
TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK)\b", re.IGNORECASE)

# transition, the state it starts from, its inputs, orders on the case, the most statements.
# Each answer counts the case's evidence checks (evidence.selectors.check_counts) in one aggregate: one statement more.
PINS: list[tuple[str, str, dict[str, Any], int, int]] = [
    ("start_assessment", "intake", {}, 3, 22),
    ("decline", "intake", {"reason": "The violation was genuine."}, 3, 17),
    ("accept_case", "assessment", {}, 3, 22),
    ("submit_appeal", "evidence", {}, 200, 21),
    ("record_outcome", "submitted", {"outcome": "rejected"}, 3, 28),
    ("reappeal", "resolved", {}, 3, 21),
    ("start_recovery", "resolved", {}, 3, 29),
    ("close", "resolved", {}, 3, 17),
    ("withdraw", "evidence", {"reason": "The client settled with the platform."}, 3, 17),
]


def test_every_transition_has_a_pin():
    assert sorted(name for name, *_rest in PINS) == sorted(transitions.names())


@pytest.mark.parametrize(("name", "state", "inputs", "orders", "most"), PINS, ids=[pin[0] for pin in PINS])
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_statements_per_transition(name, state, inputs, orders, most, case_in, supervisor, api):
    case = case_in(state, orders=orders)
    if name == "accept_case":
        agree_fee(case, supervisor=supervisor)
    client = api(supervisor)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/api/v1/cases/{case.pk}/transitions/", {"transition": name, **inputs}, format="json")
    assert response.status_code == 200, response.content
    statements = [query["sql"] for query in queries.captured_queries if not TRANSACTION_CONTROL.match(query["sql"])]
    assert len(statements) <= most, "\n".join(statements)
    # The case is read once (its row locked, with what the answer shows) ...
    assert sum(1 for sql in statements if CASE_READ.match(sql)) == 1
    # ... and the evidence rule once, under that lock, for the guard, the manifest and the answer.
    if name == "submit_appeal":
        assert sum(1 for sql in statements if EVIDENCE_READ.match(sql)) == 1
