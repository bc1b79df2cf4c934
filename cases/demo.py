"""Demo data: a small agency, two client merchants, their cases, and alerts due as soon as the demo starts."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from agency.accounts.models import Role, Team, User
from agency.organisations.models import Membership, Organisation, Platform, Shop
from billing.models import FeeModel
from billing.services import quote_propose
from cases.assessment import assessment_record
from cases.conversation import message_post, note_add
from cases.models import Case, Recommendation, Restriction, Severity, SuspectedCause, ViolationType
from cases.services import case_assign, case_create, case_transition
from evidence.kinds import EvidenceKind
from evidence.models import EvidenceRequest
from evidence.requests import evidence_request_create

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
# The platforms each case manager takes cases on: automatic assignment at intake honours them.
SKILLS = {
    "manager1": [Platform.TAOBAO, Platform.TMALL, Platform.ALIBABA_1688],
    "manager2": [Platform.JD, Platform.PINDUODUO, Platform.DOUYIN],
}

CLIENTS = [
    # username, organisation, platform, shop id, shop name
    ("client_blossom", "Hangzhou Blossom Trading Co.", Platform.TMALL, "TM-58812301", "Blossom Home Tmall Store"),
    ("client_star", "Yiwu Star Crafts Ltd.", Platform.TAOBAO, "TB-20931177", "Star Crafts Taobao Shop"),
]

# The evidence request is due this long after seeding: its 4-hour reminder (the default
# DEADLINE_REMINDER_OFFSETS_HOURS) falls due seconds later, so the sweep that beat queues
# in the first minute of `dev.py up` sends it. A shorter lead would skip that reminder,
# because a reminder whose time had already passed when the deadline was set is not sent.
REMINDER_DEMO_LEAD = dt.timedelta(hours=4, seconds=20)
# Star Crafts' notice came four days ago with a 72-hour appeal window: missed a day ago,
# so the first sweep escalates it to the supervisors.
LAPSED_NOTICE_AGE = dt.timedelta(days=4)
LAPSED_APPEAL_WINDOW = dt.timedelta(hours=72)


def _user(username: str, display_name: str, role: str, team: Team | None) -> User:
    # Addresses so that notifications are e-mailed too (to the console unless SMTP is set).
    email = f"{username}@example.com" if role == Role.CLIENT else f"{username}@agency.example"
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "display_name": display_name,
            "role": role,
            "team": team,
            "email": email,
            "platform_skills": SKILLS.get(username, []),
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        if role == Role.ADMINISTRATOR:
            user.is_staff = True
            user.is_superuser = True
        user.save()
    elif not user.email:  # seeded before the demo had addresses
        user.email = email
        user.save(update_fields=["email"])
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
def demo_case(
    *,
    intake: User,
    supervisor: User,
    shop: Shop,
    assignee: User,
    orders: int,
    notice_age: dt.timedelta = dt.timedelta(hours=6),
    appeal_window: dt.timedelta = dt.timedelta(days=7),
    order_seed: int = 2026,
) -> Case:
    """A fake-transaction case at intake, opened and assigned through the real services."""
    notice_at = timezone.now().replace(microsecond=0) - notice_age
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
        appeal_deadline=notice_at + appeal_window,
        flagged_orders=demo_orders(orders, notice_at=notice_at, seed=order_seed),
    )
    case.refresh_from_db()
    if case.assignee_id != assignee.pk:
        # Automatic assignment at intake normally picks them (their platform skills); if not, the supervisor does.
        case_assign(
            case_id=case.pk, actor=supervisor, assignee_id=assignee.pk, reason="Demo: the case manager for this client."
        )
        case.refresh_from_db()
    return case


def seed_demo() -> list[str]:
    """Create the demo cast, cases and due alerts if they are missing; safe to run again."""
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
    lines += _demo_evidence_request(shop=shop, supervisor=staff["supervisor"])
    lines += _demo_lapsed_case(shop=shops["client_star"], staff=staff)
    lines += _demo_quoted_case(shop=shop, staff=staff)
    lines.append(f"demo accounts ready (password: {DEMO_PASSWORD})")
    return lines


def _demo_evidence_request(*, shop: Shop, supervisor: User) -> list[str]:
    """Ask Blossom for three chat logs, due so that the 4-hour reminder is sent at once.

    The reminder goes to the case's assignee and, the deadline being the client's to meet,
    to the client. Only on a case that has no evidence request yet, so it is made once.
    """
    case = Case.objects.filter(shop=shop).order_by("pk").first()
    if case is None or not case.is_open or EvidenceRequest.objects.filter(case=case).exists():
        return []
    oldest = case.flagged_orders.filter(excluded_at__isnull=True).order_by("order_time", "pk")[:3]
    due_at = timezone.now().replace(microsecond=0) + REMINDER_DEMO_LEAD
    # The supervisor asks: they see every case, even after the demo user reassigned this one.
    evidence_request_create(
        case_id=case.pk,
        actor=supervisor,
        items=[{"order": order.pk, "kind": EvidenceKind.CHAT_LOG} for order in oldest],
        due_at=due_at,
        message="Please export the Qianniu chat logs of these three orders: the platform deletes chats after 75 days.",
    )
    due = f"{timezone.localtime(due_at):%Y-%m-%d %H:%M %Z}"
    return [f"asked the client for 3 chat logs on {case.reference}, due {due} (reminder due now)"]


def _demo_lapsed_case(*, shop: Shop, staff: dict[str, User]) -> list[str]:
    """A Star Crafts case whose appeal window closed yesterday: the first sweep escalates it.

    The miss goes to the assignee and, as an escalation, to the supervisors.
    """
    if Case.objects.filter(shop=shop).exists():
        return []
    case = demo_case(
        intake=staff["intake"],
        supervisor=staff["supervisor"],
        shop=shop,
        assignee=staff["manager1"],
        orders=30,
        notice_age=LAPSED_NOTICE_AGE,
        appeal_window=LAPSED_APPEAL_WINDOW,
        order_seed=2027,
    )
    return [f"created case {case.reference} with 30 flagged orders; its appeal window closed a day ago"]


def _demo_quoted_case(*, shop: Shop, staff: dict[str, User]) -> list[str]:
    """A second Blossom case in assessment: assessed, a fee quote waiting for the client, a message and a note.

    ``client_blossom`` can accept or reject the quote in the portal; the message is in the
    client's thread; the internal note is only for staff.
    """
    if Case.objects.filter(shop=shop).count() >= 2:
        return []
    manager, supervisor = staff["manager1"], staff["supervisor"]
    case = demo_case(
        intake=staff["intake"],
        supervisor=supervisor,
        shop=shop,
        assignee=manager,
        orders=40,
        notice_age=dt.timedelta(hours=30),
        order_seed=2028,
    )
    case_transition(case_id=case.pk, name="start_assessment", actor=manager)
    assessment_record(
        case_id=case.pk,
        actor=manager,
        causes=[SuspectedCause.PROMOTION_MISREAD, SuspectedCause.COMPETITOR_BRUSHING],
        cause_notes="Double-11 pre-sale coupons drove repeat orders from the same addresses.",
        merit_score=75,
        strategy="Prove each order with chat logs and signed delivery slips; show the coupon campaign.",
        recommendation=Recommendation.TAKE,
    )
    quote_propose(
        case_id=case.pk,
        actor=manager,
        fee_model=FeeModel.PER_ORDER_CLEARED,
        amount=Decimal("150.00"),
        client_note="150 yuan per order the platform clears; nothing if none is cleared.",
    )
    message_post(
        case_id=case.pk,
        actor=manager,
        body="您好, 我们已完成初步评估, 报价已发送, 请在客户门户中确认。",
    )
    note_add(case_id=case.pk, actor=manager, body="Internal: check whether the coupon rules were published in advance.")
    return [f"created case {case.reference} in assessment with a fee quote waiting for client_blossom"]
