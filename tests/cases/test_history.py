"""Case history is append-only: no code path, and on PostgreSQL not even raw SQL, rewrites it."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from cases.models import CaseEvent
from tests.conftest import requires_postgres


def test_saved_event_cannot_be_changed_or_deleted(case_in):
    event = CaseEvent.objects.filter(case=case_in("intake")).first()
    event.reason = "rewritten"

    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()

    event.refresh_from_db()
    assert event.reason == ""


def test_bulk_update_and_delete_are_refused(case_in):
    case = case_in("assessment")
    before = CaseEvent.objects.filter(case=case).count()
    with pytest.raises(TypeError):
        CaseEvent.objects.filter(case=case).update(reason="rewritten")
    with pytest.raises(TypeError):
        CaseEvent.objects.filter(case=case).delete()

    assert CaseEvent.objects.filter(case=case, reason="rewritten").count() == 0
    assert CaseEvent.objects.filter(case=case).count() == before


def test_a_case_with_history_cannot_be_deleted(case_in):
    from django.db.models import ProtectedError

    case = case_in("intake")

    with pytest.raises(ProtectedError):
        case.delete()


@requires_postgres
@pytest.mark.parametrize("statement", ["UPDATE cases_caseevent SET reason = 'x'", "DELETE FROM cases_caseevent"])
def test_database_refuses_raw_rewrites(case_in, statement):
    case = case_in("intake")
    before = list(CaseEvent.objects.filter(case=case).values_list("id", "reason"))

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)

    assert list(CaseEvent.objects.filter(case=case).values_list("id", "reason")) == before
