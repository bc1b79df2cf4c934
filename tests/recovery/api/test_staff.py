"""Recovery plan templates over the API (``recovery.api.staff``): administrators edit them, staff read them."""

from __future__ import annotations

import pytest

from recovery.models import RecoveryTemplate, RecoveryTemplateTask

URL = "/api/v1/recovery-templates/"

TASKS = [
    {"title": "Review orders", "owner": "client", "due_days": 14},
    {"title": "Integrity programme", "owner": "staff", "due_days": 30, "description": "Apply for it."},
]


def body(**changes):
    return {"name": "Tmall recovery", "platform": "tmall", "check_in_days": [7, 30], "tasks": TASKS, **changes}


def test_the_default_general_template_is_seeded(api, manager):
    response = api(manager).get(URL)

    assert response.status_code == 200
    general = [row for row in response.data["results"] if row["platform"] == ""]
    assert len(general) == 1
    assert general[0]["is_active"] is True
    assert general[0]["check_in_days"] == [7, 30, 90]
    assert [task["owner"] for task in general[0]["tasks"]] == ["client", "client", "client", "staff", "staff"]


def test_administrator_creates_a_template_with_tasks(api, administrator):
    response = api(administrator).post(URL, body(), format="json")

    assert response.status_code == 201, response.data
    assert response.data["platform"] == "tmall"
    assert response.data["check_in_days"] == [7, 30]
    assert [(task["position"], task["title"], task["due_days"]) for task in response.data["tasks"]] == [
        (0, "Review orders", 14),
        (1, "Integrity programme", 30),
    ]
    assert RecoveryTemplate.objects.get(pk=response.data["id"]).tasks.count() == 2


@pytest.mark.parametrize("who", ["manager", "supervisor", "intake", "reviewer"])
def test_only_administrators_write(db, api, request, who):
    user = request.getfixturevalue(who)
    template = RecoveryTemplate.objects.get(platform="")

    assert api(user).get(f"{URL}{template.pk}/").status_code == 200
    assert api(user).post(URL, body(), format="json").status_code == 403
    assert api(user).patch(f"{URL}{template.pk}/", {"name": "X"}, format="json").status_code == 403
    assert api(user).delete(f"{URL}{template.pk}/").status_code == 403
    assert RecoveryTemplate.objects.count() == 1
    assert RecoveryTemplate.objects.get(pk=template.pk).is_active


def test_anonymous_and_clients_are_refused(api, alice):
    assert api().get(URL).status_code == 401
    assert api(alice).get(URL).status_code == 403
    assert api(alice).post(URL, body(), format="json").status_code == 403


def test_unknown_template_is_404(api, administrator):
    assert api(administrator).get(f"{URL}999999/").status_code == 404
    assert api(administrator).patch(f"{URL}999999/", {"name": "X"}, format="json").status_code == 404
    assert api(administrator).delete(f"{URL}999999/").status_code == 404


def test_second_active_template_for_a_platform_is_a_conflict(api, administrator):
    assert api(administrator).post(URL, body(), format="json").status_code == 201

    response = api(administrator).post(URL, body(name="Another"), format="json")

    assert response.status_code == 409
    assert response.data["error"]["code"] == "active_template_exists"
    assert response.data["error"]["details"]["template"] is not None
    assert RecoveryTemplate.objects.filter(platform="tmall").count() == 1


def test_second_active_general_template_is_a_conflict_but_an_inactive_one_is_fine(api, administrator):
    response = api(administrator).post(URL, body(platform=""), format="json")
    assert response.status_code == 409

    response = api(administrator).post(URL, body(platform="", is_active=False), format="json")
    assert response.status_code == 201
    inactive = response.data["id"]

    response = api(administrator).patch(f"{URL}{inactive}/", {"is_active": True}, format="json")
    assert response.status_code == 409
    assert RecoveryTemplate.objects.filter(platform="", is_active=True).count() == 1


