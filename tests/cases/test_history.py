"""Case history is append-only: no code path, and on PostgreSQL not even raw SQL, rewrites it."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from cases.history import case_events_recorded, history_batch, record_case_event
from cases.models import CaseEvent, EventKind
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


# --- Writing: one row at a time, or a step's rows together -------------------------------------


def _record(case, supervisor, note):
    return record_case_event(case=case, actor=supervisor, kind=EventKind.NOTE_ADDED, new_value={"note": note})


def test_a_row_outside_a_batch_is_written_at_once_and_announced(case_in, supervisor):
    case = case_in("intake")
    heard = []

    def listener(sender, events, **kwargs):
        heard.append([event.pk for event in events])

    case_events_recorded.connect(listener)
    try:
        event = _record(case, supervisor, "one")
    finally:
        case_events_recorded.disconnect(listener)

    assert event.pk is not None
    assert heard == [[event.pk]]


def test_a_batch_writes_its_rows_in_order_when_it_ends_and_announces_them_once(case_in, supervisor):
    case = case_in("intake")
    before = CaseEvent.objects.filter(case=case).count()
    heard = []

    def listener(sender, events, **kwargs):
        heard.append([event.new_value["note"] for event in events])

    case_events_recorded.connect(listener)
    try:
        with transaction.atomic(), history_batch():
            for note in ("first", "second", "third"):
                _record(case, supervisor, note)
            with history_batch():  # a nested batch leaves the writing to the outer one
                _record(case, supervisor, "fourth")
            assert CaseEvent.objects.filter(case=case).count() == before
    finally:
        case_events_recorded.disconnect(listener)

    notes = list(
        CaseEvent.objects.filter(case=case, kind="note_added").order_by("id").values_list("new_value__note", flat=True)
    )
    assert notes == ["first", "second", "third", "fourth"]
    assert heard == [["first", "second", "third", "fourth"]]


def test_a_batch_that_raises_writes_nothing(case_in, supervisor):
    case = case_in("intake")
    before = CaseEvent.objects.filter(case=case).count()

    def failing_step():
        with history_batch():
            _record(case, supervisor, "lost")
            raise RuntimeError("the step failed")

    with pytest.raises(RuntimeError):
        failing_step()

    assert CaseEvent.objects.filter(case=case).count() == before


def test_a_nested_batch_that_raises_takes_back_only_its_own_rows(case_in, supervisor):
    case = case_in("intake")

    def failing_inner_step():
        with history_batch():
            _record(case, supervisor, "taken back")
            raise RuntimeError("the inner step failed")

    with transaction.atomic(), history_batch():
        _record(case, supervisor, "kept")
        with pytest.raises(RuntimeError):
            failing_inner_step()

    notes = list(CaseEvent.objects.filter(case=case, kind="note_added").values_list("new_value__note", flat=True))
    assert notes == ["kept"]
