"""Assignment (``casework.assignment``): automatic at intake (skills, away, weighted work, ties, nobody
eligible), by supervisors, and the workload view of open work per assignable staff member."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connections, transaction
from django.utils import timezone

from agency.accounts.models import Role, User
from agency.organisations.models import Shop
from cases.models import Case, CaseEvent, EventKind
from cases.reasons import event_reason
from casework import assignment, services
from casework.assignment import workload_rows
from integrations.models import ApiKey, OutboxEvent
from tests.conftest import mark_cleared, requires_postgres
from tests.factories import TeamFactory, UserFactory, order_data
from workflows.models import Deadline, DeadlineKind, DeadlineStatus, Notification, NotificationKind

pytestmark = pytest.mark.django_db


def case_manager(username: str, skills: list[str], **extra: Any) -> User:
    return UserFactory.create(username=username, role=Role.CASE_MANAGER, platform_skills=skills, **extra)


def open_case(shop: Shop, intake: User, *, orders: int = 2) -> Case:
    case = services.case_create(
        actor=intake,
        shop=shop,
        violation_type="fake_transaction",
        notice_received_at=timezone.now() - dt.timedelta(hours=1),
        flagged_orders=[order_data(i) for i in range(orders)],
    )
    case.refresh_from_db()
    return case


# --- Automatic assignment: who is eligible ---------------------------------------------------------


def test_the_case_goes_to_a_manager_with_the_shops_platform_skill(blossom_shop, star_shop, intake, give):
    tmall = case_manager("tmall_manager", ["tmall"])
    taobao = case_manager("taobao_manager", ["taobao", "jd"])
    case_manager("no_skills", [])
    give(tmall, orders=50)  # more work than anyone, still the only one with the skill

    assert open_case(blossom_shop, intake).assignee == tmall
    assert open_case(star_shop, intake).assignee == taobao


def test_a_manager_with_no_skills_is_eligible_for_nothing(blossom_shop, intake, supervisor):
    case_manager("no_skills", [])

    case = open_case(blossom_shop, intake)

    assert case.assignee is None
    event = CaseEvent.objects.get(case=case, kind=EventKind.AUTO_ASSIGNMENT_FAILED)
    assert event.new_value == {"platform": "tmall", "why": "no_skill"}


def test_an_away_manager_is_passed_over(blossom_shop, intake, give):
    away = case_manager("away", ["tmall"], is_away=True)
    busy = case_manager("busy", ["tmall"])
    give(busy, orders=40)

    case = open_case(blossom_shop, intake)

    assert case.assignee == busy
    assert away.assigned_cases.count() == 0


def test_api_key_principals_and_inactive_managers_are_never_picked(blossom_shop, intake, administrator, give):
    robot = case_manager("robot", ["tmall"])
    ApiKey.objects.create_key(name="Robot", principal=robot, created_by=administrator)
    case_manager("gone", ["tmall"], is_active=False)
    working = case_manager("working", ["tmall"])
    give(working, orders=100)

    assert open_case(blossom_shop, intake).assignee == working


def test_supervisors_are_not_assigned_automatically(blossom_shop, intake, supervisor):
    supervisor.platform_skills = ["tmall"]
    supervisor.save(update_fields=["platform_skills"])

    assert open_case(blossom_shop, intake).assignee is None


def test_switched_off_it_leaves_the_case_alone(blossom_shop, intake, settings):
    settings.AUTO_ASSIGN_AT_INTAKE = False
    case_manager("tmall_manager", ["tmall"])

    case = open_case(blossom_shop, intake)

    assert case.assignee is None
    assert not CaseEvent.objects.filter(case=case, kind__in=["assigned", "auto_assignment_failed"]).exists()
    assert not Notification.objects.exists()


# --- Automatic assignment: least work, weighted by orders ------------------------------------------


def test_work_is_weighted_by_open_orders_not_only_cases(blossom_shop, intake, give):
    one_big = case_manager("one_big", ["tmall"])
    three_small = case_manager("three_small", ["tmall"])
    give(one_big, orders=200)  # 10 + 200 = 210
    for _ in range(3):
        give(three_small, orders=3)  # 3 x 10 + 9 = 39

    assert open_case(blossom_shop, intake).assignee == three_small


def test_the_weights_come_from_settings(blossom_shop, intake, give, settings):
    one_big = case_manager("one_big", ["tmall"])
    three_small = case_manager("three_small", ["tmall"])
    give(one_big, orders=200)
    for _ in range(3):
        give(three_small, orders=3)
    settings.ASSIGNMENT_ORDER_WEIGHT = 0  # cases only: one case beats three

    assert open_case(blossom_shop, intake).assignee == one_big


def test_excluded_and_cleared_orders_and_finished_cases_are_not_work(
    blossom_shop, intake, give, case_in, manager, supervisor
):
    manager.platform_skills = ["tmall"]
    manager.save(update_fields=["platform_skills"])
    case_in("declined", orders=80)  # finished: none of it counts
    current = give(manager, orders=30)
    orders = list(current.flagged_orders.order_by("pk"))
    for order in orders[:15]:
        services.flagged_order_set_excluded(
            case_id=current.pk, order_id=order.pk, actor=supervisor, excluded=True, reason="Genuine."
        )
    # What recording an outcome does (casework.appeals): the orders and the case's open count.
    mark_cleared(current, [o.pk for o in orders[15:25]])
    other = case_manager("other", ["tmall"])
    give(other, orders=20)  # 10 + 20 = 30

    (row,) = assignment.workload_rows(user_ids=[manager.pk])
    assert (row["open_cases"], row["open_orders"], row["work"]) == (1, 5, 15)
    assert open_case(blossom_shop, intake).assignee == manager


# --- Automatic assignment: ties ----------------------------------------------------------------


def test_equal_work_goes_to_fewer_open_cases(blossom_shop, intake, give):
    two_cases = case_manager("a_two_cases", ["tmall"])
    one_case = case_manager("b_one_case", ["tmall"])
    give(two_cases, orders=0)
    give(two_cases, orders=0)  # 20
    give(one_case, orders=10)  # 10 + 10 = 20

    assert open_case(blossom_shop, intake).assignee == one_case


def test_then_to_whoever_was_given_a_case_least_recently(blossom_shop, intake):
    now = timezone.now()
    case_manager("recent", ["tmall"], last_assigned_at=now - dt.timedelta(hours=1))
    earlier = case_manager("earlier", ["tmall"], last_assigned_at=now - dt.timedelta(days=2))

    assert open_case(blossom_shop, intake).assignee == earlier


def test_never_assigned_comes_before_any_time(blossom_shop, intake):
    case_manager("assigned_once", ["tmall"], last_assigned_at=timezone.now() - dt.timedelta(days=300))
    never = case_manager("never", ["tmall"])

    assert open_case(blossom_shop, intake).assignee == never


def test_then_to_the_lowest_id(blossom_shop, intake):
    first = case_manager("zz_first", ["tmall"])
    case_manager("aa_second", ["tmall"])

    assert open_case(blossom_shop, intake).assignee == first


def test_each_automatic_assignment_counts_for_the_next(blossom_shop, intake):
    first = case_manager("first", ["tmall"])
    second = case_manager("second", ["tmall"])

    picks = [open_case(blossom_shop, intake, orders=2).assignee for _ in range(4)]

    assert picks == [first, second, first, second]


# --- Automatic assignment: what it records ----------------------------------------------------------


def test_an_automatic_assignment_is_in_the_history_and_notifies_the_assignee(blossom_shop, intake, give):
    chosen = case_manager("chosen", ["tmall"])
    give(chosen, orders=4)
    before = timezone.now()

    case = open_case(blossom_shop, intake, orders=2)

    assert case.assignee == chosen
    event = CaseEvent.objects.get(case=case, kind=EventKind.ASSIGNED)
    assert (event.actor, event.old_value, event.new_value) == (
        intake,
        {"assignee": None},
        {"assignee": chosen.pk, "automatic": True},
    )
    # A reason the system gives is stored as a code and values, and worded when read.
    assert (event.reason, event.reason_code, event.reason_params) == (
        "",
        "auto_assigned_least_work",
        {"work": 14, "cases": 1, "orders": 4},
    )
    assert event_reason(event).startswith("Automatic: least open work")
    assert "score 14" in event_reason(event)
    assert event.client_visible
    # The client's integrations learn who took the case, not the agency's workload figures.
    outbox = OutboxEvent.objects.get(case=case, type="case.assigned")
    assert outbox.data["values"] == {"assignee": chosen.pk, "automatic": True}
    notification = Notification.objects.get(recipient=chosen, kind=NotificationKind.CASE_ASSIGNED, case=case)
    assert notification.params == {
        "reference": case.reference,
        "assigned_by": intake.label,
        "reason_code": "auto_assigned_least_work",
        "reason_params": {"work": 14, "cases": 1, "orders": 4},
        "automatic": True,
    }
    chosen.refresh_from_db()
    assert chosen.last_assigned_at is not None
    assert chosen.last_assigned_at >= before
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.AUTO_ASSIGNMENT_FAILED).exists()


def test_all_skilled_managers_away_leaves_it_for_the_supervisors(blossom_shop, intake, supervisor, administrator):
    case_manager("away", ["tmall"], is_away=True)
    case_manager("other_platform", ["jd"])
    sofia = UserFactory.create(username="sofia", role=Role.SUPERVISOR)
    UserFactory.create(username="retired", role=Role.SUPERVISOR, is_active=False)

    case = open_case(blossom_shop, intake)

    assert case.assignee is None
    event = CaseEvent.objects.get(case=case, kind=EventKind.AUTO_ASSIGNMENT_FAILED)
    assert event.new_value == {"platform": "tmall", "why": "all_away"}
    assert (event.reason_code, event.reason_params) == ("auto_assignment_all_away", {"platform": "tmall"})
    assert "away" in event_reason(event)
    assert not event.client_visible
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.ASSIGNED).exists()
    notified = Notification.objects.filter(kind=NotificationKind.AUTO_ASSIGNMENT_FAILED)
    assert sorted(n.recipient.username for n in notified) == sorted([supervisor.username, sofia.username])
    assert all(n.params == {"reference": case.reference, "platform": "tmall", "why": "all_away"} for n in notified)
    assert not OutboxEvent.objects.filter(case=case, type="case.assigned").exists()


def test_nobody_with_the_skill_says_so(blossom_shop, intake, supervisor):
    case = open_case(blossom_shop, intake)

    event = CaseEvent.objects.get(case=case, kind=EventKind.AUTO_ASSIGNMENT_FAILED)
    assert event.new_value["why"] == "no_skill"
    assert (event.reason_code, event.reason_params) == ("auto_assignment_no_skill", {"platform": "tmall"})
    assert "Tmall" in event_reason(event)
    assert Notification.objects.get(recipient=supervisor).params["why"] == "no_skill"


def test_the_client_never_sees_the_failure(api, alice, blossom_shop, intake):
    case = open_case(blossom_shop, intake)

    response = api(alice).get(f"/api/v1/portal/cases/{case.pk}/timeline/")

    assert response.status_code == 200
    texts = " ".join(entry["text"] for entry in response.data["results"])
    assert "skill" not in texts
    assert "supervisor" not in texts


def test_a_case_opened_over_the_api_is_assigned_automatically(api, intake, blossom_shop):
    chosen = case_manager("chosen", ["tmall"])
    payload = {
        "shop": blossom_shop.pk,
        "violation_type": "fake_transaction",
        "notice_received_at": (timezone.now() - dt.timedelta(hours=1)).isoformat(),
        "flagged_orders": [{**order_data(0), "order_time": order_data(0)["order_time"].isoformat(), "amount": "99.00"}],
    }

    response = api(intake).post("/api/v1/cases/", payload, format="json")

    assert response.status_code == 201, response.data
    assert Case.objects.get(pk=response.data["id"]).assignee == chosen


# --- Supervisors assign, reassign and unassign -----------------------------------------------------


def test_the_first_assignment_needs_no_reason_and_notifies(blossom_shop, intake, supervisor, manager):
    case = open_case(blossom_shop, intake)

    services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=manager.pk)

    case.refresh_from_db()
    assert case.assignee == manager
    event = CaseEvent.objects.get(case=case, kind=EventKind.ASSIGNED)
    assert (event.old_value, event.new_value, event.reason) == ({"assignee": None}, {"assignee": manager.pk}, "")
    notification = Notification.objects.get(recipient=manager, kind=NotificationKind.CASE_ASSIGNED)
    assert notification.params == {
        "reference": case.reference,
        "assigned_by": supervisor.label,
        "reason": "",
        "automatic": False,
    }
    manager.refresh_from_db()
    assert manager.last_assigned_at is not None


@pytest.mark.parametrize("reason", ["", "   "])
@pytest.mark.parametrize("to", ["teammate", None])
def test_taking_a_case_from_someone_needs_a_reason(api, request, supervisor, case_in, manager, reason, to):
    case = case_in("assessment")
    events = CaseEvent.objects.filter(case=case).count()
    notifications = Notification.objects.count()
    assignee = request.getfixturevalue(to).pk if to else None

    response = api(supervisor).post(
        f"/api/v1/cases/{case.pk}/assign/", {"assignee": assignee, "reason": reason}, format="json"
    )

    assert response.status_code == 400
    assert set(response.data["error"]["details"]["fields"]) == {"reason"}
    case.refresh_from_db()
    assert case.assignee == manager
    assert CaseEvent.objects.filter(case=case).count() == events
    assert Notification.objects.count() == notifications


def test_a_reassignment_with_a_reason_is_recorded_and_notifies_the_new_assignee(
    api, supervisor, case_in, manager, teammate
):
    case = case_in("evidence")

    response = api(supervisor).post(
        f"/api/v1/cases/{case.pk}/assign/", {"assignee": teammate.pk, "reason": "Manager on leave."}, format="json"
    )

    assert response.status_code == 200
    event = CaseEvent.objects.filter(case=case, kind=EventKind.ASSIGNED).latest("id")
    assert (event.old_value, event.new_value, event.reason) == (
        {"assignee": manager.pk},
        {"assignee": teammate.pk},
        "Manager on leave.",
    )
    notification = Notification.objects.get(recipient=teammate, kind=NotificationKind.CASE_ASSIGNED)
    assert notification.params["reason"] == "Manager on leave."
    assert notification.params["automatic"] is False
    teammate.refresh_from_db()
    assert teammate.last_assigned_at is not None


def test_unassigning_with_a_reason_is_recorded_and_notifies_nobody(supervisor, case_in, manager):
    case = case_in("intake")
    notifications = Notification.objects.count()

    services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=None, reason="Back to the queue.")

    case.refresh_from_db()
    assert case.assignee is None
    event = CaseEvent.objects.filter(case=case, kind=EventKind.ASSIGNED).latest("id")
    assert (event.old_value, event.new_value, event.reason) == (
        {"assignee": manager.pk},
        {"assignee": None},
        "Back to the queue.",
    )
    assert Notification.objects.count() == notifications


def test_every_change_is_in_the_history(supervisor, case_in, manager, teammate):
    case = case_in("intake")
    services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=teammate.pk, reason="Balance.")
    services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=teammate.pk, reason="Again.")  # no change
    services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=None, reason="Queue.")
    services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=manager.pk)

    rows = list(
        CaseEvent.objects.filter(case=case, kind=EventKind.ASSIGNED).values_list("old_value", "new_value", "reason")
    )
    assert rows == [
        ({"assignee": None}, {"assignee": manager.pk}, ""),
        ({"assignee": manager.pk}, {"assignee": teammate.pk}, "Balance."),
        ({"assignee": teammate.pk}, {"assignee": None}, "Queue."),
        ({"assignee": None}, {"assignee": manager.pk}, ""),
    ]


def test_assign_endpoint_negatives(api, case_in, teammate, charlie, outsider_manager, manager):
    case = case_in("assessment")
    url = f"/api/v1/cases/{case.pk}/assign/"
    body = {"assignee": teammate.pk, "reason": "Balance."}

    assert api().post(url, body, format="json").status_code == 401
    assert api(charlie).post(url, body, format="json").status_code == 403
    assert api(manager).post(url, body, format="json").status_code == 403
    assert api(outsider_manager).post(url, body, format="json").status_code == 404
    case.refresh_from_db()
    assert case.assignee == manager


# --- Two intakes at once ------------------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_simultaneous_intakes_do_not_both_pick_the_same_person(blossom_shop, intake, settings):
    first = case_manager("first", ["tmall"])
    second = case_manager("second", ["tmall"])
    settings.AUTO_ASSIGN_AT_INTAKE = False
    cases = [open_case(blossom_shop, intake) for _ in range(2)]
    settings.AUTO_ASSIGN_AT_INTAKE = True
    # Both transactions start assigning at the same moment; without the row locks both
    # would count zero work for everyone and pick the lowest id.
    both_ready = threading.Barrier(2, timeout=10)
    picked: list[int | None] = []

    def assign(case: Case) -> None:
        try:
            with transaction.atomic():
                both_ready.wait()
                chosen = assignment.auto_assign_at_intake(case=case, actor=intake)
                picked.append(chosen.pk if chosen else None)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=assign, args=(case,)) for case in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(picked) == sorted([first.pk, second.pk])


WORKLOAD = "/api/v1/workload/"


def deadline(case: Case, *, due_in: dt.timedelta, status: str = DeadlineStatus.OPEN, met: bool = False) -> Deadline:
    now = timezone.now()
    return Deadline.objects.create(
        case=case,
        kind=DeadlineKind.PLATFORM_SUPPLEMENT,
        title="Supplement",
        status=status,
        starts_at=now - dt.timedelta(days=10),
        due_at=now + due_in,
        missed_at=now + due_in if status == DeadlineStatus.MISSED else None,
        met_at=now if met else None,
    )


@pytest.fixture
def busy_manager(give, case_in, manager, supervisor) -> User:
    """``manager`` with two open cases (8 orders, 3 excluded or cleared), a declined one, and known deadlines."""
    declined = case_in("declined", orders=40)
    first = give(manager, orders=3)
    second = give(manager, orders=5)
    orders = list(second.flagged_orders.order_by("pk"))
    services.flagged_order_set_excluded(
        case_id=second.pk, order_id=orders[0].pk, actor=supervisor, excluded=True, reason="Genuine."
    )
    # What recording an outcome does (casework.appeals): the orders and the case's open count.
    mark_cleared(second, [orders[1].pk, orders[2].pk])
    # The cases' own clocks are set aside so that the deadlines are exactly these.
    Deadline.objects.filter(status=DeadlineStatus.OPEN).update(status=DeadlineStatus.CANCELLED)
    deadline(first, due_in=dt.timedelta(days=2))  # this week
    deadline(second, due_in=dt.timedelta(days=6, hours=23))  # this week
    deadline(second, due_in=dt.timedelta(days=8))  # next week
    deadline(first, due_in=-dt.timedelta(hours=1))  # overdue: open, past due
    deadline(second, due_in=-dt.timedelta(days=1), status=DeadlineStatus.MISSED)  # overdue: missed
    deadline(second, due_in=-dt.timedelta(days=2), status=DeadlineStatus.MISSED, met=True)  # made good late
    deadline(first, due_in=dt.timedelta(days=1), status=DeadlineStatus.MET, met=True)  # done
    deadline(declined, due_in=-dt.timedelta(days=1), status=DeadlineStatus.MISSED)  # finished case
    return manager


# --- The numbers ---------------------------------------------------------------------------------


def test_workload_rows_count_open_work_only(busy_manager, teammate, supervisor):
    rows = {row["username"]: row for row in workload_rows()}

    assert rows["manager"] == {
        "user_id": busy_manager.pk,
        "username": "manager",
        "display_name": busy_manager.label,
        "role": Role.CASE_MANAGER,
        "team": "Alibaba platforms",
        "is_away": False,
        "platform_skills": [],
        "open_cases": 2,
        "open_orders": 5,  # 3 + 5, less one excluded and two cleared; none of the declined case's 40
        "deadlines_this_week": 2,
        "overdue": 2,
        "work": 2 * 10 + 5,
    }
    # People with nothing to do are there too, with zeros.
    for name in ("teammate", "supervisor"):
        assert (rows[name]["open_cases"], rows[name]["open_orders"], rows[name]["work"]) == (0, 0, 0)


def test_workload_rows_are_for_assignable_staff_only(busy_manager, reviewer, intake, administrator, supervisor):
    robot = UserFactory.create(username="robot", role=Role.CASE_MANAGER)
    ApiKey.objects.create_key(name="Robot", principal=robot, created_by=administrator)
    UserFactory.create(username="gone", role=Role.CASE_MANAGER, is_active=False)

    assert sorted(row["username"] for row in workload_rows()) == ["manager", "supervisor"]
    assert [row["username"] for row in workload_rows(user_ids=[busy_manager.pk, reviewer.pk])] == ["manager"]


def test_workload_rows_at_another_time(busy_manager):
    later = timezone.now() + dt.timedelta(days=3)

    (row,) = workload_rows(now=later, user_ids=[busy_manager.pk])

    # Three days on: the 2-day deadline is overdue too, and the 8-day one falls in the week.
    assert (row["deadlines_this_week"], row["overdue"]) == (2, 3)


# --- The endpoint --------------------------------------------------------------------------------


def test_supervisors_see_everyone_assignable(api, busy_manager, teammate, outsider_manager, supervisor, administrator):
    for user in (supervisor, administrator):
        response = api(user).get(WORKLOAD)

        assert response.status_code == 200
        body = response.json()
        assert [row["username"] for row in body["results"]] == ["manager", "outsider_manager", "supervisor", "teammate"]
        manager_row = body["results"][0]
        assert (manager_row["open_cases"], manager_row["open_orders"], manager_row["work"]) == (2, 5, 25)
        assert (body["case_weight"], body["order_weight"]) == (10, 1)


def test_a_case_manager_sees_their_own_team(api, busy_manager, teammate, outsider_manager, supervisor):
    mine = api(busy_manager).get(WORKLOAD).json()["results"]
    outsiders = api(outsider_manager).get(WORKLOAD).json()["results"]

    assert [row["username"] for row in mine] == ["manager", "teammate"]
    assert [row["username"] for row in outsiders] == ["outsider_manager"]


def test_a_case_manager_without_a_team_sees_themselves(api, supervisor):
    loner = UserFactory.create(username="loner", role=Role.CASE_MANAGER)

    assert [row["username"] for row in api(loner).get(WORKLOAD).json()["results"]] == ["loner"]


@pytest.mark.parametrize(
    ("who", "status"), [(None, 401), ("alice", 403), ("charlie", 403), ("reviewer", 403), ("intake", 403)]
)
def test_workload_is_refused_to_others(api, request, who, status):
    user = request.getfixturevalue(who) if who else None

    assert api(user).get(WORKLOAD).status_code == status


@pytest.mark.parametrize("people", [1, 8])
def test_workload_takes_three_queries_whatever_the_staff(
    api, give, supervisor, manager, people, django_assert_num_queries
):
    team = TeamFactory.create(name="Busy")
    for index in range(people):
        person = UserFactory.create(username=f"cm{index}", role=Role.CASE_MANAGER, team=team)
        give(person, orders=2)
    client = api(supervisor)

    # The people, a GROUP BY over their open cases, one over those cases' deadlines.
    with django_assert_num_queries(3):
        response = client.get(WORKLOAD)

    assert len(response.json()["results"]) == people + 2  # and manager, supervisor
    lead = UserFactory.create(username="lead", role=Role.CASE_MANAGER, team=team)
    with django_assert_num_queries(3):  # the team is a subquery of the first
        response = api(lead).get(WORKLOAD)
    assert len(response.json()["results"]) == people + 1
