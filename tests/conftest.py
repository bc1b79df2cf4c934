"""The fixed cast of users and the helpers every test shares.

Clients: alice and bob belong to Blossom Trading (alice's case is theirs); charlie belongs
to Star Crafts and must never see Blossom's data. Staff: one user per role, with
``manager`` and ``reviewer`` on the Alibaba team, ``outsider_manager`` on another team.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone, translation
from rest_framework.test import APIClient

from agency.accounts.models import Role, User
from agency.organisations.models import Organisation, Shop
from cases import services
from cases.models import Case, CaseState
from evidence.rules import accepted_kinds, required_evidence
from tests.factories import (
    MembershipFactory,
    OrganisationFactory,
    ShopFactory,
    TeamFactory,
    UserFactory,
    evidence_item,
    order_data,
)

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (row locks and concurrent transactions); set DATABASE_URL, as CI does",
)


@pytest.fixture
def team(db: None) -> Any:
    return TeamFactory.create(name="Alibaba platforms")


@pytest.fixture
def other_team(db: None) -> Any:
    return TeamFactory.create(name="JD and Pinduoduo")


def _staff(username: str, role: str, team: Any = None) -> User:
    return UserFactory.create(username=username, role=role, team=team)


@pytest.fixture
def supervisor(db: None) -> User:
    return _staff("supervisor", Role.SUPERVISOR)


@pytest.fixture
def administrator(db: None) -> User:
    return _staff("administrator", Role.ADMINISTRATOR)


@pytest.fixture
def manager(team: Any) -> User:
    return _staff("manager", Role.CASE_MANAGER, team)


@pytest.fixture
def teammate(team: Any) -> User:
    return _staff("teammate", Role.CASE_MANAGER, team)


@pytest.fixture
def outsider_manager(other_team: Any) -> User:
    return _staff("outsider_manager", Role.CASE_MANAGER, other_team)


@pytest.fixture
def reviewer(team: Any) -> User:
    return _staff("reviewer", Role.EVIDENCE_REVIEWER, team)


@pytest.fixture
def intake(db: None) -> User:
    return _staff("intake", Role.INTAKE_SPECIALIST)


@pytest.fixture
def blossom(db: None) -> Organisation:
    return OrganisationFactory.create(name="Hangzhou Blossom Trading Co.")


@pytest.fixture
def star(db: None) -> Organisation:
    return OrganisationFactory.create(name="Yiwu Star Crafts Ltd.")


@pytest.fixture
def blossom_shop(blossom: Organisation) -> Shop:
    return ShopFactory.create(organisation=blossom, platform="tmall", name="Blossom Home Tmall Store")


@pytest.fixture
def star_shop(star: Organisation) -> Shop:
    return ShopFactory.create(organisation=star, platform="taobao", name="Star Crafts Taobao Shop")


@pytest.fixture
def alice(blossom: Organisation) -> User:
    user = UserFactory.create(username="alice", role=Role.CLIENT)
    MembershipFactory.create(organisation=blossom, user=user)
    return user


@pytest.fixture
def bob(blossom: Organisation) -> User:
    user = UserFactory.create(username="bob", role=Role.CLIENT)
    MembershipFactory.create(organisation=blossom, user=user)
    return user


@pytest.fixture
def charlie(star: Organisation) -> User:
    user = UserFactory.create(username="charlie", role=Role.CLIENT)
    MembershipFactory.create(organisation=star, user=user)
    return user


@pytest.fixture
def make_case(intake: User, supervisor: User) -> Callable[..., Case]:
    """Open a case through the real services, optionally with orders and an assignee."""

    def make(
        shop: Shop,
        *,
        orders: int = 3,
        assignee: User | None = None,
        actor: User | None = None,
        **details: Any,
    ) -> Case:
        notice = details.pop("notice_received_at", timezone.now() - dt.timedelta(hours=2))
        case = services.case_create(
            actor=actor or intake,
            shop=shop,
            violation_type=details.pop("violation_type", "fake_transaction"),
            notice_received_at=notice,
            flagged_orders=[order_data(i) for i in range(orders)],
            **details,
        )
        if assignee is not None:
            services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=assignee.pk)
        case.refresh_from_db()
        return case

    return make


# The transitions (and their inputs) that walk a case from intake to each state.
PATHS: dict[str, list[tuple[str, dict[str, str]]]] = {
    CaseState.INTAKE: [],
    CaseState.ASSESSMENT: [("start_assessment", {})],
    CaseState.EVIDENCE: [("start_assessment", {}), ("accept_case", {})],
    CaseState.SUBMITTED: [("start_assessment", {}), ("accept_case", {}), ("submit_appeal", {})],
    CaseState.RESOLVED: [
        ("start_assessment", {}),
        ("accept_case", {}),
        ("submit_appeal", {}),
        ("record_outcome", {"outcome": "rejected"}),
    ],
    CaseState.REPUTATION_RECOVERY: [
        ("start_assessment", {}),
        ("accept_case", {}),
        ("submit_appeal", {}),
        ("record_outcome", {"outcome": "rejected"}),
        ("start_recovery", {}),
    ],
    CaseState.CLOSED: [
        ("start_assessment", {}),
        ("accept_case", {}),
        ("submit_appeal", {}),
        ("record_outcome", {"outcome": "accepted"}),
        ("close", {}),
    ],
    CaseState.DECLINED: [("decline", {"reason": "The violation was genuine."})],
    CaseState.WITHDRAWN: [("withdraw", {"reason": "The client settled with the platform."})],
}


def complete_evidence(case: Case, *, reviewer: User) -> None:
    """Give every order of the case accepted evidence of each kind its profile requires."""
    case.refresh_from_db()
    required = required_evidence(case)
    have = accepted_kinds(case.pk)
    for order in case.flagged_orders.filter(excluded_at__isnull=True):
        for kind in required[order.goods_type]:
            if kind not in have.get(order.pk, set()):
                evidence_item(case, order=order, kind=kind, uploaded_by=reviewer)


@pytest.fixture
def case_in(make_case: Callable[..., Case], blossom_shop: Shop, manager: User, supervisor: User) -> Callable[..., Case]:
    """A Blossom case assigned to ``manager``, walked through real transitions to a state.

    From the evidence state on, every order gets accepted evidence of each required kind
    (``with_evidence=False`` leaves an evidence-state case without any).
    """

    def make(state: str, *, with_evidence: bool = True, **kwargs: Any) -> Case:
        case = make_case(blossom_shop, assignee=manager, **kwargs)
        for name, inputs in PATHS[state]:
            services.case_transition(case_id=case.pk, name=name, actor=supervisor, **inputs)
            if name == "accept_case" and with_evidence:
                # From the evidence state on, the walk needs what the submit rule requires.
                complete_evidence(case, reviewer=supervisor)
        case.refresh_from_db()
        assert case.state == state
        return case

    return make


@pytest.fixture
def api() -> Callable[[User | None], APIClient]:
    def client_for(user: User | None = None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for


@pytest.fixture(autouse=True)
def _default_language() -> Any:
    """Requests with Accept-Language leave their language active on the thread; reset it."""
    yield
    translation.activate(settings.LANGUAGE_CODE)
