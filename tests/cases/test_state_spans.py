"""Time spent in each state: one span per stay, written beside every transition, and the backfill from history."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
import time_machine
from django.apps import apps
from django.utils import timezone

from agency.errors import ConditionsUnmet
from cases.models import CaseState, CaseStateSpan
from casework import services
from tests.conftest import agree_fee

backfill = importlib.import_module("cases.migrations.0009_backfill_state_spans").backfill


def _spans(case):
    return list(CaseStateSpan.objects.filter(case=case).order_by("entered_at", "id").values_list("state", "seconds"))


def test_a_new_case_has_one_open_span_in_intake(make_case, blossom_shop):
    case = make_case(blossom_shop)

    span = CaseStateSpan.objects.get(case=case)
    assert (span.state, span.left_at, span.seconds) == (CaseState.INTAKE, None, None)
    assert span.entered_at == case.created_at


def test_each_transition_closes_the_stay_and_opens_the_next(make_case, blossom_shop, manager, supervisor):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        case = make_case(blossom_shop, assignee=manager)
        clock.shift(dt.timedelta(hours=5))
        services.case_transition(case_id=case.pk, name="start_assessment", actor=supervisor)
        clock.shift(dt.timedelta(hours=30))
        agree_fee(case, supervisor=supervisor)
        services.case_transition(case_id=case.pk, name="accept_case", actor=supervisor)

    assert _spans(case) == [
        (CaseState.INTAKE, 5 * 3600),
        (CaseState.ASSESSMENT, 30 * 3600),
        (CaseState.EVIDENCE, None),
    ]
    assert CaseStateSpan.objects.filter(case=case, left_at__isnull=True).count() == 1


def test_a_refused_transition_writes_no_span(make_case, blossom_shop, manager, supervisor):
    case = make_case(blossom_shop, assignee=manager)
    services.case_transition(case_id=case.pk, name="start_assessment", actor=supervisor)
    before = _spans(case)

    with pytest.raises(ConditionsUnmet):  # no accepted fee quote yet
        services.case_transition(case_id=case.pk, name="accept_case", actor=supervisor)

    assert _spans(case) == before


def test_the_backfill_rebuilds_the_same_spans_from_history(make_case, blossom_shop, manager, supervisor):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        case = make_case(blossom_shop, assignee=manager)
        clock.shift(dt.timedelta(hours=2))
        services.case_transition(case_id=case.pk, name="start_assessment", actor=supervisor)
        clock.shift(dt.timedelta(hours=3))
        services.case_transition(case_id=case.pk, name="decline", actor=supervisor, reason="Genuine violation.")
    written = _spans(case)
    CaseStateSpan.objects.filter(case=case).delete()

    backfill(apps, None)

    assert (
        _spans(case)
        == written
        == [
            (CaseState.INTAKE, 2 * 3600),
            (CaseState.ASSESSMENT, 3 * 3600),
            (CaseState.DECLINED, None),
        ]
    )
