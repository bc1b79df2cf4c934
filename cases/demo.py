"""Demo data: a small agency, two client merchants and a 200-order fake-transaction case."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from agency.accounts.models import Role, Team, User
from agency.organisations.models import Membership, Organisation, Platform, Shop
from cases.models import Case, Restriction, Severity, ViolationType
from cases.services import case_assign, case_create

DEMO_PASSWORD = "appeals-demo"  # noqa: S105 - documented demo credential, never used in production

STAFF = [
    # username, display name, role, team
    ("admin", "Agency Administrator", Role.ADMINISTRATOR, None),
    ("supervisor", "Wang Li (supervisor)", Role.SUPERVISOR, None),
    ("manager1", "Chen Jing (case manager)", Role.CASE_MANAGER, "Alibaba platforms"),
    ("manager2", "Zhao Lei (case manager)", Role.CASE_MANAGER, "JD and Pinduoduo"),
    ("reviewer", "Liu Yang (evidence reviewer)", Role.EVIDENCE_REVIEWER, "Alibaba platforms"),
    ("intake", "Sun Mei (intake specialist)", Role.INTAKE_SPECIALIST, None),
]

CLIENTS = [
    # username, organisation, platform, shop id, shop name
    ("client_blossom", "Hangzhou Blossom Trading Co.", Platform.TMALL, "TM-58812301", "Blossom Home Tmall Store"),
    ("client_star", "Yiwu Star Crafts Ltd.", Platform.TAOBAO, "TB-20931177", "Star Crafts Taobao Shop"),
]


def _user(username: str, display_name: str, role: str, team: Team | None) -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"display_name": display_name, "role": role, "team": team}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        if role == Role.ADMINISTRATOR:
            user.is_staff = True
            user.is_superuser = True
        user.save()
    return user


def demo_orders(count: int, *, notice_at: dt.datetime, seed: int = 2026) -> list[dict[str, Any]]:
    """Plausible flagged orders from the 60 days before the notice."""
    rng = random.Random(seed)  # noqa: S311 - repeatable demo data, not security
    couriers = ["SF Express", "ZTO Express", "YTO Express", "STO Express", "Yunda"]
    orders = []
    for index in range(count):
        placed = notice_at - dt.timedelta(days=rng.randint(3, 60), minutes=rng.randint(0, 1439))
        courier = rng.choice(couriers)
        orders.append(
            {
                "platform_order_id": f"{3900000000000000000 + seed * 1000 + index}",
                "order_time": placed,
                "amount": Decimal(rng.randint(1990, 59900)) / 100,
                "currency": "CNY",
                "buyer_handle": f"buyer_{rng.randint(10000, 99999)}",
                "goods_type": "physical",
                "courier": courier,
                "tracking_number": f"{courier[:2].upper()}{rng.randint(10**11, 10**12 - 1)}",
            }
        )
    return orders


@transaction.atomic
def demo_case(*, intake: User, supervisor: User, shop: Shop, assignee: User, orders: int) -> Case:
    """A fake-transaction case at intake, opened and assigned through the real services."""
    notice_at = timezone.now().replace(microsecond=0) - dt.timedelta(hours=6)
    case = case_create(
        actor=intake,
        shop=shop,
        violation_type=ViolationType.FAKE_TRANSACTION,
        severity=Severity.SERIOUS,
        notice_received_at=notice_at,
        notice_period_start=notice_at - dt.timedelta(days=60),
        notice_period_end=notice_at - dt.timedelta(days=3),
        penalty_points=12,
        restrictions=[Restriction.SEARCH_DEMOTION, Restriction.MARKETING_BAN],
        appeal_deadline=notice_at + dt.timedelta(days=7),
        flagged_orders=demo_orders(orders, notice_at=notice_at),
    )
    case_assign(case_id=case.pk, actor=supervisor, assignee_id=assignee.pk)
    case.refresh_from_db()
    return case


def seed_demo() -> list[str]:
    """Create the demo cast and case if they are missing; safe to run again."""
    lines = []
    teams = {name: Team.objects.get_or_create(name=name)[0] for name in {t for *_, t in STAFF if t}}
    staff = {u: _user(u, name, role, teams.get(team) if team else None) for u, name, role, team in STAFF}
    shops = {}
    for username, org_name, platform, shop_id, shop_name in CLIENTS:
        organisation, _ = Organisation.objects.get_or_create(
            name=org_name, defaults={"contact_email": f"{username}@example.com"}
        )
        user = _user(username, f"{org_name} (client)", Role.CLIENT, None)
        Membership.objects.get_or_create(organisation=organisation, user=user)
        shops[username], _ = Shop.objects.get_or_create(
            platform=platform, platform_shop_id=shop_id, defaults={"organisation": organisation, "name": shop_name}
        )
    shop = shops["client_blossom"]
    if not Case.objects.filter(shop=shop).exists():
        case = demo_case(
            intake=staff["intake"], supervisor=staff["supervisor"], shop=shop, assignee=staff["manager1"], orders=200
        )
        lines.append(f"created case {case.reference} with 200 flagged orders")
    lines.append(f"demo accounts ready (password: {DEMO_PASSWORD})")
    return lines
