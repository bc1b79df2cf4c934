"""Statements per transition over the API: the case is loaded once and each rule read once.

Each figure is every statement one ``POST /api/v1/cases/{id}/transitions/`` runs, as the
view, the transition's steps and the answer run them, on the embedded SQLite and on
PostgreSQL alike. The test database wraps each test in a transaction, so the
transition's own transaction shows as one SAVEPOINT and its RELEASE: they are counted.
A transition that needs more statements than its pin is a regression to explain.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casework import transitions

pytestmark = pytest.mark.django_db

# transition, the state it starts from, its inputs, orders on the case, the most statements.
PINS: list[tuple[str, str, dict[str, Any], int, int]] = [
    ("start_assessment", "intake", {}, 3, 99),
    ("decline", "intake", {"reason": "The violation was genuine."}, 3, 99),
    ("accept_case", "assessment", {}, 3, 99),
    ("submit_appeal", "evidence", {}, 200, 99),
    ("record_outcome", "submitted", {"outcome": "rejected"}, 3, 99),
    ("reappeal", "resolved", {}, 3, 99),
    ("start_recovery", "resolved", {}, 3, 99),
    ("close", "resolved", {}, 3, 99),
    ("withdraw", "evidence", {"reason": "The client settled with the platform."}, 3, 99),
]


def test_every_transition_has_a_pin():
    assert sorted(name for name, *_rest in PINS) == sorted(transitions.names())


@pytest.mark.parametrize(("name", "state", "inputs", "orders", "most"), PINS, ids=[pin[0] for pin in PINS])
@pytest.mark.django_db(transaction=True)
def test_statements_per_transition(name, state, inputs, orders, most, case_in, supervisor, api):
    case = case_in(state, orders=orders)
    client = api(supervisor)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/api/v1/cases/{case.pk}/transitions/", {"transition": name, **inputs}, format="json")
    assert response.status_code == 200, response.content
    print(f"\nSTATEMENTS {name} {len(queries.captured_queries)}")
    for q in queries.captured_queries:
        print("   ", q["sql"][:150])
    assert len(queries.captured_queries) <= most
