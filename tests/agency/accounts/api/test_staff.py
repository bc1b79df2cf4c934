"""The staff settings that automatic assignment reads (skills, away), over the staff endpoints
(``agency.accounts.api.staff``)."""

from __future__ import annotations

import pytest

from agency.accounts.models import Role, User
from integrations.models import ApiKey
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STAFF = "/api/v1/staff/"
AWAY = "/api/v1/staff/me/away/"


def staff_url(user: User) -> str:
    return f"/api/v1/staff/{user.pk}/"


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
