"""Demo data: a small agency, two client merchants, their cases, and alerts due as soon as the demo starts."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from agency.accounts.models import Role, Team, User
from agency.organisations.models import Membership, Organisation, Platform, Shop
from billing.models import FeeModel, FeeQuote, QuoteStatus
from billing.services import quote_accept, quote_propose
from cases.assessment import assessment_record
from cases.kinds import EvidenceKind
from cases.models import (
    Case,
    FlaggedOrder,
    OrderResult,
    Outcome,
    Recommendation,
    Restriction,
    Severity,
    SuspectedCause,
    ViolationType,
)
from casework.appeals import attempt_update
from casework.conversation import message_post, note_add
from casework.services import case_assign, case_create, case_transition
from evidence.models import EvidenceItem, EvidenceRequest
from evidence.requests import evidence_request_create
from evidence.services import ReviewDecision, evidence_review, evidence_upload
from recovery.models import RecoveryTask, TaskOwner, TaskStatus
from recovery.services import plan_task_update, portal_task_update

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
# Blossom's decided case: a small notice keeps seeding quick, since taking it the whole
# way means four evidence files per order, each uploaded and reviewed. Taking its orders
# by order time, the platform upholds the 2nd and 4th of every five (8 of 20) and clears
# the rest, giving a penalty point back for each of the first 7 it clears.
DECIDED_ORDERS = 20
DECIDED_UPHELD_REMAINDERS = (1, 3)
DECIDED_POINTS_RESTORED = 7
# The courier's documents the agency uploads for each order of that case, with the title
# printed on each (the chat log, the fourth kind the rule asks for, comes from the client).
COURIER_DOCUMENTS: dict[str, str] = {
    EvidenceKind.SHIPPING_SLIP: "Shipping slip",
    EvidenceKind.SIGNED_DELIVERY: "Signed delivery slip",
    EvidenceKind.COURIER_TRACKING: "Internal tracking record",
}


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
    shops, clients = {}, {}
    for username, org_name, platform, shop_id, shop_name in CLIENTS:
        organisation, _ = Organisation.objects.get_or_create(
            name=org_name, defaults={"contact_email": f"{username}@example.com"}
        )
        user = clients[username] = _user(username, f"{org_name} (client)", Role.CLIENT, None)
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
    lines += _demo_checked_slips(shop=shop, reviewer=staff["reviewer"])
    lines += _demo_lapsed_case(shop=shops["client_star"], staff=staff)
    lines += _demo_quoted_case(shop=shop, staff=staff)
    lines += _demo_decided_case(shop=shop, staff=staff, client=clients["client_blossom"])
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


def _demo_checked_slips(*, shop: Shop, reviewer: User) -> list[str]:
    """Three shipping slips on the intake case, waiting for review, for the evidence checks to read.

    The worker reads each and compares it with its order (evidence.checks): two agree; the
    third carries another parcel's waybill number, so its check finds a mismatch. Only on
    a case without evidence yet, so they are uploaded once.
    """
    case = Case.objects.filter(shop=shop).order_by("pk").first()
    if case is None or not case.is_open or EvidenceItem.objects.filter(case=case).exists():
        return []
    orders = list(case.flagged_orders.filter(excluded_at__isnull=True).order_by("order_time", "pk")[:3])
    for index, order in enumerate(orders):
        # The last slip's waybill differs from the order's in its last four digits, as a mix-up would.
        waybill = order.tracking_number if index < 2 else order.tracking_number[:-4] + "4321"
        document = SimpleUploadedFile(
            f"shipping_slip-{order.platform_order_id}.pdf",
            _demo_courier_pdf(order, EvidenceKind.SHIPPING_SLIP, waybill=waybill),
        )
        evidence_upload(
            case_id=case.pk, actor=reviewer, file=document, kind=EvidenceKind.SHIPPING_SLIP, order_id=order.pk
        )
    return [f"uploaded 3 shipping slips to {case.reference} for the checks to read (one has another waybill)"]


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


@transaction.atomic
def _demo_decided_case(*, shop: Shop, staff: dict[str, User], client: User) -> list[str]:
    """A Blossom case taken the whole way, now in reputation recovery with tasks for the client.

    Assessed, quoted per order cleared and accepted by ``client_blossom``, evidenced (the
    client's chat logs, the agency's courier documents, all reviewed), appealed, partly
    cleared by the platform with points restored, then a recovery plan from the platform's
    template on which the client has ticked off one task and started another. Every step
    goes through the services staff and the client use, so the history, the deadlines met,
    the fee due and the check-ins are what real work leaves behind. Made once: a Blossom
    case that already has an outcome means there is nothing to add.
    """
    if Case.objects.filter(shop=shop).exclude(outcome="").exists():
        return []
    manager = staff["manager1"]
    case = demo_case(
        intake=staff["intake"],
        supervisor=staff["supervisor"],
        shop=shop,
        assignee=manager,
        orders=DECIDED_ORDERS,
        notice_age=dt.timedelta(days=2),
        appeal_window=dt.timedelta(hours=72),
        order_seed=2029,
    )
    case_transition(case_id=case.pk, name="start_assessment", actor=manager)
    assessment_record(
        case_id=case.pk,
        actor=manager,
        causes=[SuspectedCause.PROMOTION_MISREAD],
        cause_notes="A livestream flash sale brought many first-time buyers within two hours.",
        merit_score=65,
        strategy="Chat logs and courier records for every order; the livestream schedule for the spike.",
        recommendation=Recommendation.TAKE,
    )
    quote = quote_propose(
        case_id=case.pk,
        actor=manager,
        fee_model=FeeModel.PER_ORDER_CLEARED,
        amount=Decimal("150.00"),
        client_note="150 yuan per order the platform clears; nothing if none is cleared.",
    )
    quote_accept(quote_id=quote.pk, actor=client, note="同意, 请尽快提交申诉。")
    case_transition(case_id=case.pk, name="accept_case", actor=manager)
    _demo_evidence(case=case, manager=manager, reviewer=staff["reviewer"], client=client)
    case_transition(case_id=case.pk, name="submit_appeal", actor=manager)
    attempt_update(case_id=case.pk, number=1, actor=manager, platform_reference=f"TMSS-{case.pk:04d}-0571")
    case = case_transition(
        case_id=case.pk,
        name="record_outcome",
        actor=manager,
        outcome=Outcome.PARTIALLY_ACCEPTED,
        order_results=_demo_order_results(case),
        outcome_note="Decided in the Tmall appeal centre; the upheld orders shared delivery addresses.",
    )
    case_transition(case_id=case.pk, name="start_recovery", actor=manager)
    open_tasks = _demo_recovery_progress(case=case, manager=manager, client=client)
    due = FeeQuote.objects.get(case=case, status=QuoteStatus.ACCEPTED)
    return [
        f"created case {case.reference} in reputation recovery: {case.orders_cleared} of {DECIDED_ORDERS} orders"
        f" cleared, {case.points_restored} of {case.penalty_points} points restored, {due.amount_due}"
        f" {due.currency} due, {open_tasks} recovery tasks waiting for {client.username}"
    ]


def _demo_evidence(*, case: Case, manager: User, reviewer: User, client: User) -> None:
    """Everything the evidence rule asks of each order, uploaded and accepted through the services.

    The agency asks the client for the chat logs (only the merchant can export them) and
    the client uploads them against the request; the reviewer uploads the courier's
    documents; the reviewer accepts every item.
    """
    orders = list(case.flagged_orders.order_by("order_time", "pk"))
    request = evidence_request_create(
        case_id=case.pk,
        actor=manager,
        items=[{"order": order.pk, "kind": EvidenceKind.CHAT_LOG} for order in orders],
        due_at=timezone.now() + dt.timedelta(hours=48),
        message=f"Please export the Qianniu chat logs of all {len(orders)} orders.",
    )
    uploads = []
    for order in orders:
        chat = SimpleUploadedFile(f"chat-{order.platform_order_id}.txt", _demo_chat_log(order))
        uploads.append(
            evidence_upload(
                case_id=case.pk,
                actor=client,
                file=chat,
                kind=EvidenceKind.CHAT_LOG,
                order_id=order.pk,
                request_id=request.pk,
            )
        )
        for kind in COURIER_DOCUMENTS:
            document = SimpleUploadedFile(f"{kind}-{order.platform_order_id}.pdf", _demo_courier_pdf(order, kind))
            uploads.append(
                evidence_upload(case_id=case.pk, actor=reviewer, file=document, kind=kind, order_id=order.pk)
            )
    for item in uploads:
        evidence_review(item_id=item.pk, actor=reviewer, decision=ReviewDecision.ACCEPT)


def _demo_chat_log(order: FlaggedOrder) -> bytes:
    placed = timezone.localtime(order.order_time)
    return (
        f"千牛聊天记录导出 / Qianniu chat export\n"
        f"订单 {order.platform_order_id}  买家 {order.buyer_handle}\n"
        f"{placed:%Y-%m-%d %H:%M} {order.buyer_handle}: 直播间的优惠券还能用吗?\n"
        f"{placed:%Y-%m-%d %H:%M} Blossom客服: 可以的, 今晚直播专享, 下单后48小时内发货。\n"
        f"{placed + dt.timedelta(days=3):%Y-%m-%d %H:%M} {order.buyer_handle}: 收到了, 质量不错。\n"
    ).encode()


def _demo_courier_pdf(order: FlaggedOrder, kind: str, *, waybill: str | None = None) -> bytes:
    """A one-page PDF standing in for a scanned courier document: opens in any viewer."""
    placed = timezone.localtime(order.order_time)
    lines = [
        f"{order.courier} - {COURIER_DOCUMENTS[kind]}",
        f"Waybill {waybill or order.tracking_number}",
        f"Tmall order {order.platform_order_id}, buyer {order.buyer_handle}",
        f"Shipped {placed + dt.timedelta(days=1):%Y-%m-%d}, delivered {placed + dt.timedelta(days=3):%Y-%m-%d}",
    ]
    return _pdf(lines)


def _pdf(lines: list[str]) -> bytes:
    """A minimal valid PDF showing ``lines`` (ASCII) in Helvetica."""

    def literal(text: str) -> str:
        return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"

    shown = " Tj T* ".join(literal(line) for line in lines)
    stream = f"BT /F1 12 Tf 16 TL 56 780 Td {shown} Tj ET".encode("ascii", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    document = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(document))
        document += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(document)
    document += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    document += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    document += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%EOF\n" % (len(objects) + 1, xref)
    return bytes(document)


def _demo_order_results(case: Case) -> list[dict[str, Any]]:
    """The platform's decision per order: cleared or upheld, and the points given back."""
    results: list[dict[str, Any]] = []
    points_left = DECIDED_POINTS_RESTORED
    for index, order in enumerate(case.flagged_orders.order_by("order_time", "pk")):
        if index % 5 in DECIDED_UPHELD_REMAINDERS:
            note = "Same delivery address as another flagged order within the hour."
            results.append({"order": order.pk, "result": OrderResult.UPHELD, "note": note})
            continue
        points = 1 if points_left > 0 else 0
        points_left -= points
        results.append({"order": order.pk, "result": OrderResult.CLEARED, "points_restored": points})
    return results


def _demo_recovery_progress(*, case: Case, manager: User, client: User) -> int:
    """The client ticks off its first task and starts the second; the agency starts its first.

    Returns how many of the client's tasks are still open.
    """
    tasks = list(RecoveryTask.objects.filter(plan__case=case).order_by("position", "pk"))
    client_tasks = [task for task in tasks if task.owner == TaskOwner.CLIENT]
    staff_tasks = [task for task in tasks if task.owner == TaskOwner.STAFF]
    for task, status in zip(client_tasks, (TaskStatus.DONE, TaskStatus.IN_PROGRESS), strict=False):
        portal_task_update(task_id=task.pk, actor=client, status=status)
    if staff_tasks:
        plan_task_update(task_id=staff_tasks[0].pk, actor=manager, changes={"status": TaskStatus.IN_PROGRESS})
    return RecoveryTask.objects.filter(plan__case=case, owner=TaskOwner.CLIENT).exclude(status=TaskStatus.DONE).count()
