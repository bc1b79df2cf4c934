"""Reputation recovery plans (``recovery.services``): started from a template, worked by staff and the client,
then done or waived."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agency.errors import ConditionsUnmet
from cases.models import CaseEvent, CaseState, EventKind
from casework import services as case_services
from integrations.models import OutboxEvent
from recovery import services
from recovery.models import RecoveryPlan, RecoveryTask, RecoveryTemplate, TaskOwner, TaskStatus
from recovery.selectors import business_today, plan_finished
from workflows.models import Deadline, DeadlineKind, DeadlineStatus, Notification, TimeUnit
from workflows.sweep import deadlines_sweep


def plan_url(case):
    return f"/api/v1/cases/{case.pk}/recovery-plan/"


def portal_plan_url(case):
    return f"/api/v1/portal/cases/{case.pk}/recovery-plan/"


def task_url(task):
    return f"/api/v1/recovery-tasks/{task.pk}/"


def portal_task_url(task):
    return f"/api/v1/portal/recovery-tasks/{task.pk}/"


def check_ins(case):
    return list(Deadline.objects.filter(case=case, kind=DeadlineKind.RECOVERY_CHECK_IN).order_by("due_at"))


@pytest.fixture
def recovering(case_in):
    return case_in(CaseState.REPUTATION_RECOVERY)


def client_task(case):
    return RecoveryTask.objects.filter(plan__case=case, owner=TaskOwner.CLIENT).first()


def staff_task(case):
    return RecoveryTask.objects.filter(plan__case=case, owner=TaskOwner.STAFF).first()


def close(case, actor):
    return case_services.case_transition(case_id=case.pk, name="close", actor=actor)


# --- Starting a plan ---------------------------------------------------------------------------


def test_start_recovery_copies_the_general_template(recovering, manager):
    plan = RecoveryPlan.objects.get(case=recovering)
    template = RecoveryTemplate.objects.get(platform="", is_active=True)
    today = business_today()

    assert plan.template == template
    tasks = list(plan.tasks.all())
    assert [(task.title, task.owner, task.due_date) for task in tasks] == [
        (task.title, task.owner, today + dt.timedelta(days=task.due_days)) for task in template.tasks.all()
    ]
    assert {task.assignee for task in tasks if task.owner == TaskOwner.STAFF} == {manager}
    assert {task.assignee for task in tasks if task.owner == TaskOwner.CLIENT} == {None}
    assert all(task.status == TaskStatus.TODO for task in tasks)


def test_check_ins_become_client_facing_deadlines(recovering):
    plan = RecoveryPlan.objects.get(case=recovering)
    deadlines = check_ins(recovering)

    assert [deadline.basis["day"] for deadline in deadlines] == [7, 30, 90]
    for deadline in deadlines:
        assert deadline.status == DeadlineStatus.OPEN
        assert deadline.client_facing is True
        assert deadline.title == ""  # the kind's name is rendered in the reader's language
        assert (deadline.budget_amount, deadline.budget_unit) == (deadline.basis["day"], TimeUnit.NATURAL_DAYS)
        assert deadline.due_at == plan.started_at + dt.timedelta(days=deadline.basis["day"])


def test_plan_created_is_in_the_history_for_the_client(recovering):
    event = CaseEvent.objects.get(case=recovering, kind=EventKind.RECOVERY_PLAN_CREATED)
    plan = RecoveryPlan.objects.get(case=recovering)

    assert event.client_visible is True
    assert event.new_value == {"plan": plan.pk, "tasks": 5, "client_tasks": 3, "check_in_days": [7, 30, 90]}
    outbox = OutboxEvent.objects.get(case=recovering, type="recovery.plan_created")
    assert outbox.data["values"] == event.new_value


def test_a_platforms_own_template_is_preferred(case_in, administrator):
    services.template_create(
        actor=administrator,
        name="Tmall",
        platform="tmall",
        check_in_days=[3],
        tasks=[{"title": "Tmall integrity", "owner": "client", "due_days": 2}],
    )

    case = case_in(CaseState.REPUTATION_RECOVERY)

    plan = RecoveryPlan.objects.get(case=case)
    assert plan.template.platform == "tmall"
    assert [task.title for task in plan.tasks.all()] == ["Tmall integrity"]
    assert [deadline.basis["day"] for deadline in check_ins(case)] == [3]


def test_another_platforms_template_is_not_used(case_in, administrator):
    services.template_create(actor=administrator, name="JD", platform="jd", tasks=[])

    case = case_in(CaseState.REPUTATION_RECOVERY)

    assert RecoveryPlan.objects.get(case=case).template.platform == ""


def test_without_an_active_template_the_plan_is_empty_and_finished(case_in, administrator, supervisor):
    general = RecoveryTemplate.objects.get(platform="")
    services.template_deactivate(actor=administrator, template_id=general.pk)

    case = case_in(CaseState.REPUTATION_RECOVERY)

    plan = RecoveryPlan.objects.get(case=case)
    assert plan.template is None
    assert plan.tasks.count() == 0
    assert check_ins(case) == []
    assert plan_finished(case)
    assert close(case, supervisor).state == CaseState.CLOSED


def test_plan_start_twice_keeps_the_first_plan(recovering, supervisor):
    plan = RecoveryPlan.objects.get(case=recovering)

    again = services.plan_start(case=recovering, actor=supervisor)

    assert again.pk == plan.pk
    assert RecoveryTask.objects.filter(plan__case=recovering).count() == 5
    assert len(check_ins(recovering)) == 3


def test_task_due_dates_follow_the_agencys_calendar_day(time_machine, case_in):
    # 17:30 UTC is already 01:30 the next day in Shanghai.
    time_machine.move_to(dt.datetime(2026, 3, 1, 17, 30, tzinfo=dt.UTC), tick=False)

    case = case_in(CaseState.REPUTATION_RECOVERY)

    first = RecoveryTask.objects.filter(plan__case=case).order_by("position").first()
    assert first.due_date == dt.date(2026, 3, 2) + dt.timedelta(days=14)


# --- Closing -----------------------------------------------------------------------------------


def unmet_codes(excinfo):
    return [condition["code"] for condition in excinfo.value.details["unmet_conditions"]]


def test_close_needs_every_task_done_and_every_check_in_met(api, recovering, supervisor, manager):
    with pytest.raises(ConditionsUnmet) as excinfo:
        close(recovering, supervisor)
    assert unmet_codes(excinfo) == ["recovery_plan_finished"]

    for task in RecoveryTask.objects.filter(plan__case=recovering):
        response = api(manager).patch(task_url(task), {"status": "done"}, format="json")
        assert response.status_code == 200, response.data
    # Every task is done; the check-ins are still open.
    with pytest.raises(ConditionsUnmet):
        close(recovering, supervisor)

    deadlines = check_ins(recovering)
    for deadline in deadlines[:-1]:
        assert api(manager).post(f"/api/v1/deadlines/{deadline.pk}/met/", {}, format="json").status_code == 200
    with pytest.raises(ConditionsUnmet):
        close(recovering, supervisor)

    api(manager).post(f"/api/v1/deadlines/{deadlines[-1].pk}/met/", {}, format="json")
    response = api(manager).post(f"/api/v1/cases/{recovering.pk}/transitions/", {"transition": "close"})
    assert response.status_code == 200, response.data
    assert response.data["state"] == CaseState.CLOSED


def test_a_missed_check_in_blocks_until_met_late(time_machine, recovering, supervisor, manager):
    for task in RecoveryTask.objects.filter(plan__case=recovering):
        services.plan_task_update(task_id=task.pk, actor=manager, changes={"status": "done"})
    time_machine.move_to(timezone.now() + dt.timedelta(days=91), tick=False)
    deadlines_sweep()
    assert {deadline.status for deadline in check_ins(recovering)} == {DeadlineStatus.MISSED}
    with pytest.raises(ConditionsUnmet):
        close(recovering, supervisor)

    from workflows.deadline_services import deadline_mark_met

    for deadline in check_ins(recovering):
        deadline_mark_met(deadline_id=deadline.pk, actor=manager)

    assert close(recovering, supervisor).state == CaseState.CLOSED


def test_waiver_lets_the_case_close(api, recovering, supervisor):
    response = api(supervisor).post(plan_url(recovering) + "waive/", {"reason": "Client stopped responding."})

    assert response.status_code == 200, response.data
    assert response.data["finished"] is True
    assert response.data["waiver_reason"] == "Client stopped responding."
    assert {deadline.status for deadline in check_ins(recovering)} == {DeadlineStatus.CANCELLED}
    assert {deadline.closing_reason for deadline in check_ins(recovering)} == {"Client stopped responding."}
    event = CaseEvent.objects.get(case=recovering, kind=EventKind.RECOVERY_PLAN_WAIVED)
    assert event.reason == "Client stopped responding."
    assert event.new_value["open_tasks"] == 5
    assert close(recovering, supervisor).state == CaseState.CLOSED


def test_close_from_resolved_needs_no_plan(case_in, supervisor):
    case = case_in(CaseState.RESOLVED)

    assert close(case, supervisor).state == CaseState.CLOSED
    assert not RecoveryPlan.objects.filter(case=case).exists()


# --- Waiving -----------------------------------------------------------------------------------


def test_waiver_needs_a_reason_and_writes_nothing_without_one(api, recovering, supervisor):
    response = api(supervisor).post(plan_url(recovering) + "waive/", {"reason": "  "})

    assert response.status_code == 400
    assert "reason" in response.data["error"]["details"]["fields"]
    assert RecoveryPlan.objects.get(case=recovering).waived_at is None
    assert {deadline.status for deadline in check_ins(recovering)} == {DeadlineStatus.OPEN}


@pytest.mark.parametrize("who", ["manager", "reviewer", "intake"])
def test_only_supervisors_waive(api, request, recovering, who):
    response = api(request.getfixturevalue(who)).post(plan_url(recovering) + "waive/", {"reason": "x"})

    assert response.status_code == 403
    assert RecoveryPlan.objects.get(case=recovering).waived_at is None


def test_waive_twice_or_outside_recovery_is_a_conflict(api, recovering, case_in, supervisor):
    assert api(supervisor).post(plan_url(recovering) + "waive/", {"reason": "x"}).status_code == 200
    assert api(supervisor).post(plan_url(recovering) + "waive/", {"reason": "x"}).status_code == 409

    resolved = case_in(CaseState.RESOLVED)
    assert api(supervisor).post(plan_url(resolved) + "waive/", {"reason": "x"}).status_code == 409


def test_waive_anonymous_client_and_missing_case(api, recovering, alice):
    assert api().post(plan_url(recovering) + "waive/", {"reason": "x"}).status_code == 401
    assert api(alice).post(plan_url(recovering) + "waive/", {"reason": "x"}).status_code == 403


def test_a_waived_plan_no_longer_changes(api, recovering, supervisor, manager):
    services.plan_waive(case_id=recovering.pk, actor=supervisor, reason="Done with it.")
    task = client_task(recovering)

    assert api(manager).patch(task_url(task), {"status": "done"}, format="json").status_code == 409
    response = api(manager).post(
        plan_url(recovering) + "tasks/", {"title": "More", "owner": "staff", "due_date": "2099-01-01"}
    )
    assert response.status_code == 409


# --- Staff read the plan -----------------------------------------------------------------------


def test_staff_read_the_plan_with_whats_left(api, recovering, manager):
    response = api(manager).get(plan_url(recovering))

    assert response.status_code == 200, response.data
    data = response.data
    assert data["case"] == recovering.pk
    assert data["template"]["platform"] == ""
    assert data["finished"] is False
    assert (data["tasks_open"], data["check_ins_outstanding"]) == (5, 3)
    assert [check_in["day"] for check_in in data["check_ins"]] == [7, 30, 90]
    assert data["check_ins"][0]["title"] == "Reputation recovery check-in"
    assert "note" in data["tasks"][0]
    assert data["tasks"][3]["assignee"]["username"] == "manager"


def test_plan_read_negatives(api, recovering, case_in, alice, outsider_manager, manager):
    assert api().get(plan_url(recovering)).status_code == 401
    assert api(alice).get(plan_url(recovering)).status_code == 403
    assert api(outsider_manager).get(plan_url(recovering)).status_code == 404
    assert api(manager).get(plan_url(case_in(CaseState.RESOLVED))).status_code == 404
    assert api(manager).get("/api/v1/cases/999999/recovery-plan/").status_code == 404


@pytest.mark.parametrize("extra", [0, 6])
def test_plan_read_query_count_is_constant(api, recovering, manager, supervisor, django_assert_num_queries, extra):
    for index in range(extra):
        services.plan_task_add(
            case_id=recovering.pk,
            actor=manager,
            title=f"Extra {index}",
            owner="staff",
            due_date=business_today(),
            assignee_id=supervisor.pk,
        )
    task = staff_task(recovering)
    services.plan_task_update(task_id=task.pk, actor=manager, changes={"status": "done"})

    # The case, the plan, its tasks with their people, its check-ins.
    with django_assert_num_queries(4):
        response = api(manager).get(plan_url(recovering))
    assert len(response.data["tasks"]) == 5 + extra


# --- Staff work the tasks ----------------------------------------------------------------------


def test_add_a_task(api, recovering, manager):
    due = (business_today() + dt.timedelta(days=10)).isoformat()
    response = api(manager).post(
        plan_url(recovering) + "tasks/",
        {"title": "Refund disputed orders", "owner": "staff", "due_date": due, "note": "Ask finance."},
    )

    assert response.status_code == 201, response.data
    assert response.data["assignee"]["username"] == "manager"
    assert response.data["position"] == 5
    event = CaseEvent.objects.filter(case=recovering, kind=EventKind.RECOVERY_TASK_CHANGED).latest("id")
    assert event.new_value["action"] == "added"
    assert "Ask finance." not in str(event.new_value)
    assert event.client_visible is False  # a staff task


def test_add_a_task_negatives(api, recovering, case_in, alice, reviewer, outsider_manager, manager):
    good = {"title": "T", "owner": "client", "due_date": business_today().isoformat()}
    url = plan_url(recovering) + "tasks/"
    before = RecoveryTask.objects.count()

    assert api().post(url, good).status_code == 401
    assert api(alice).post(url, good).status_code == 403
    assert api(reviewer).post(url, good).status_code == 403
    assert api(outsider_manager).post(url, good).status_code == 404
    response = api(manager).post(url, {**good, "title": " ", "due_date": "2000-01-01"})
    assert response.status_code == 400
    assert set(response.data["error"]["details"]["fields"]) == {"title", "due_date"}
    response = api(manager).post(url, {**good, "assignee": manager.pk})
    assert response.status_code == 400
    assert "assignee" in response.data["error"]["details"]["fields"]
    response = api(manager).post(url, {**good, "owner": "staff", "assignee": alice.pk})
    assert response.status_code == 400
    resolved = case_in(CaseState.RESOLVED)
    assert api(manager).post(plan_url(resolved) + "tasks/", good).status_code == 409
    assert RecoveryTask.objects.count() == before


def test_update_a_client_task_status_is_shown_to_the_client(api, recovering, manager):
    task = client_task(recovering)

    response = api(manager).patch(task_url(task), {"status": "done"}, format="json")

    assert response.status_code == 200, response.data
    assert response.data["status"] == "done"
    assert response.data["completed_by"]["username"] == "manager"
    event = CaseEvent.objects.filter(case=recovering, kind=EventKind.RECOVERY_TASK_CHANGED).latest("id")
    assert event.client_visible is True
    assert event.old_value == {"status": "todo"}
    assert event.new_value["changed"] == ["status"]

    response = api(manager).patch(task_url(task), {"status": "in_progress"}, format="json")
    task.refresh_from_db()
    assert (task.completed_at, task.completed_by) == (None, None)


def test_a_note_change_never_leaves_the_agency(api, recovering, manager, alice):
    task = client_task(recovering)

    response = api(manager).patch(task_url(task), {"note": "Client is slow; chase weekly."}, format="json")

    assert response.status_code == 200
    assert response.data["note"] == "Client is slow; chase weekly."
    event = CaseEvent.objects.filter(case=recovering, kind=EventKind.RECOVERY_TASK_CHANGED).latest("id")
    assert event.client_visible is False
    assert "chase weekly" not in str(event.new_value)
    sent = [outbox.data for outbox in OutboxEvent.objects.filter(case=recovering, type="recovery.task_changed")]
    assert sent
    assert "chase weekly" not in str(sent)
    portal = api(alice).get(portal_plan_url(recovering))
    assert "chase weekly" not in str(portal.data)
    timeline = api(alice).get(f"/api/v1/portal/cases/{recovering.pk}/timeline/")
    assert "chase weekly" not in str(timeline.data)


def test_moving_a_task_between_owners_sets_the_assignee(api, recovering, manager, supervisor):
    task = client_task(recovering)

    response = api(manager).patch(task_url(task), {"owner": "staff"}, format="json")
    assert response.data["assignee"]["username"] == "manager"

    response = api(manager).patch(task_url(task), {"assignee": supervisor.pk}, format="json")
    assert response.data["assignee"]["username"] == "supervisor"

    response = api(manager).patch(task_url(task), {"owner": "client"}, format="json")
    assert response.data["assignee"] is None
    event = CaseEvent.objects.filter(case=recovering, kind=EventKind.RECOVERY_TASK_CHANGED).latest("id")
    assert event.client_visible is True


def test_update_task_negatives(api, recovering, case_in, alice, reviewer, outsider_manager, manager, supervisor):
    task = client_task(recovering)
    url = task_url(task)

    assert api().patch(url, {"status": "done"}, format="json").status_code == 401
    assert api(alice).patch(url, {"status": "done"}, format="json").status_code == 403
    assert api(reviewer).patch(url, {"status": "done"}, format="json").status_code == 403
    assert api(outsider_manager).patch(url, {"status": "done"}, format="json").status_code == 404
    assert api(manager).patch("/api/v1/recovery-tasks/999999/", {}, format="json").status_code == 404
    response = api(manager).patch(url, {"status": "finished", "title": ""}, format="json")
    assert response.status_code == 400
    assert "status" in response.data["error"]["details"]["fields"]
    response = api(manager).patch(url, {"title": "", "due_date": "2000-01-01"}, format="json")
    assert set(response.data["error"]["details"]["fields"]) == {"title", "due_date"}
    task.refresh_from_db()
    assert (task.status, task.title != "") == (TaskStatus.TODO, True)

    services.plan_waive(case_id=recovering.pk, actor=supervisor, reason="x")
    close(recovering, supervisor)
    assert api(manager).patch(url, {"status": "done"}, format="json").status_code == 409


def test_remove_a_task(api, recovering, manager):
    task = staff_task(recovering)

    response = api(manager).delete(task_url(task), {"reason": "Not needed on Tmall."}, format="json")

    assert response.status_code == 204
    assert not RecoveryTask.objects.filter(pk=task.pk).exists()
    event = CaseEvent.objects.filter(case=recovering, kind=EventKind.RECOVERY_TASK_CHANGED).latest("id")
    assert (event.new_value["action"], event.new_value["task"], event.reason) == (
        "removed",
        task.pk,
        "Not needed on Tmall.",
    )


def test_a_done_task_cannot_be_removed(api, recovering, manager, reviewer):
    task = staff_task(recovering)
    services.plan_task_update(task_id=task.pk, actor=manager, changes={"status": "done"})

    assert api(reviewer).delete(task_url(task)).status_code == 403
    assert api(manager).delete(task_url(task)).status_code == 409
    assert RecoveryTask.objects.filter(pk=task.pk).exists()


# --- The client's portal -----------------------------------------------------------------------


def test_client_reads_the_plan_without_staff_notes(api, recovering, manager, alice, bob):
    services.plan_task_update(task_id=client_task(recovering).pk, actor=manager, changes={"note": "Internal."})

    response = api(bob).get(portal_plan_url(recovering))

    assert response.status_code == 200, response.data
    assert len(response.data["tasks"]) == 5
    assert all("note" not in task and "assignee" not in task for task in response.data["tasks"])
    assert [task["yours"] for task in response.data["tasks"]] == [True, True, True, False, False]
    assert [check_in["day"] for check_in in response.data["check_ins"]] == [7, 30, 90]
    assert "closing_reason" not in response.data["check_ins"][0]
    assert "Internal." not in str(response.data)


def test_portal_plan_negatives(api, recovering, case_in, charlie, manager, alice):
    assert api().get(portal_plan_url(recovering)).status_code == 401
    assert api(manager).get(portal_plan_url(recovering)).status_code == 403
    assert api(charlie).get(portal_plan_url(recovering)).status_code == 404
    assert api(alice).get(portal_plan_url(case_in(CaseState.RESOLVED))).status_code == 404


@pytest.mark.parametrize("extra", [0, 5])
def test_portal_plan_query_count_is_constant(api, recovering, manager, alice, django_assert_num_queries, extra):
    for index in range(extra):
        services.plan_task_add(
            case_id=recovering.pk, actor=manager, title=f"C{index}", owner="client", due_date=business_today()
        )

    # The case (with its shop), the plan, its tasks, its check-ins.
    with django_assert_num_queries(4):
        response = api(alice).get(portal_plan_url(recovering))
    assert len(response.data["tasks"]) == 5 + extra


def test_client_marks_its_own_task_done(api, recovering, alice):
    task = client_task(recovering)

    response = api(alice).post(portal_task_url(task), {"status": "in_progress"})
    assert response.status_code == 200, response.data
    assert response.data["status"] == "in_progress"

    response = api(alice).post(portal_task_url(task), {"status": "done"})
    assert response.data["status"] == "done"
    task.refresh_from_db()
    assert task.completed_by == alice
    event = CaseEvent.objects.filter(case=recovering, kind=EventKind.RECOVERY_TASK_CHANGED).latest("id")
    assert (event.actor, event.client_visible, event.old_value) == (alice, True, {"status": "in_progress"})


def test_portal_task_negatives(api, recovering, supervisor, alice, charlie, manager):
    task = client_task(recovering)

    assert api().post(portal_task_url(task), {"status": "done"}).status_code == 401
    assert api(manager).post(portal_task_url(task), {"status": "done"}).status_code == 403
    assert api(charlie).post(portal_task_url(task), {"status": "done"}).status_code == 404
    assert api(alice).post("/api/v1/portal/recovery-tasks/999999/", {"status": "done"}).status_code == 404
    response = api(alice).post(portal_task_url(staff_task(recovering)), {"status": "done"})
    assert response.status_code == 403
    response = api(alice).post(portal_task_url(task), {"status": "todo"})
    assert response.status_code == 400
    assert "status" in response.data["error"]["details"]["fields"]
    task.refresh_from_db()
    assert task.status == TaskStatus.TODO
    assert staff_task(recovering).status == TaskStatus.TODO

    services.plan_waive(case_id=recovering.pk, actor=supervisor, reason="x")
    close(recovering, supervisor)
    assert api(alice).post(portal_task_url(task), {"status": "done"}).status_code == 409


# --- Check-ins remind the client ---------------------------------------------------------------


def test_the_sweep_reminds_the_client_of_a_check_in(time_machine, recovering, alice, manager):
    first = check_ins(recovering)[0]
    time_machine.move_to(first.due_at - dt.timedelta(hours=1), tick=False)

    deadlines_sweep()

    reminded = set(Notification.objects.filter(deadline=first).values_list("recipient__username", flat=True))
    assert {"alice", "manager"} <= reminded
