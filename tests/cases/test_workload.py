"""The workload view and the staff settings that automatic assignment reads (skills, away)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agency.accounts.models import Role, User
from cases.models import Case
from casework import services
from casework.assignment import workload_rows
from integrations.models import ApiKey
from tests.conftest import mark_cleared
from tests.factories import TeamFactory, UserFactory
from workflows.models import Deadline, DeadlineKind, DeadlineStatus

pytestmark = pytest.mark.django_db

WORKLOAD = "/api/v1/workload/"
STAFF = "/api/v1/staff/"
AWAY = "/api/v1/staff/me/away/"


def staff_url(user: User) -> str:
    return f"/api/v1/staff/{user.pk}/"


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


# --- Staff settings --------------------------------------------------------------------------------


def test_supervisors_list_staff_with_their_assignment_settings(
    api, supervisor, manager, reviewer, alice, administrator, django_assert_max_num_queries
):
    manager.platform_skills = ["tmall"]
    manager.is_away = True
    manager.save(update_fields=["platform_skills", "is_away"])
    robot = UserFactory.create(username="robot", role=Role.SUPERVISOR)
    ApiKey.objects.create_key(name="Robot", principal=robot, created_by=administrator)

    with django_assert_max_num_queries(2):  # the page's COUNT and the page
        response = api(supervisor).get(STAFF)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [row["username"] for row in results] == ["administrator", "manager", "reviewer", "supervisor"]
    row = results[1]
    assert (row["role"], row["team_name"], row["platform_skills"], row["is_away"], row["last_assigned_at"]) == (
        "case_manager",
        "Alibaba platforms",
        ["tmall"],
        True,
        None,
    )
    assert results[3]["team_name"] is None


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("alice", 403), ("manager", 403), ("intake", 403)])
def test_only_supervisors_list_staff(api, request, who, status):
    user = request.getfixturevalue(who) if who else None

    assert api(user).get(STAFF).status_code == status


def test_a_supervisor_sets_skills_and_away(api, supervisor, manager):
    response = api(supervisor).patch(
        staff_url(manager), {"platform_skills": ["tmall", "jd", "tmall"], "is_away": True}, format="json"
    )

    assert response.status_code == 200, response.json()
    manager.refresh_from_db()
    assert (manager.platform_skills, manager.is_away) == (["tmall", "jd"], True)
    assert response.json()["platform_skills"] == ["tmall", "jd"]

    api(supervisor).patch(staff_url(manager), {"is_away": False}, format="json")
    manager.refresh_from_db()
    assert (manager.platform_skills, manager.is_away) == (["tmall", "jd"], False)  # skills untouched


def test_skills_set_over_the_api_are_honoured_at_intake(api, supervisor, manager, make_case, blossom_shop):
    api(supervisor).patch(staff_url(manager), {"platform_skills": ["tmall"]}, format="json")
    assert make_case(blossom_shop).assignee == manager

    api(manager).post(AWAY, {"is_away": True}, format="json")
    assert make_case(blossom_shop).assignee is None


@pytest.mark.parametrize("skills", [["tmall", "ebay"], "tmall", [None]])
def test_unknown_skills_are_refused_and_nothing_changes(api, supervisor, manager, skills):
    response = api(supervisor).patch(staff_url(manager), {"platform_skills": skills, "is_away": True}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]["fields"]) == {"platform_skills"}
    manager.refresh_from_db()
    assert (manager.platform_skills, manager.is_away) == ([], False)


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("charlie", 403), ("manager", 403), ("intake", 403)])
def test_only_supervisors_change_someone_elses_settings(api, request, teammate, who, status):
    user = request.getfixturevalue(who) if who else None

    response = api(user).patch(staff_url(teammate), {"is_away": True}, format="json")

    assert response.status_code == status
    teammate.refresh_from_db()
    assert not teammate.is_away


def test_clients_api_keys_and_strangers_are_not_staff(api, supervisor, alice, administrator):
    robot = UserFactory.create(username="robot", role=Role.CASE_MANAGER)
    ApiKey.objects.create_key(name="Robot", principal=robot, created_by=administrator)

    for user_id in (alice.pk, robot.pk, 10**12):
        response = api(supervisor).patch(f"/api/v1/staff/{user_id}/", {"is_away": True}, format="json")
        assert response.status_code == 404
    robot.refresh_from_db()
    assert not robot.is_away


def test_staff_mark_themselves_away_and_back(api, manager, reviewer):
    response = api(manager).post(AWAY, {"is_away": True}, format="json")

    assert response.status_code == 200
    assert response.json()["is_away"] is True
    manager.refresh_from_db()
    assert manager.is_away

    api(manager).post(AWAY, {"is_away": False}, format="json")
    manager.refresh_from_db()
    assert not manager.is_away
    assert api(reviewer).post(AWAY, {"is_away": True}, format="json").status_code == 200


def test_away_needs_a_flag(api, manager):
    response = api(manager).post(AWAY, {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]["fields"]) == {"is_away"}
    manager.refresh_from_db()
    assert not manager.is_away


def test_away_is_for_staff_only(api, alice, administrator):
    robot = UserFactory.create(username="robot", role=Role.CASE_MANAGER)
    ApiKey.objects.create_key(name="Robot", principal=robot, created_by=administrator)

    assert api().post(AWAY, {"is_away": True}, format="json").status_code == 401
    assert api(alice).post(AWAY, {"is_away": True}, format="json").status_code == 403
    assert api(robot).post(AWAY, {"is_away": True}, format="json").status_code == 403
    robot.refresh_from_db()
    assert not robot.is_away
