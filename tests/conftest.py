"""The fixed cast of users and the helpers every test shares.

Clients: alice and bob belong to Blossom Trading (alice's case is theirs); charlie belongs
to Star Crafts and must never see Blossom's data. Staff: one user per role, with
``manager`` and ``reviewer`` on the Alibaba team, ``outsider_manager`` on another team.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.utils import timezone, translation
from rest_framework.test import APIClient

from agency.accounts.models import Role, User
from agency.organisations.models import Organisation, Shop
from cases.models import Case, CaseState
from casework import services
from evidence.rules import accepted_kinds, required_evidence
from evidence.storage import PrivateS3Storage, evidence_storage
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
PATHS: dict[str, list[tuple[str, dict[str, Any]]]] = {
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


def agree_fee(case: Case, *, supervisor: User, amount: str = "8000") -> Any:
    """The assessment and fee step before accept_case: assessed (take), quoted, accepted.

    The supervisor records the client's acceptance on their behalf, so no client user is
    added to the organisation (reminders and notifications to its users stay as they are).
    """
    from decimal import Decimal

    from billing.services import quote_accept, quote_propose
    from cases.assessment import assessment_record

    assessment_record(case_id=case.pk, actor=supervisor, recommendation="take", merit_score=70)
    quote = quote_propose(case_id=case.pk, actor=supervisor, fee_model="flat", amount=Decimal(amount))
    return quote_accept(quote_id=quote.pk, actor=supervisor, note="Agreed by phone.")


def ask_for_chat_log(case: Case, supervisor: User) -> Any:
    """Ask the client, through the real service, for the chat log of the case's first order, due in two days."""
    from evidence.requests import evidence_request_create

    order = case.flagged_orders.first()
    assert order is not None
    return evidence_request_create(
        case_id=case.pk,
        actor=supervisor,
        items=[{"order": order.pk, "kind": "chat_log"}],
        due_at=timezone.now() + dt.timedelta(days=2),
        message="Please send the chat with the buyer of this order.",
    )


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
            if name == "accept_case":
                agree_fee(case, supervisor=supervisor)
            services.case_transition(case_id=case.pk, name=name, actor=supervisor, **inputs)
            if name == "accept_case" and with_evidence:
                # From the evidence state on, the walk needs what the submit rule requires.
                complete_evidence(case, reviewer=supervisor)
        case.refresh_from_db()
        assert case.state == state
        return case

    return make


@pytest.fixture
def give(make_case: Callable[..., Case], blossom_shop: Shop, settings: Any) -> Callable[..., Case]:
    """Give ``person`` an open case with ``orders`` flagged orders, without automatic assignment."""

    def make(person: User, *, orders: int = 0) -> Case:
        settings.AUTO_ASSIGN_AT_INTAKE = False
        try:
            return make_case(blossom_shop, orders=orders, assignee=person)
        finally:
            settings.AUTO_ASSIGN_AT_INTAKE = True

    return make


def mark_cleared(case: Case, order_ids: Any) -> None:
    """Clear orders the way casework.appeals does when an outcome is recorded (that path is tested
    in tests/casework/test_services.py): the orders' outcome and the case's open-order count."""
    cleared = case.flagged_orders.filter(pk__in=order_ids).update(outcome="cleared")
    Case.objects.filter(pk=case.pk).update(open_order_count=F("open_order_count") - cleared)


@pytest.fixture
def api() -> Callable[[User | None], APIClient]:
    def client_for(user: User | None = None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for


@pytest.fixture(autouse=True, scope="session")
def _evidence_bucket() -> None:
    """With evidence in S3 (EVIDENCE_S3_BUCKET, as CI runs), the bucket exists before any test stores a file."""
    storage = evidence_storage()
    if not isinstance(storage, PrivateS3Storage):
        return
    from botocore.exceptions import ClientError  # type: ignore[import-untyped]

    try:
        storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
    except ClientError:
        with contextlib.suppress(ClientError):  # another xdist worker may create it first
            region = storage.region_name
            where = (
                {"CreateBucketConfiguration": {"LocationConstraint": region}}
                if region not in (None, "us-east-1")
                else {}
            )
            storage.connection.meta.client.create_bucket(Bucket=storage.bucket_name, **where)


@pytest.fixture(autouse=True)
def _default_recovery_template(request: pytest.FixtureRequest) -> None:
    """The general recovery template a migration seeds, there for every database test.

    A transactional test's flush empties the tables; its serialized rollback restores them
    only when the next such test starts, so a test running in between would find no
    template and get an empty plan. Seeding again when missing makes the order irrelevant.
    """
    uses_database = (
        request.node.get_closest_marker("django_db") is not None or "django_db_setup" in request.fixturenames
    )
    if not uses_database:
        return
    # Database access as the test itself gets it (marker or fixture), before this seeds.
    request.getfixturevalue("_django_db_helper")
    from django.apps import apps

    seed = importlib.import_module("recovery.migrations.0002_default_template").seed
    seed(apps, None)


@pytest.fixture(autouse=True)
def _default_language() -> Any:
    """Requests with Accept-Language leave their language active on the thread; reset it."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Counts kept in the cache (sign-in failures, rate limits) start at zero in every test.

    The cache outlives a test: a test that locks alice out must not lock out the next test
    that signs her in on the same worker (each worker has a cache of its own, see
    tests/settings.py).
    """
    cache.clear()
