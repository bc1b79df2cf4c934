"""The bench data set: two organisations, about 1,000 assigned cases with orders and history."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from agency.accounts.models import Role, Team, User
from agency.organisations.models import Membership, Organisation, Platform, Shop
from cases.history import CLIENT_VISIBLE_KINDS
from cases.models import (
    Case,
    CaseEvent,
    CaseState,
    EventKind,
    FlaggedOrder,
    Outcome,
    PlatformRuleProfile,
    ReferenceSequence,
    Restriction,
    Severity,
    ViolationType,
)
from casework.demo import demo_case, demo_orders

CASES = 1000
ORDERS_PER_CASE = 5
CASE_MANAGERS = 4
ORGANISATIONS = [
    ("Bench Blossom Trading Co.", [Platform.TMALL, Platform.TAOBAO, Platform.JD]),
    ("Bench Star Crafts Ltd.", [Platform.TAOBAO, Platform.PINDUODUO, Platform.DOUYIN]),
]
# (state, appeal attempts used, outcome, relative weight) for the bulk-created cases.
STATE_MIX = [
    (CaseState.INTAKE, 0, "", 3),
    (CaseState.ASSESSMENT, 0, "", 3),
    (CaseState.EVIDENCE, 0, "", 4),
    (CaseState.SUBMITTED, 1, "", 2),
    (CaseState.RESOLVED, 1, Outcome.REJECTED, 1),
    (CaseState.CLOSED, 1, Outcome.ACCEPTED, 2),
]


@dataclass(frozen=True)
class BenchData:
    """What the measurements need: tokens, the portal case, and counts for the report."""

    supervisor_token: str
    client_token: str
    portal_case_id: int
    cases: int
    shops: int
    orders: int
    events: int


def bench_user(username: str, role: str, team: Team | None = None) -> User:
    """A staff or client user of the bench, who signs in by token only."""
    user = User(username=username, display_name=username.replace("_", " ").title(), role=role, team=team)
    user.set_unusable_password()
    user.save()
    return user


def _event(case: Case, actor: User, kind: EventKind, when: dt.datetime, **values: object) -> CaseEvent:
    return CaseEvent(
        case=case, actor=actor, kind=kind, client_visible=kind in CLIENT_VISIBLE_KINDS, created_at=when, **values
    )


def _bulk_cases(
    rng: random.Random, *, count: int, shops: list[Shop], managers: list[User], intake: User, supervisor: User
) -> None:
    """Insert ``count`` cases, their flagged orders and history with bulk_create, fast."""
    now = timezone.now()
    year = timezone.localtime(now).year
    # case_create has already numbered the portal case; carry on from its sequence.
    sequence = ReferenceSequence.objects.get(year=year)
    first_number = sequence.last_number + 1
    weights = [weight for *_, weight in STATE_MIX]
    cases = []
    profiles = {(p.platform, p.violation_type): p for p in PlatformRuleProfile.objects.all()}
    for offset in range(count):
        created = now - dt.timedelta(minutes=rng.randint(60, 60 * 24 * 90))
        notice = created - dt.timedelta(hours=rng.randint(1, 72))
        shop = rng.choice(shops)
        state, attempts, outcome, _weight = rng.choices(STATE_MIX, weights)[0]
        violation_type = rng.choice(ViolationType.values)
        changed = created if state == CaseState.INTAKE else created + dt.timedelta(hours=rng.randint(1, 48))
        cases.append(
            Case(
                reference=f"AP-{year}-{first_number + offset:06d}",
                organisation_id=shop.organisation_id,
                shop=shop,
                violation_type=violation_type,
                rule_profile=profiles[(shop.platform, violation_type)],
                severity=rng.choice(Severity.values),
                notice_received_at=notice,
                notice_period_start=notice - dt.timedelta(days=60),
                notice_period_end=notice - dt.timedelta(days=3),
                penalty_points=rng.choice([0, 2, 4, 6, 12, 24, 48]),
                restrictions=rng.sample(Restriction.values, rng.randint(0, 2)),
                appeal_deadline=notice + dt.timedelta(days=7),
                assignee=rng.choice(managers),
                appeal_attempts_used=attempts,
                flagged_order_count=ORDERS_PER_CASE,
                open_order_count=ORDERS_PER_CASE,
                outcome=outcome,
                # A protected FSM field may be set in the constructor, never afterwards.
                state=state,
                state_changed_at=changed,
                created_by=intake,
                created_at=created,
            )
        )
    Case.objects.bulk_create(cases, batch_size=500)
    if any(case.pk is None for case in cases):
        raise RuntimeError("bulk_create did not return primary keys on this database")
    sequence.last_number = first_number + count - 1
    sequence.save(update_fields=["last_number"])

    orders: list[FlaggedOrder] = []
    events: list[CaseEvent] = []
    for case in cases:
        case_orders = demo_orders(ORDERS_PER_CASE, notice_at=case.notice_received_at, seed=case.pk)
        orders.extend(FlaggedOrder(case=case, created_at=case.created_at, **order) for order in case_orders)
        events.append(_event(case, intake, EventKind.CREATED, case.created_at, new_value={"reference": case.reference}))
        events.append(
            _event(case, intake, EventKind.FLAGGED_ORDERS_ADDED, case.created_at, new_value={"count": ORDERS_PER_CASE})
        )
        assigned_at = case.created_at + dt.timedelta(minutes=30)
        events.append(
            _event(case, supervisor, EventKind.ASSIGNED, assigned_at, new_value={"assignee": case.assignee_id})
        )
        if case.state != CaseState.INTAKE:
            events.append(
                _event(
                    case,
                    case.assignee or supervisor,
                    EventKind.STATE_CHANGED,
                    case.state_changed_at,
                    old_value={"state": CaseState.INTAKE},
                    new_value={"state": case.state},
                )
            )
    FlaggedOrder.objects.bulk_create(orders, batch_size=1000)
    CaseEvent.objects.bulk_create(events, batch_size=1000)


@transaction.atomic
def seed(*, cases: int = CASES) -> BenchData:
    """Create the users, organisations, shops and cases; expects an empty, migrated database."""
    rng = random.Random(2026)
    team = Team.objects.create(name="Bench team")
    supervisor = bench_user("bench_supervisor", Role.SUPERVISOR)
    intake = bench_user("bench_intake", Role.INTAKE_SPECIALIST)
    managers = [
        bench_user(f"bench_manager_{number}", Role.CASE_MANAGER, team) for number in range(1, CASE_MANAGERS + 1)
    ]
    client = bench_user("bench_client", Role.CLIENT)

    shops = []
    for org_number, (name, platforms) in enumerate(ORGANISATIONS, start=1):
        organisation = Organisation.objects.create(name=name, contact_email=f"bench{org_number}@example.com")
        for shop_number, platform in enumerate(platforms, start=1):
            shops.append(
                Shop.objects.create(
                    organisation=organisation,
                    platform=platform,
                    platform_shop_id=f"BENCH-{org_number}-{shop_number}",
                    name=f"{name} shop {shop_number}",
                )
            )
    Membership.objects.create(organisation=shops[0].organisation, user=client)

    # The client's case goes through the real services, like any case opened at intake.
    portal_case = demo_case(
        intake=intake, supervisor=supervisor, shop=shops[0], assignee=managers[0], orders=ORDERS_PER_CASE
    )

    _bulk_cases(rng, count=cases - 1, shops=shops, managers=managers, intake=intake, supervisor=supervisor)
    return BenchData(
        supervisor_token=Token.objects.create(user=supervisor).key,
        client_token=Token.objects.create(user=client).key,
        portal_case_id=portal_case.pk,
        cases=Case.objects.count(),
        shops=len(shops),
        orders=FlaggedOrder.objects.count(),
        events=CaseEvent.objects.count(),
    )
