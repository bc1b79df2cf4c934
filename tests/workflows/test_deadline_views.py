"""Deadline views across cases: my deadlines, the agency's overdue list, the case list's overdue
filter, the client's deadlines in the portal, and the deadline sentences of the client's timeline.

Time starts at Monday 2 March 2026, 10:00 in Shanghai (time-machine, not ticking).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from agency.accounts.models import User
from agency.organisations.models import Shop
from cases.models import Case, CaseEvent, EventKind
from casework import services
from casework.timeline import describe
from tests.recovery.helpers import waive_recovery_plan
from workflows import deadline_services
from workflows.models import Deadline, DeadlineKind, DeadlineStatus
from workflows.sweep import deadlines_sweep

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_recovery_plan_contents(db: None) -> None:
    """These tests enter recovery check-ins by hand: plans start empty (and so finished).

    The plans' own tasks and check-ins are tested in tests/recovery/.
    """
    from recovery.models import RecoveryTemplate, RecoveryTemplateTask

    RecoveryTemplateTask.objects.all().delete()
    RecoveryTemplate.objects.update(check_in_days=[])


SH = ZoneInfo("Asia/Shanghai")
Api = Callable[[User | None], APIClient]


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


MONDAY = at(2026, 3, 2, 10, 0)


@pytest.fixture(autouse=True)
def _monday_morning(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(MONDAY, tick=False)


def enter(case: Case, actor: User, kind: str = DeadlineKind.PLATFORM_SUPPLEMENT, **basis: Any) -> Deadline:
    basis = basis or {"amount": 48, "unit": "natural_hours"}
    return deadline_services.deadline_create(case_id=case.pk, actor=actor, kind=kind, **basis)


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.data
    return [row["id"] for row in response.data["results"]]


def of_kind(case: Case, kind: str) -> Deadline:
    return Deadline.objects.filter(case=case, kind=kind).latest("id")


# --- Overdue, from entry to made good --------------------------------------------------------------


def test_a_missed_deadline_is_overdue_everywhere_until_it_is_met_late(
    api: Api,
    manager: User,
    supervisor: User,
    case_in: Callable[..., Case],
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    case = case_in("submitted")
    created = api(manager).post(
        f"/api/v1/cases/{case.pk}/deadlines/", {"kind": "platform_supplement", "amount": 48, "unit": "natural_hours"}
    )
    assert created.status_code == 201, created.data
    deadline_id = created.data["id"]

    def overdue() -> list[dict[str, Any]]:
        response = api(supervisor).get("/api/v1/deadlines/overdue/?kind=platform_supplement")
        assert response.status_code == 200
        return list(response.data["results"])

    def mine() -> dict[int, dict[str, Any]]:
        response = api(manager).get("/api/v1/deadlines/mine/")
        assert response.status_code == 200
        return {row["id"]: row for row in response.data["results"]}

    def overdue_cases(flag: str) -> list[int]:
        return ids(api(supervisor).get(f"/api/v1/cases/?overdue={flag}"))

    assert overdue() == []
    assert mine()[deadline_id]["overdue"] is False
    assert overdue_cases("true") == []

    # A minute past the due time, before the sweep has run: already overdue.
    time_machine.move_to(at(2026, 3, 4, 10, 1), tick=False)
    assert [(row["id"], row["status"], row["overdue"]) for row in overdue()] == [(deadline_id, "open", True)]
    assert mine()[deadline_id]["remaining_seconds"] == -60

    result = deadlines_sweep()
    assert deadline_id in result.deadlines
    rows = overdue()
    assert [(row["id"], row["status"], row["overdue"]) for row in rows] == [(deadline_id, "missed", True)]
    assert rows[0]["assignee"]["id"] == manager.pk
    assert (rows[0]["case_reference"], rows[0]["missed_at"]) == (case.reference, "2026-03-04T10:00:00+08:00")
    assert mine()[deadline_id]["status"] == "missed"
    assert overdue_cases("true") == [case.pk]
    assert case.pk not in overdue_cases("false")

    # The material went in late after all: met late, no longer anyone's overdue work.
    time_machine.move_to(at(2026, 3, 4, 15, 0), tick=False)
    met = api(manager).post(f"/api/v1/deadlines/{deadline_id}/met/", {"reason": "Sent this afternoon."})
    assert met.status_code == 200, met.data
    assert (met.data["status"], met.data["met_at"], met.data["overdue"]) == (
        "missed",
        "2026-03-04T15:00:00+08:00",
        False,
    )
    assert overdue() == []
    assert deadline_id not in mine()
    assert overdue_cases("true") == []
    assert case.pk in overdue_cases("false")
    late = CaseEvent.objects.filter(case=case, kind=EventKind.DEADLINE_MET).latest("id")
    assert late.new_value is not None
    assert (late.new_value["late"], late.actor) == (True, manager)
    # Met once is met: a second time is a conflict.
    assert api(manager).post(f"/api/v1/deadlines/{deadline_id}/met/", {}).status_code == 409


# --- My deadlines ----------------------------------------------------------------------------------


def test_my_deadlines_are_the_next_days_work_on_my_open_cases_soonest_first_paused_last(
    api: Api,
    manager: User,
    teammate: User,
    supervisor: User,
    case_in: Callable[..., Case],
    make_case: Callable[..., Case],
    blossom_shop: Shop,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    submitted = case_in("submitted")
    soon = enter(submitted, manager, amount=3, unit="natural_days")
    later = enter(submitted, manager, amount=10, unit="natural_days")
    paused_case = case_in("assessment")
    deadline_services.case_wait_add(case_id=paused_case.pk, actor=manager, waiting_on="client")
    paused_sla = of_kind(paused_case, DeadlineKind.STAGE_SLA)
    someone_elses = make_case(blossom_shop, assignee=teammate)
    theirs = enter(someone_elses, supervisor, due_at=MONDAY + dt.timedelta(days=1))
    finished = case_in("reputation_recovery")
    finished_check_in = enter(
        finished, manager, kind=DeadlineKind.RECOVERY_CHECK_IN, due_at=MONDAY + dt.timedelta(days=2)
    )
    time_machine.move_to(MONDAY + dt.timedelta(hours=1), tick=False)
    if finished.state == "reputation_recovery":
        waive_recovery_plan(finished, supervisor=supervisor)
    services.case_transition(case_id=finished.pk, name="close", actor=supervisor)

    week = api(manager).get("/api/v1/deadlines/mine/")
    fortnight = api(manager).get("/api/v1/deadlines/mine/?days=14")

    in_week = ids(week)
    assert soon.pk in in_week
    assert later.pk not in in_week
    assert later.pk in ids(fortnight)
    assert theirs.pk not in in_week
    assert finished_check_in.pk not in in_week
    assert in_week[-1] == paused_sla.pk
    due_times = [row["due_at"] for row in week.data["results"]]
    assert due_times[-1] is None
    assert due_times[:-1] == sorted(due_times[:-1])
    assert {row["case_reference"] for row in week.data["results"]} == {submitted.reference, paused_case.reference}
    assert ids(api(teammate).get("/api/v1/deadlines/mine/")) == [
        row.pk
        for row in Deadline.objects.filter(
            case=someone_elses, status=DeadlineStatus.OPEN, due_at__lte=MONDAY + dt.timedelta(days=7)
        ).order_by("due_at")
    ]


@pytest.mark.parametrize("days", ["0", "91", "-1", "a week"])
def test_my_deadlines_refuse_a_bad_horizon_naming_days(api: Api, manager: User, days: str) -> None:
    response = api(manager).get(f"/api/v1/deadlines/mine/?days={days}")

    assert response.status_code == 400
    assert "days" in response.data["error"]["details"]["fields"]


def test_my_deadlines_are_for_staff(api: Api, alice: User, reviewer: User) -> None:
    assert api(None).get("/api/v1/deadlines/mine/").status_code == 401
    assert api(alice).get("/api/v1/deadlines/mine/").status_code == 403
    # A reviewer has nothing assigned: an empty list, not an error.
    assert ids(api(reviewer).get("/api/v1/deadlines/mine/")) == []


@pytest.mark.parametrize("extra", [2, 25])
def test_my_deadlines_take_the_same_queries_at_any_size(
    api: Api, manager: User, case_in: Callable[..., Case], django_assert_num_queries: Any, extra: int
) -> None:
    case = case_in("submitted")
    for hours in range(extra):
        enter(case, manager, due_at=MONDAY + dt.timedelta(hours=hours + 1))
    client = api(manager)

    # The page's count and the page.
    with django_assert_num_queries(2):
        response = client.get("/api/v1/deadlines/mine/?page_size=100")

    assert response.data["count"] >= extra


# --- The agency's overdue deadlines ----------------------------------------------------------------


@pytest.fixture
def overdue_setup(
    manager: User,
    teammate: User,
    supervisor: User,
    case_in: Callable[..., Case],
    make_case: Callable[..., Case],
    blossom_shop: Shop,
    time_machine: time_machine.TimeMachineFixture,
) -> dict[str, Any]:
    """Two supplements and a check-in that fall overdue, one on a case that is then closed."""
    first = case_in("submitted")
    second = make_case(blossom_shop, assignee=teammate)
    recovery = case_in("reputation_recovery")
    oldest = enter(first, manager, due_at=MONDAY + dt.timedelta(hours=1))
    newer = enter(second, supervisor, due_at=MONDAY + dt.timedelta(hours=2))
    check_in = enter(recovery, manager, kind=DeadlineKind.RECOVERY_CHECK_IN, due_at=MONDAY + dt.timedelta(hours=3))
    closed = case_in("reputation_recovery")
    on_closed = enter(closed, manager, kind=DeadlineKind.RECOVERY_CHECK_IN, due_at=MONDAY + dt.timedelta(hours=1))
    time_machine.move_to(MONDAY + dt.timedelta(hours=4), tick=False)
    deadlines_sweep()
    if closed.state == "reputation_recovery":
        waive_recovery_plan(closed, supervisor=supervisor)
    services.case_transition(case_id=closed.pk, name="close", actor=supervisor)
    on_closed.refresh_from_db()
    assert on_closed.status == DeadlineStatus.MISSED
    return {"oldest": oldest, "newer": newer, "check_in": check_in, "on_closed": on_closed}


def test_the_overdue_list_is_oldest_first_and_leaves_out_finished_cases(
    api: Api, supervisor: User, administrator: User, manager: User, teammate: User, overdue_setup: dict[str, Any]
) -> None:
    response = api(supervisor).get("/api/v1/deadlines/overdue/?kind=platform_supplement")

    assert ids(response) == [overdue_setup["oldest"].pk, overdue_setup["newer"].pk]
    first, second = response.data["results"]
    assert (first["assignee"]["id"], first["assignee"]["name"]) == (manager.pk, manager.label)
    assert second["assignee"]["id"] == teammate.pk
    assert (first["status"], first["overdue"], first["title"]) == ("missed", True, "Platform supplement request")
    everything = ids(api(administrator).get("/api/v1/deadlines/overdue/"))
    assert overdue_setup["check_in"].pk in everything
    assert overdue_setup["on_closed"].pk not in everything


def test_the_overdue_list_filters_by_kind_and_assignee(
    api: Api, supervisor: User, teammate: User, manager: User, overdue_setup: dict[str, Any]
) -> None:
    by_teammate = ids(api(supervisor).get(f"/api/v1/deadlines/overdue/?assignee={teammate.pk}"))
    check_ins = ids(api(supervisor).get(f"/api/v1/deadlines/overdue/?kind=recovery_check_in&assignee={manager.pk}"))

    assert overdue_setup["newer"].pk in by_teammate
    assert overdue_setup["oldest"].pk not in by_teammate
    assert check_ins == [overdue_setup["check_in"].pk]


@pytest.mark.parametrize(("query", "field"), [("kind=late", "kind"), ("assignee=someone", "assignee")])
def test_the_overdue_list_names_a_bad_filter(api: Api, supervisor: User, query: str, field: str) -> None:
    response = api(supervisor).get(f"/api/v1/deadlines/overdue/?{query}")

    assert response.status_code == 400
    assert field in response.data["error"]["details"]["fields"]


@pytest.mark.parametrize("role", ["manager", "reviewer", "intake", "alice"])
def test_the_overdue_list_is_for_supervisors_and_administrators(
    api: Api, request: pytest.FixtureRequest, role: str
) -> None:
    assert api(None).get("/api/v1/deadlines/overdue/").status_code == 401
    assert api(request.getfixturevalue(role)).get("/api/v1/deadlines/overdue/").status_code == 403


@pytest.mark.parametrize("extra", [2, 25])
def test_the_overdue_list_takes_the_same_queries_at_any_size(
    api: Api,
    manager: User,
    supervisor: User,
    case_in: Callable[..., Case],
    django_assert_num_queries: Any,
    time_machine: time_machine.TimeMachineFixture,
    extra: int,
) -> None:
    case = case_in("submitted")
    for minutes in range(extra):
        enter(case, manager, due_at=MONDAY + dt.timedelta(minutes=minutes + 1))
    time_machine.move_to(MONDAY + dt.timedelta(hours=1), tick=False)
    client = api(supervisor)

    with django_assert_num_queries(2):
        response = client.get("/api/v1/deadlines/overdue/?page_size=100")

    assert response.data["count"] == extra


# --- The case list's overdue filter ----------------------------------------------------------------


def test_the_case_list_filters_on_overdue_together_with_other_filters(
    api: Api,
    manager: User,
    supervisor: User,
    case_in: Callable[..., Case],
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    late_submitted = case_in("submitted")
    fine_submitted = case_in("submitted")
    late_recovery = case_in("reputation_recovery")
    enter(late_submitted, manager, due_at=MONDAY + dt.timedelta(hours=1))
    enter(fine_submitted, manager, due_at=MONDAY + dt.timedelta(days=2))
    enter(late_recovery, manager, kind=DeadlineKind.RECOVERY_CHECK_IN, due_at=MONDAY + dt.timedelta(hours=1))
    time_machine.move_to(MONDAY + dt.timedelta(hours=2), tick=False)
    client = api(manager)

    assert set(ids(client.get("/api/v1/cases/?overdue=true"))) == {late_submitted.pk, late_recovery.pk}
    assert ids(client.get("/api/v1/cases/?overdue=true&state=submitted")) == [late_submitted.pk]
    assert ids(client.get("/api/v1/cases/?overdue=false&state=submitted")) == [fine_submitted.pk]
    assert ids(client.get(f"/api/v1/cases/?overdue=true&q={late_recovery.reference}")) == [late_recovery.pk]
    # Missed by the sweep, then the case is withdrawn: no longer anyone's overdue work.
    deadlines_sweep()
    services.case_transition(case_id=late_recovery.pk, name="withdraw", actor=supervisor, reason="Settled.")
    assert ids(client.get("/api/v1/cases/?overdue=true")) == [late_submitted.pk]
    # Like the list's other yes/no filters, a value that is neither is a 400 naming it, not
    # the whole list passed off as the filtered one; an empty value is no filter.
    response = client.get("/api/v1/cases/?overdue=perhaps")
    assert response.status_code == 400, response.content
    assert "overdue" in response.json()["error"]["details"]["fields"]
    assert len(ids(client.get("/api/v1/cases/?overdue="))) == 3


@pytest.mark.parametrize("page_size", [3, 12])
def test_the_overdue_filter_adds_no_queries_to_the_case_list(
    api: Api,
    manager: User,
    supervisor: User,
    make_case: Callable[..., Case],
    blossom_shop: Shop,
    time_machine: time_machine.TimeMachineFixture,
    page_size: int,
) -> None:
    for _ in range(12):
        case = make_case(blossom_shop, orders=1, assignee=manager)
        enter(case, manager, due_at=MONDAY + dt.timedelta(hours=1))
    time_machine.move_to(MONDAY + dt.timedelta(hours=2), tick=False)
    client = api(supervisor)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/cases/?overdue=true&page_size={page_size}")

    assert len(response.data["results"]) == page_size
    # One COUNT for the paginator and one SELECT, the overdue test inside both.
    assert len(queries) == 2, [query["sql"] for query in queries]


# --- The client's deadlines ------------------------------------------------------------------------

PORTAL_FIELDS = {"id", "case", "case_reference", "kind", "kind_display", "title", "due_at", "status", "overdue"}


@pytest.fixture
def portal_setup(
    manager: User,
    supervisor: User,
    case_in: Callable[..., Case],
    make_case: Callable[..., Case],
    star_shop: Shop,
) -> dict[str, Any]:
    intake = case_in("intake")  # an open chat-evidence deadline, and internal ones
    recovery = case_in("reputation_recovery")
    check_in = enter(
        recovery,
        manager,
        kind=DeadlineKind.RECOVERY_CHECK_IN,
        due_at=MONDAY + dt.timedelta(days=7),
        title="Check-in: after-sales review",
        note="Internal: the owner is hard to reach.",
    )
    done = enter(recovery, manager, kind=DeadlineKind.RECOVERY_CHECK_IN, due_at=MONDAY + dt.timedelta(days=1))
    deadline_services.deadline_mark_met(deadline_id=done.pk, actor=manager)
    supplement = enter(recovery, manager)
    withdrawn = case_in("withdrawn")
    star_case = make_case(star_shop, assignee=manager)
    return {
        "intake": intake,
        "recovery": recovery,
        "check_in": check_in,
        "done": done,
        "supplement": supplement,
        "chat": of_kind(intake, DeadlineKind.CHAT_EVIDENCE_EXPIRY),
        "withdrawn": withdrawn,
        "star_case": star_case,
    }


def test_clients_see_the_client_facing_deadlines_of_their_open_cases_open_first(
    api: Api, alice: User, bob: User, portal_setup: dict[str, Any]
) -> None:
    response = api(alice).get("/api/v1/portal/deadlines/")

    # Open ones first, soonest first; then the closed ones: the met check-in, and the
    # chat-evidence deadline cancelled when the recovery case's appeal went in.
    closed = Deadline.objects.filter(case=portal_setup["recovery"], client_facing=True).exclude(status="open")
    assert ids(response)[:2] == [portal_setup["check_in"].pk, portal_setup["chat"].pk]
    assert set(ids(response)[2:]) == set(closed.values_list("pk", flat=True))
    assert portal_setup["done"].pk in ids(response)[2:]
    assert ids(api(bob).get("/api/v1/portal/deadlines/")) == ids(response)
    rows = response.data["results"]
    assert all(set(row) == PORTAL_FIELDS for row in rows)
    assert rows[0] == {
        "id": portal_setup["check_in"].pk,
        "case": portal_setup["recovery"].pk,
        "case_reference": portal_setup["recovery"].reference,
        "kind": "recovery_check_in",
        "kind_display": "Reputation recovery check-in",
        "title": "Check-in: after-sales review",
        "due_at": "2026-03-09T10:00:00+08:00",
        "status": "open",
        "overdue": False,
    }
    assert {row["status"] for row in rows[2:]} == {"met", "cancelled"}
    assert "hard to reach" not in str(response.data)
    assert portal_setup["supplement"].pk not in ids(response)


def test_a_client_sees_one_cases_deadlines_and_never_another_clients(
    api: Api, alice: User, charlie: User, portal_setup: dict[str, Any]
) -> None:
    recovery, star_case = portal_setup["recovery"], portal_setup["star_case"]

    own = api(alice).get(f"/api/v1/portal/cases/{recovery.pk}/deadlines/")
    other = api(alice).get(f"/api/v1/portal/cases/{star_case.pk}/deadlines/")
    theirs = api(charlie).get("/api/v1/portal/deadlines/")
    missing = api(alice).get("/api/v1/portal/cases/999999/deadlines/")

    assert ids(own)[0] == portal_setup["check_in"].pk
    assert portal_setup["done"].pk in ids(own)
    assert {row["kind"] for row in own.data["results"]} == {"recovery_check_in", "chat_evidence_expiry"}
    assert {row["case"] for row in own.data["results"]} == {recovery.pk}
    assert other.status_code == 404
    assert other.data == missing.data
    assert ids(theirs) == [of_kind(star_case, DeadlineKind.CHAT_EVIDENCE_EXPIRY).pk]
    assert not {portal_setup["check_in"].pk, portal_setup["chat"].pk} & set(ids(theirs))
    # A finished case's own page still lists what it had, all closed.
    withdrawn = api(alice).get(f"/api/v1/portal/cases/{portal_setup['withdrawn'].pk}/deadlines/")
    assert {row["status"] for row in withdrawn.data["results"]} == {"cancelled"}


@pytest.mark.parametrize("path", ["/api/v1/portal/deadlines/", "/api/v1/portal/cases/{case}/deadlines/"])
def test_the_portal_deadlines_are_for_client_users(
    api: Api, manager: User, supervisor: User, case_in: Callable[..., Case], path: str
) -> None:
    case = case_in("intake")
    path = path.format(case=case.pk)

    assert api(None).get(path).status_code == 401
    assert api(manager).get(path).status_code == 403
    assert api(supervisor).get(path).status_code == 403


@pytest.mark.parametrize("extra", [2, 25])
def test_the_portal_deadlines_take_the_same_queries_at_any_size(
    api: Api,
    alice: User,
    manager: User,
    case_in: Callable[..., Case],
    django_assert_num_queries: Any,
    extra: int,
) -> None:
    case = case_in("reputation_recovery")
    for day in range(extra):
        enter(case, manager, kind=DeadlineKind.RECOVERY_CHECK_IN, due_at=MONDAY + dt.timedelta(days=day + 1))
    client = api(alice)

    with django_assert_num_queries(2):
        listed = client.get("/api/v1/portal/deadlines/?page_size=100")
    # The case (scoped), the count, the page.
    with django_assert_num_queries(3):
        one_case = client.get(f"/api/v1/portal/cases/{case.pk}/deadlines/?page_size=100")

    # The check-ins, and the chat-evidence deadline that was cancelled when the appeal went in.
    assert listed.data["count"] == one_case.data["count"] == extra + 1


# --- The client's timeline -------------------------------------------------------------------------


def test_the_timeline_tells_the_client_about_its_own_deadlines_in_plain_words(
    api: Api,
    alice: User,
    manager: User,
    case_in: Callable[..., Case],
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    case = case_in("reputation_recovery")
    base = f"/api/v1/cases/{case.pk}/deadlines/"
    check_in = (
        api(manager)
        .post(base, {"kind": "recovery_check_in", "due_at": "2026-03-16T10:00:00+08:00", "note": "Owner is difficult."})
        .data
    )
    api(manager).post(base, {"kind": "platform_supplement", "due_at": "2026-03-05T10:00:00+08:00"})
    api(manager).post(
        f"/api/v1/deadlines/{check_in['id']}/move/", {"due_at": "2026-03-18T15:30:00+08:00", "reason": "Holiday."}
    )
    time_machine.move_to(at(2026, 3, 18, 16, 0), tick=False)
    deadlines_sweep()
    api(manager).post(f"/api/v1/deadlines/{check_in['id']}/met/", {})
    second = api(manager).post(base, {"kind": "recovery_check_in", "due_at": "2026-04-01T10:00:00+08:00"}).data
    api(manager).post(f"/api/v1/deadlines/{second['id']}/cancel/", {"reason": "The shop recovered."})

    texts = [entry["text"] for entry in api(alice).get(f"/api/v1/portal/cases/{case.pk}/timeline/").data["results"]]

    assert texts[-6:] == [
        "We will check in with you on your shop's recovery by 2026-03-16 10:00.",
        "Our recovery check-in with you is now planned by 2026-03-18 15:30.",
        "The recovery check-in planned by 2026-03-18 15:30 is overdue.",
        "The recovery check-in is done.",
        "We will check in with you on your shop's recovery by 2026-04-01 10:00.",
        "The recovery check-in is no longer planned.",
    ]
    assert "Chat records for your orders must be saved by" in texts[2]
    assert "Your case was updated." not in texts
    assert not any("supplement" in text.lower() or "Owner is difficult" in text for text in texts)


def _event(kind: str, deadline_kind: str, due_at: str | None = "2026-03-01T02:00:00Z") -> CaseEvent:
    return CaseEvent(
        kind=kind, new_value={"deadline": 1, "kind": deadline_kind, "title": "Internal title", "due_at": due_at}
    )


@pytest.mark.parametrize(
    ("kind", "deadline_kind", "text"),
    [
        (
            EventKind.DEADLINE_SET,
            "chat_evidence_expiry",
            "Chat records for your orders must be saved by 2026-03-01 10:00.",
        ),
        (
            EventKind.DEADLINE_MOVED,
            "chat_evidence_expiry",
            "The next chat records to save are due by 2026-03-01 10:00.",
        ),
        (EventKind.DEADLINE_MET, "chat_evidence_expiry", "The chat records we need for your orders are saved."),
        (
            EventKind.DEADLINE_MISSED,
            "chat_evidence_expiry",
            "Chat records due by 2026-03-01 10:00 were not saved in time.",
        ),
        (EventKind.DEADLINE_CANCELLED, "chat_evidence_expiry", "Chat records are no longer needed at this stage."),
        (
            EventKind.DEADLINE_REOPENED,
            "chat_evidence_expiry",
            "Chat records for your orders are needed again, by 2026-03-01 10:00.",
        ),
        (EventKind.DEADLINE_REOPENED, "recovery_check_in", "The recovery check-in is open again, by 2026-03-01 10:00."),
        (EventKind.DEADLINE_SET, "client_evidence_request", "A deadline on your case is set for 2026-03-01 10:00."),
        (EventKind.DEADLINE_MET, "client_evidence_request", "A deadline on your case was met."),
        (EventKind.DEADLINE_MISSED, "client_evidence_request", "A deadline on your case has passed."),
        (EventKind.DEADLINE_CANCELLED, "client_evidence_request", "A deadline on your case no longer applies."),
    ],
)
def test_every_deadline_event_has_a_sentence_without_internal_titles(kind: str, deadline_kind: str, text: str) -> None:
    assert describe(_event(kind, deadline_kind)) == text


def test_a_deadline_sentence_survives_a_missing_due_time() -> None:
    assert describe(_event(EventKind.DEADLINE_MOVED, "recovery_check_in", None)) == (
        "Our recovery check-in with you is now planned by ?."
    )
