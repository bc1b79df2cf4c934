"""The demo data (`manage.py seed_demo`) and the benchmark's data set are real, usable data."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Count

from agency.accounts.models import Role, User
from agency.organisations.models import Organisation, Shop
from bench.seed import seed
from cases.models import Case, CaseEvent, CaseState, FlaggedOrder, ViolationType

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_cast_and_the_intake_case(api):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    roles = dict(User.objects.values_list("username", "role"))
    assert roles["supervisor"] == Role.SUPERVISOR
    assert roles["manager1"] == roles["manager2"] == Role.CASE_MANAGER
    assert roles["reviewer"] == Role.EVIDENCE_REVIEWER
    assert Organisation.objects.count() == 2
    assert sorted(Shop.objects.values_list("platform", flat=True)) == ["taobao", "tmall"]
    for organisation in Organisation.objects.all():
        assert organisation.memberships.filter(user__role=Role.CLIENT).count() == 1
    case = Case.objects.get()
    assert (case.state, case.violation_type) == (CaseState.INTAKE, ViolationType.FAKE_TRANSACTION)
    assert case.flagged_orders.count() == case.flagged_order_count == 200
    assert case.assignee is not None
    assert case.assignee.username == "manager1"
    # The documented password signs in through the API.
    token = api().post("/api/v1/auth/token/", {"username": "client_blossom", "password": "appeals-demo"})
    assert token.status_code == 200
    assert "token" in token.data


def test_seed_demo_runs_again_without_duplicating(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    counts = (User.objects.count(), Case.objects.count(), FlaggedOrder.objects.count(), CaseEvent.objects.count())

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert (User.objects.count(), Case.objects.count(), FlaggedOrder.objects.count(), CaseEvent.objects.count()) == (
        counts
    )


def test_bench_seed_builds_consistent_cases(api):
    data = seed(cases=30)

    assert data.cases == Case.objects.count() == 30
    # The stored order count agrees with the orders actually present, case by case.
    actual = dict(Case.objects.annotate(n=Count("flagged_orders")).values_list("pk", "n"))
    assert dict(Case.objects.values_list("pk", "flagged_order_count")) == actual
    assert len(set(Case.objects.values_list("reference", flat=True))) == 30
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {data.client_token}")
    assert client.get(f"/api/v1/portal/cases/{data.portal_case_id}/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {data.supervisor_token}")
    assert client.get("/api/v1/cases/?page_size=50").data["count"] == 30
