"""The demo data (`manage.py seed_demo`, ``casework.demo``) and the benchmark's data set (``bench.seed``)
are real, usable data."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from agency.accounts.models import Role, User
from agency.organisations.models import Organisation, Shop
from bench.seed import seed
from billing.models import FeeQuote, QuoteStatus
from cases.models import AppealAttempt, Case, CaseEvent, CaseState, EventKind, FlaggedOrder, OrderOutcome, ViolationType
from evidence.models import EvidenceItem, EvidenceRequest, RequestStatus, ReviewState
from recovery.models import RecoveryPlan, RecoveryTask, TaskOwner, TaskStatus
from workflows.models import Deadline, DeadlineAlert, DeadlineKind, DeadlineStatus, EmailStatus, Notification
from workflows.notifications import render
from workflows.sweep import deadlines_sweep

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
    case = Case.objects.filter(shop__platform="tmall").order_by("pk").first()
    assert (case.state, case.violation_type) == (CaseState.INTAKE, ViolationType.FAKE_TRANSACTION)
    assert case.flagged_orders.count() == case.flagged_order_count == 200
    assert case.assignee is not None
    assert case.assignee.username == "manager1"
    lapsed = Case.objects.get(shop__platform="taobao")
    assert lapsed.flagged_orders.count() == lapsed.flagged_order_count == 30
    assert lapsed.appeal_deadline is not None
    assert lapsed.appeal_deadline < timezone.now()
    # Every demo user has an address, so the demo's notifications are e-mailed too.
    assert not User.objects.filter(email="").exists()
    # The documented password signs in through the API.
    token = api().post("/api/v1/auth/token/", {"username": "client_blossom", "password": "appeals-demo"})
    assert token.status_code == 200
    assert "token" in token.data


def test_seed_demo_has_a_case_with_a_quote_waiting_for_the_client(api):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    client = User.objects.get(username="client_blossom")
    quoted = Case.objects.get(shop__platform="tmall", state=CaseState.ASSESSMENT)

    assert quoted.state == CaseState.ASSESSMENT
    assert quoted.assignee.username == "manager1"  # picked automatically: Tmall is among manager1's skills
    quotes = api(client).get(f"/api/v1/portal/cases/{quoted.pk}/quotes/")
    assert quotes.status_code == 200
    assert [quote["status"] for quote in quotes.data["results"]] == ["proposed"]
    messages = api(client).get(f"/api/v1/portal/cases/{quoted.pk}/messages/")
    assert len(messages.data["results"]) == 1
    # The internal note is there for staff only.
    assert "coupon rules" not in str(api(client).get(f"/api/v1/portal/cases/{quoted.pk}/timeline/").data)
    assert quoted.notes.count() == 1


def seed_demo_output() -> list[str]:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue().splitlines()


def test_seed_demo_has_a_case_decided_by_the_platform_in_reputation_recovery(api):
    lines = seed_demo_output()
    client = User.objects.get(username="client_blossom")
    case = Case.objects.get(shop__platform="tmall", state=CaseState.REPUTATION_RECOVERY)

    # Taken the whole way by the real transitions, in order, with their history.
    transitions = [
        event.new_value["transition"]
        for event in CaseEvent.objects.filter(case=case, kind=EventKind.STATE_CHANGED).order_by("pk")
    ]
    assert transitions == ["start_assessment", "accept_case", "submit_appeal", "record_outcome", "start_recovery"]
    assert case.assignee is not None
    assert case.assignee.username == "manager1"
    # The client accepted a per-order quote; the fee due follows from the orders cleared.
    quote = FeeQuote.objects.get(case=case, status=QuoteStatus.ACCEPTED)
    assert quote.decided_by == client
    assert quote.amount_due == quote.amount * 12
    # The evidence the submit rule needs: every item reviewed and accepted, all of it in the appeal.
    items = EvidenceItem.objects.filter(case=case)
    assert items.count() == 4 * case.flagged_order_count
    assert set(items.values_list("review_state", flat=True)) == {ReviewState.ACCEPTED}
    assert set(items.filter(kind="chat_log").values_list("uploaded_by__username", flat=True)) == {"client_blossom"}
    assert EvidenceRequest.objects.get(case=case).status == RequestStatus.FULFILLED
    attempt = AppealAttempt.objects.get(case=case)
    assert len(attempt.manifest) == items.count()
    # Partly accepted: some orders cleared with points restored, the rest upheld.
    assert (case.outcome, case.flagged_order_count, case.orders_cleared, case.orders_upheld) == (
        "partially_accepted",
        20,
        12,
        8,
    )
    assert 0 < case.points_restored < case.penalty_points
    assert OrderOutcome.objects.filter(attempt=attempt).count() == 20
    assert (attempt.outcome, attempt.decided_at is not None) == ("partially_accepted", True)
    outcome = api(client).get(f"/api/v1/portal/cases/{case.pk}/outcome/")
    assert outcome.status_code == 200, outcome.data
    assert (outcome.data["orders_cleared"], outcome.data["orders_upheld"]) == (12, 8)
    assert outcome.data["points_restored"] == case.points_restored
    # The plan from the platform's template (the migration's general one): tasks and check-ins.
    plan = RecoveryPlan.objects.get(case=case)
    assert plan.template is not None
    assert plan.template.platform == ""
    client_tasks = RecoveryTask.objects.filter(plan=plan, owner=TaskOwner.CLIENT)
    assert list(client_tasks.order_by("position").values_list("status", flat=True)) == [
        TaskStatus.DONE,
        TaskStatus.IN_PROGRESS,
        TaskStatus.TODO,
    ]
    assert RecoveryTask.objects.filter(plan=plan, owner=TaskOwner.STAFF).exists()
    portal_plan = api(client).get(f"/api/v1/portal/cases/{case.pk}/recovery-plan/")
    assert portal_plan.status_code == 200, portal_plan.data
    assert [check_in["day"] for check_in in portal_plan.data["check_ins"]] == [7, 30, 90]
    assert sum(task["yours"] and task["status"] == TaskStatus.TODO for task in portal_plan.data["tasks"]) == 1
    # What seeding printed says what was made.
    assert (
        f"created case {case.reference} in reputation recovery: 12 of 20 orders cleared,"
        f" {case.points_restored} of {case.penalty_points} points restored, {quote.amount_due} CNY due,"
        " 2 recovery tasks waiting for client_blossom"
    ) in lines


def test_seed_demo_runs_again_without_duplicating(db):
    seed_demo_output()
    models = (
        User,
        Case,
        FlaggedOrder,
        CaseEvent,
        EvidenceRequest,
        EvidenceItem,
        Deadline,
        FeeQuote,
        AppealAttempt,
        OrderOutcome,
        RecoveryPlan,
        RecoveryTask,
        Notification,
    )

    def counts() -> dict[str, int]:
        return {model.__name__: model.objects.count() for model in models}

    before = counts()

    again = seed_demo_output()

    assert counts() == before
    assert again == ["demo accounts ready (password: appeals-demo)"]


def test_the_first_sweep_after_seed_demo_sends_a_reminder_and_an_escalation(django_capture_on_commit_callbacks):
    """What `dev.py up` shows in its first minute: beat's sweep finds a reminder and a miss due."""
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    # Seeding notifies about assignment; only the sweep's notifications are under test.
    Notification.objects.all().delete()
    users = {user.username: user for user in User.objects.all()}
    blossom = Case.objects.filter(shop__platform="tmall").order_by("pk").first()
    star = Case.objects.get(shop__platform="taobao")
    request_deadline = Deadline.objects.get(case=blossom, kind=DeadlineKind.CLIENT_EVIDENCE_REQUEST)
    appeal_window = Deadline.objects.get(case=star, kind=DeadlineKind.PLATFORM_APPEAL_WINDOW)
    # Due within the first minute: the reminder seconds after seeding, the miss at once.
    limit = timezone.now() + dt.timedelta(minutes=1)
    assert request_deadline.next_alert_at is not None
    assert request_deadline.next_alert_at <= limit
    assert appeal_window.next_alert_at == appeal_window.due_at
    assert appeal_window.due_at is not None
    assert appeal_window.due_at < timezone.now()

    with django_capture_on_commit_callbacks() as queued:
        result = deadlines_sweep(now=limit)

    assert (result.reminders, result.missed) == (1, 1)
    assert sorted(result.deadlines) == sorted([request_deadline.pk, appeal_window.pk])
    received = set(Notification.objects.values_list("recipient__username", "deadline_id", "kind"))
    assert received == {
        ("manager1", request_deadline.pk, "deadline_reminder"),
        ("client_blossom", request_deadline.pk, "deadline_reminder"),
        ("manager1", appeal_window.pk, "deadline_missed"),
        ("supervisor", appeal_window.pk, "deadline_escalation"),
    }
    assert set(DeadlineAlert.objects.values_list("deadline_id", "kind")) == {
        (request_deadline.pk, "reminder"),
        (appeal_window.pk, "missed"),
    }
    appeal_window.refresh_from_db()
    assert appeal_window.status == DeadlineStatus.MISSED
    assert CaseEvent.objects.filter(case=star, kind=EventKind.DEADLINE_MISSED).count() == 1
    assert CaseEvent.objects.filter(case=blossom, kind=EventKind.REMINDER_SENT).count() == 1
    # Each notification is e-mailed (everyone has an address), queued once on commit.
    assert set(Notification.objects.values_list("email_status", flat=True)) == {EmailStatus.PENDING}
    assert len(queued) == 4

    for notification in Notification.objects.select_related("recipient", "case"):
        for language in ("en", "zh-hans"):
            title, body = render(notification, language)
            assert notification.case is not None
            assert notification.case.reference in title
            assert notification.case.reference in body
        if notification.recipient == users["client_blossom"]:
            # The client reads what to do, never the staff's names.
            assert "Chen Jing" not in body
    title, _body = render(Notification.objects.get(recipient=users["supervisor"]), "en")
    assert title.startswith("Escalation")

    # The next tick (beat runs the sweep every minute) sends nothing again.
    again = deadlines_sweep(now=limit + dt.timedelta(minutes=1))
    assert (again.reminders, again.missed) == (0, 0)
    assert Notification.objects.count() == 4


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


def test_seed_demo_leaves_three_slips_for_the_checks_one_with_another_waybill(db, monkeypatch):
    from evidence import checks
    from evidence.models import EvidenceCheck

    monkeypatch.setattr(checks, "_send", lambda check_ids: None)  # the worker's part is run below
    lines = seed_demo_output()

    case = Case.objects.filter(shop__platform="tmall").order_by("pk").first()
    slips = list(EvidenceItem.objects.filter(case=case).order_by("pk"))
    assert [(item.kind, item.review_state) for item in slips] == [("shipping_slip", ReviewState.PENDING)] * 3
    assert f"uploaded 3 shipping slips to {case.reference} for the checks to read (one has another waybill)" in lines
    for item in slips:
        checks.check_run(EvidenceCheck.objects.get(item=item).pk)
    outcomes = [EvidenceCheck.objects.get(item=item).outcome for item in slips]
    assert outcomes == ["match", "match", "mismatch"]
    assert case.evidence_requests.get().status == RequestStatus.OPEN  # the chat logs are still asked for
