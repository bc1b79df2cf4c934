"""Two transitions of one case at the same moment: exactly one wins, the other gets 409."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from cases.models import CaseEvent
from casework import services
from tests.conftest import agree_fee, requires_postgres


@requires_postgres
# serialized_rollback: the flush after each transactional test would otherwise take the
# rule profiles the data migrations seed with it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("accept_case", {}), ("accept_case", {})),
        (("accept_case", {}), ("decline", {"reason": "No grounds."})),
    ],
)
def test_concurrent_transitions_one_wins(api, supervisor, manager, case_in, monkeypatch, first, second):
    case = case_in("assessment")
    # accept_case needs the client's accepted quote (billing).
    agree_fee(case, supervisor=supervisor)
    events_before = CaseEvent.objects.filter(case=case, kind="state_changed").count()

    # Both requests must read the case (in state assessment) before either writes, so the
    # loser is caught by the optimistic check on save, not by a later state check.
    both_have_read = threading.Barrier(2, timeout=10)
    original = services._visible_case

    def read_then_wait(actor, case_id, **kwargs):
        loaded = original(actor, case_id, **kwargs)
        both_have_read.wait()
        return loaded

    monkeypatch.setattr(services, "_visible_case", read_then_wait)
    responses: dict[str, int] = {}
    bodies: dict[str, dict] = {}

    def attempt(label, name, inputs, user):
        try:
            client = api(user)
            response = client.post(
                f"/api/v1/cases/{case.pk}/transitions/", {"transition": name, **inputs}, format="json"
            )
            responses[label], bodies[label] = response.status_code, response.data
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=attempt, args=("a", *first, supervisor)),
        threading.Thread(target=attempt, args=("b", *second, manager)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(responses.values()) == [200, 409]
    case.refresh_from_db()
    winner, loser = (first, "b") if responses["a"] == 200 else (second, "a")
    assert "changed while this request was processed" in bodies[loser]["error"]["message"]
    assert case.state == {"accept_case": "evidence", "decline": "declined"}[winner[0]]
    new_events = CaseEvent.objects.filter(case=case, kind="state_changed").count() - events_before
    assert new_events == 1