@pytest.mark.parametrize(
    ("days", "fragment"),
    [
        ([30, 7], "increasing"),
        ([7, 7], "increasing"),
        ([0, 7], "between"),
        ([7, 400], "between"),
        (list(range(1, 12)), "At most"),
    ],
)
def test_check_in_days_are_validated(api, administrator, days, fragment):
    response = api(administrator).post(URL, body(check_in_days=days), format="json")

    assert response.status_code == 400
    assert fragment in " ".join(response.data["error"]["details"]["fields"]["check_in_days"])
    assert not RecoveryTemplate.objects.filter(platform="tmall").exists()


def test_task_errors_name_the_task_by_index(api, administrator):
    tasks = [TASKS[0], {"title": "X", "owner": "nobody", "due_days": 3}]
    response = api(administrator).post(URL, body(tasks=tasks), format="json")

    assert response.status_code == 400
    assert set(response.data["error"]["details"]["fields"]["tasks"]) == {"1"}
    assert "owner" in response.data["error"]["details"]["fields"]["tasks"]["1"]

    tasks = [TASKS[0], {"title": "  ", "owner": "client", "due_days": 400}]
    response = api(administrator).post(URL, body(tasks=tasks, name=""), format="json")

    fields = response.data["error"]["details"]["fields"]
    assert response.status_code == 400
    assert set(fields) == {"name", "tasks"}
    assert set(fields["tasks"]["1"]) == {"title", "due_days"}
    assert not RecoveryTemplate.objects.filter(platform="tmall").exists()


def test_patch_replaces_the_tasks_as_a_whole(api, administrator):
    created = api(administrator).post(URL, body(), format="json").data
    old_ids = set(RecoveryTemplateTask.objects.filter(template_id=created["id"]).values_list("pk", flat=True))

    response = api(administrator).patch(
        f"{URL}{created['id']}/",
        {"tasks": [{"title": "Only one", "owner": "staff", "due_days": 5}], "check_in_days": [14]},
        format="json",
    )

    assert response.status_code == 200, response.data
    assert [task["title"] for task in response.data["tasks"]] == ["Only one"]
    assert response.data["check_in_days"] == [14]
    assert response.data["name"] == "Tmall recovery"
    assert not RecoveryTemplateTask.objects.filter(pk__in=old_ids).exists()


def test_patch_without_tasks_keeps_them(api, administrator):
    created = api(administrator).post(URL, body(), format="json").data

    response = api(administrator).patch(f"{URL}{created['id']}/", {"name": "Renamed"}, format="json")

    assert response.status_code == 200
    assert len(response.data["tasks"]) == 2


def test_invalid_patch_writes_nothing(api, administrator):
    created = api(administrator).post(URL, body(), format="json").data

    response = api(administrator).patch(
        f"{URL}{created['id']}/", {"name": "Renamed", "check_in_days": [9, 3]}, format="json"
    )

    assert response.status_code == 400
    assert RecoveryTemplate.objects.get(pk=created["id"]).name == "Tmall recovery"


def test_delete_deactivates(api, administrator):
    created = api(administrator).post(URL, body(), format="json").data

    assert api(administrator).delete(f"{URL}{created['id']}/").status_code == 204

    template = RecoveryTemplate.objects.get(pk=created["id"])
    assert template.is_active is False
    assert template.tasks.count() == 2
    # The platform is free for a new active template.
    assert api(administrator).post(URL, body(name="New"), format="json").status_code == 201


@pytest.mark.parametrize("count", [2, 6])
def test_list_query_count_does_not_grow(api, administrator, manager, django_assert_num_queries, count):
    for index in range(count):
        api(administrator).post(URL, body(name=f"T{index}", is_active=False), format="json")

    # Count, the page, and all the pages' tasks.
    with django_assert_num_queries(3):
        response = api(manager).get(URL)
    assert response.data["count"] == count + 1
