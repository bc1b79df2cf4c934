"""The stored count of orders still to win follows every change that affects it, and the backfill agrees."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.db.models import Q

from cases.models import Case, FlaggedOrder
from casework import services
from tests.conftest import agree_fee, complete_evidence

backfill = importlib.import_module("cases.migrations.0010_case_open_order_count").backfill


def _counted(case: Case) -> int:
    return FlaggedOrder.objects.filter(case=case, excluded_at__isnull=True).filter(~Q(outcome="cleared")).count()


def _stored(case: Case) -> int:
    return Case.objects.values_list("open_order_count", flat=True).get(pk=case.pk)


def test_the_count_follows_orders_added_excluded_included_and_cleared(case_in, supervisor):
    case = case_in("assessment", orders=6)
    assert _stored(case) == _counted(case) == 6
    first, second, third, *_ = case.flagged_orders.order_by("id")

    services.flagged_order_set_excluded(
        case_id=case.pk, order_id=first.pk, actor=supervisor, excluded=True, reason="Admitted."
    )
    assert _stored(case) == _counted(case) == 5
    services.flagged_order_set_excluded(case_id=case.pk, order_id=first.pk, actor=supervisor, excluded=False)
    assert _stored(case) == _counted(case) == 6

    services.flagged_order_set_excluded(
        case_id=case.pk, order_id=third.pk, actor=supervisor, excluded=True, reason="Admitted."
    )
    agree_fee(case, supervisor=supervisor)
    services.case_transition(case_id=case.pk, name="accept_case", actor=supervisor)
    complete_evidence(case, reviewer=supervisor)
    services.case_transition(case_id=case.pk, name="submit_appeal", actor=supervisor)
    services.case_transition(
        case_id=case.pk,
        name="record_outcome",
        actor=supervisor,
        order_results=[{"order": first.pk, "result": "cleared"}, {"order": second.pk, "result": "cleared"}],
        default_result="upheld",
    )
    assert _stored(case) == _counted(case) == 3

    # A cleared order excluded afterwards was not open work: the count does not move.
    services.flagged_order_set_excluded(
        case_id=case.pk, order_id=first.pk, actor=supervisor, excluded=True, reason="Paperwork."
    )
    assert _stored(case) == _counted(case) == 3


def test_the_backfill_counts_what_the_services_keep(case_in, supervisor):
    case = case_in("assessment", orders=4)
    order = case.flagged_orders.first()
    services.flagged_order_set_excluded(
        case_id=case.pk, order_id=order.pk, actor=supervisor, excluded=True, reason="Admitted."
    )
    Case.objects.filter(pk=case.pk).update(open_order_count=0)

    backfill(apps, None)

    assert _stored(case) == 3
