"""The deadline endpoints (``workflows.api.deadlines``): on one case, listing, entering, moving, meeting and
cancelling deadlines, and the waits that pause the internal clocks; across cases, my deadlines, the agency's
overdue list and the case list's overdue filter; and what the client sees of them (``workflows.api.portal``:
its deadlines, and the deadline sentences of its timeline).

The client's side is here rather than in a file of its own: every test runs on the same frozen morning with
recovery plans emptied (the two autouse fixtures below), which a conftest could only give a whole directory.

Time is fixed with time-machine at Monday 2 March 2026, 10:00 in Shanghai (no holidays that
week; working hours 09:00 to 18:00), so every due time below can be worked out by hand.
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
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from agency.accounts.models import User
from agency.organisations.models import Shop
from cases.models import Case, CaseEvent, EventKind
from casework import services
from tests.recovery.helpers import waive_recovery_plan
from workflows import deadline_services
from workflows.models import CaseWait, Deadline, DeadlineKind, DeadlineStatus
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


def deadlines_path(case: Case) -> str:
    return f"/api/v1/cases/{case.pk}/deadlines/"


def of_kind(case: Case, kind: str) -> Deadline:
    return Deadline.objects.filter(case=case, kind=kind).latest("id")


def supplement(case: Case, actor: User, **basis: Any) -> Deadline:
    """A platform supplement request entered through the service (48 natural hours unless told)."""
    basis = basis or {"amount": 48, "unit": "natural_hours"}
    return deadline_services.deadline_create(
        case_id=case.pk, actor=actor, kind=DeadlineKind.PLATFORM_SUPPLEMENT, **basis
    )


STAFF_FIELDS = {
    "id",
    "case",
    "case_reference",
    "kind",
    "kind_display",
    "title",
    "note",
    "status",
    "status_display",
    "due_at",
    "paused",
    "paused_at",
    "used_seconds",
    "starts_at",
    "budget",
    "basis",
    "client_facing",
    "pausable",
    "stage",
    "evidence_request",
    "met_at",
    "missed_at",
    "cancelled_at",
    "closing_reason",
    "closing_reason_code",
    "closing_reason_params",
    "overdue",
    "remaining_seconds",
    "provisional",
    "provisional_years",
    "provisional_reason",
    "created_at",
}


# --- Listing a case's deadlines --------------------------------------------------------------------


def test_a_cases_deadlines_show_their_basis_clock_and_standing(
    api: Api, manager: User, case_in: Callable[..., Case]
) -> None:
    case = case_in("intake")

    response = api(manager).get(deadlines_path(case))

    assert response.status_code == 200
    rows = {row["kind"]: row for row in response.data["results"]}
    assert set(rows) == {"platform_appeal_window", "stage_sla", "chat_evidence_expiry"}
    assert set(rows["stage_sla"]) == STAFF_FIELDS
    sla = rows["stage_sla"]
    # Intake: 2 working days from Monday 10:00 is Wednesday 10:00.
    assert sla["due_at"] == "2026-03-04T10:00:00+08:00"
    assert sla["budget"] == {"amount": 2, "unit": "working_days"}
    assert (sla["stage"], sla["pausable"], sla["paused"], sla["client_facing"]) == ("intake", True, False, False)
    assert sla["remaining_seconds"] == 2 * 24 * 3600
    assert (sla["overdue"], sla["status"], sla["case_reference"]) == (False, "open", case.reference)
    # The notice came in at 08:00; Tmall gives 72 natural hours.
    window = rows["platform_appeal_window"]
    assert (window["due_at"], window["budget"]) == (
        "2026-03-05T08:00:00+08:00",
        {"amount": 72, "unit": "natural_hours"},
    )
    chat = rows["chat_evidence_expiry"]
    assert (chat["budget"], chat["client_facing"]) == (None, True)
    # Soonest first.
    assert [row["kind"] for row in response.data["results"]] == [
        "stage_sla",
        "platform_appeal_window",
        "chat_evidence_expiry",
    ]


def test_the_status_filter_narrows_and_a_bad_value_names_the_field(
    api: Api, manager: User, case_in: Callable[..., Case]
) -> None:
    case = case_in("assessment")  # the intake SLA was met on the way

    met = api(manager).get(deadlines_path(case) + "?status=met")
    opened = api(manager).get(deadlines_path(case) + "?status=open")
    bad = api(manager).get(deadlines_path(case) + "?status=late")

    assert [row["stage"] for row in met.data["results"]] == ["intake"]
    assert {row["status"] for row in opened.data["results"]} == {"open"}
    assert bad.status_code == 400
    assert "status" in bad.data["error"]["details"]["fields"]


@pytest.mark.parametrize("extra", [2, 30])
def test_listing_a_cases_deadlines_takes_the_same_queries_at_any_size(
    api: Api,
    manager: User,
    case_in: Callable[..., Case],
    django_assert_num_queries: Any,
    extra: int,
) -> None:
    case = case_in("reputation_recovery")
    for day in range(extra):
        deadline_services.deadline_create(
            case_id=case.pk,
            actor=manager,
            kind=DeadlineKind.RECOVERY_CHECK_IN,
            due_at=MONDAY + dt.timedelta(days=day + 1),
        )
    client = api(manager)

    # The case's visibility, the page's count, the page.
    with django_assert_num_queries(3):
        response = client.get(deadlines_path(case) + "?page_size=100")

    assert response.status_code == 200
    assert response.data["count"] >= extra


# --- Entering deadlines by hand --------------------------------------------------------------------


def test_staff_enter_a_platform_supplement_as_a_budget_from_a_start(
    api: Api, manager: User, case_in: Callable[..., Case]
) -> None:
    case = case_in("submitted")

    response = api(manager).post(
        deadlines_path(case),
        {
            "kind": "platform_supplement",
            "amount": 2,
            "unit": "natural_days",
            "starts_at": "2026-03-02T09:00:00+08:00",
            "title": "Supplement: courier screenshots",
            "note": "Reviewer Li asked by phone.",
        },
    )

    assert response.status_code == 201, response.data
    body = response.data
    assert (body["kind"], body["status"], body["due_at"]) == (
        "platform_supplement",
        "open",
        "2026-03-04T09:00:00+08:00",
    )
    assert body["budget"] == {"amount": 2, "unit": "natural_days"}
    assert (body["title"], body["note"], body["client_facing"]) == (
        "Supplement: courier screenshots",
        "Reviewer Li asked by phone.",
        False,
    )
    assert body["basis"]["source"] == "staff"
    event = CaseEvent.objects.filter(case=case, kind=EventKind.DEADLINE_SET).latest("id")
    assert event.new_value is not None
    assert (event.actor, event.client_visible, event.new_value["deadline"]) == (manager, False, body["id"])


def test_staff_enter_a_fixed_time_and_the_budget_starts_now_by_default(
    api: Api, manager: User, case_in: Callable[..., Case]
) -> None:
    case = case_in("reputation_recovery")

    fixed = api(manager).post(
        deadlines_path(case), {"kind": "recovery_check_in", "due_at": "2026-03-16T10:00:00+08:00"}
    )
    budget = api(manager).post(
        deadlines_path(case), {"kind": "platform_supplement", "amount": 3, "unit": "working_days"}
    )

    assert fixed.status_code == 201, fixed.data
    assert (fixed.data["due_at"], fixed.data["budget"], fixed.data["client_facing"]) == (
        "2026-03-16T10:00:00+08:00",
        None,
        True,
    )
    assert fixed.data["title"] == "Reputation recovery check-in"
    # The client's own deadline is on the client's timeline.
    assert CaseEvent.objects.get(
        case=case, kind=EventKind.DEADLINE_SET, new_value__deadline=fixed.data["id"]
    ).client_visible
    # Three working days from Monday 10:00: Thursday 10:00.
    assert budget.status_code == 201, budget.data
    assert budget.data["due_at"] == "2026-03-05T10:00:00+08:00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "stage_sla", "amount": 2, "unit": "working_days"}, "kind"),
        ({"kind": "client_evidence_request", "due_at": "2026-03-09T10:00:00+08:00"}, "kind"),
        ({"kind": "a_whim", "due_at": "2026-03-09T10:00:00+08:00"}, "kind"),
        ({"kind": "platform_supplement"}, "due_at"),
        (
            {"kind": "platform_supplement", "due_at": "2026-03-09T10:00:00+08:00", "amount": 2, "unit": "natural_days"},
            "due_at",
        ),
        ({"kind": "platform_supplement", "due_at": "2026-03-01T10:00:00+08:00"}, "due_at"),
        (
            {
                "kind": "platform_supplement",
                "due_at": "2026-03-09T10:00:00+08:00",
                "starts_at": "2026-03-02T09:00:00+08:00",
            },
            "starts_at",
        ),
        ({"kind": "platform_supplement", "amount": 2}, "unit"),
        ({"kind": "platform_supplement", "unit": "natural_days"}, "amount"),
        ({"kind": "platform_supplement", "amount": 0, "unit": "natural_days"}, "amount"),
        ({"kind": "platform_supplement", "amount": 1001, "unit": "natural_days"}, "amount"),
        ({"kind": "platform_supplement", "amount": 2, "unit": "fortnights"}, "unit"),
        ({"kind": "platform_supplement", "due_at": "soon"}, "due_at"),
        ({"kind": "platform_supplement", "due_at": "2026-03-09T10:00:00+08:00", "title": "x" * 201}, "title"),
    ],
)
def test_entering_a_deadline_names_the_field_that_is_wrong(
    api: Api, manager: User, case_in: Callable[..., Case], body: dict[str, Any], field: str
) -> None:
    case = case_in("submitted")
    before = Deadline.objects.filter(case=case).count()

    response = api(manager).post(deadlines_path(case), body)

    assert response.status_code == 400, response.data
    assert response.data["error"]["code"] == "invalid"
    assert field in response.data["error"]["details"]["fields"], response.data
    assert Deadline.objects.filter(case=case).count() == before


def test_a_second_open_appeal_window_is_refused_with_a_pointer_to_moving_it(
    api: Api, manager: User, case_in: Callable[..., Case]
) -> None:
    case = case_in("intake")  # the notice's window is already on the case
    window = of_kind(case, DeadlineKind.PLATFORM_APPEAL_WINDOW)

    response = api(manager).post(
        deadlines_path(case), {"kind": "platform_appeal_window", "due_at": "2026-03-06T18:00:00+08:00"}
    )

    assert response.status_code == 409
    assert response.data["error"]["details"] == {
        "deadline": window.pk,
        "move": f"/api/v1/deadlines/{window.pk}/move/",
    }
    # Once the old one is cancelled, a new one may be entered.
    api(manager).post(f"/api/v1/deadlines/{window.pk}/cancel/", {"reason": "Wrong notice."})
    again = api(manager).post(
        deadlines_path(case), {"kind": "platform_appeal_window", "due_at": "2026-03-06T18:00:00+08:00"}
    )
    assert again.status_code == 201, again.data


@pytest.mark.parametrize("state", ["withdrawn", "declined", "closed"])
def test_a_finished_case_takes_no_new_deadlines(
    api: Api, supervisor: User, case_in: Callable[..., Case], state: str
) -> None:
    case = case_in(state)

    response = api(supervisor).post(
        deadlines_path(case), {"kind": "recovery_check_in", "due_at": "2026-03-09T10:00:00+08:00"}
    )

    assert response.status_code == 409
    assert response.data["error"]["details"] == {"state": state}


@pytest.mark.parametrize("role", ["reviewer", "intake"])
def test_only_case_workers_enter_deadlines(
    api: Api, case_in: Callable[..., Case], request: pytest.FixtureRequest, role: str
) -> None:
    case = case_in("intake")
    user = request.getfixturevalue(role)
    body = {"kind": "platform_supplement", "due_at": "2026-03-09T10:00:00+08:00"}

    assert api(user).get(deadlines_path(case)).status_code == 200  # both can see the case
    assert api(user).post(deadlines_path(case), body).status_code == 403


def test_supervisors_and_administrators_enter_deadlines_on_any_case(
    api: Api, supervisor: User, administrator: User, case_in: Callable[..., Case]
) -> None:
    case = case_in("submitted")
    for user in (supervisor, administrator):
        response = api(user).post(
            deadlines_path(case), {"kind": "platform_supplement", "due_at": "2026-03-09T10:00:00+08:00"}
        )
        assert response.status_code == 201, response.data


# --- Moving ----------------------------------------------------------------------------------------


def test_moving_a_deadline_to_the_platforms_new_time_is_recorded_with_the_reason(
    api: Api, manager: User, case_in: Callable[..., Case]
) -> None:
    case = case_in("submitted")
    deadline = supplement(case, manager)

    response = api(manager).post(
        f"/api/v1/deadlines/{deadline.pk}/move/",
        {"due_at": "2026-03-06T18:00:00+08:00", "reason": "The platform granted two more days."},
    )

    assert response.status_code == 200, response.data
    assert (response.data["due_at"], response.data["budget"]) == ("2026-03-06T18:00:00+08:00", None)
    event = CaseEvent.objects.filter(case=case, kind=EventKind.DEADLINE_MOVED).latest("id")
    assert (event.actor, event.reason) == (manager, "The platform granted two more days.")
    assert event.new_value is not None
    assert parse_datetime(event.new_value["old_due_at"]) == at(2026, 3, 4, 10, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"due_at": "2026-03-06T18:00:00+08:00"}, "reason"),
        ({"due_at": "2026-03-06T18:00:00+08:00", "reason": "   "}, "reason"),
        ({"due_at": "2026-03-02T09:59:00+08:00", "reason": "Typo."}, "due_at"),
        ({"reason": "Typo."}, "due_at"),
    ],
)
def test_moving_needs_a_reason_and_a_future_time(
    api: Api, manager: User, case_in: Callable[..., Case], body: dict[str, Any], field: str
) -> None:
    case = case_in("submitted")
    deadline = supplement(case, manager)

    response = api(manager).post(f"/api/v1/deadlines/{deadline.pk}/move/", body)

    assert response.status_code == 400
    assert field in response.data["error"]["details"]["fields"]
    deadline.refresh_from_db()
    assert deadline.due_at == at(2026, 3, 4, 10, 0)


def test_only_open_deadlines_move_and_the_evidence_ones_never_by_hand(
    api: Api, manager: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in("intake")
    body = {"due_at": "2026-03-20T10:00:00+08:00", "reason": "Extension."}
    chat = of_kind(case, DeadlineKind.CHAT_EVIDENCE_EXPIRY)
    window = of_kind(case, DeadlineKind.PLATFORM_APPEAL_WINDOW)
    api(manager).post(f"/api/v1/deadlines/{window.pk}/met/", {})

    assert api(supervisor).post(f"/api/v1/deadlines/{chat.pk}/move/", body).status_code == 409
    closed = api(manager).post(f"/api/v1/deadlines/{window.pk}/move/", body)
    assert closed.status_code == 409
    assert closed.data["error"]["details"] == {"status": "met"}


def test_supervisors_may_move_an_internal_clock_and_case_managers_may_not(
    api: Api, manager: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in("intake")
    sla = of_kind(case, DeadlineKind.STAGE_SLA)
    body = {"due_at": "2026-03-06T18:00:00+08:00", "reason": "The client is travelling."}

    assert api(manager).post(f"/api/v1/deadlines/{sla.pk}/move/", body).status_code == 403
    response = api(supervisor).post(f"/api/v1/deadlines/{sla.pk}/move/", body)

    assert response.status_code == 200
    assert (response.data["due_at"], response.data["budget"]) == ("2026-03-06T18:00:00+08:00", None)


# --- Meeting and cancelling ------------------------------------------------------------------------


def test_marking_a_hand_entered_deadline_met(api: Api, manager: User, case_in: Callable[..., Case]) -> None:
    case = case_in("submitted")
    deadline = supplement(case, manager)

    response = api(manager).post(f"/api/v1/deadlines/{deadline.pk}/met/", {"reason": "Uploaded to the appeal centre."})
    again = api(manager).post(f"/api/v1/deadlines/{deadline.pk}/met/", {})

    assert response.status_code == 200
    assert (response.data["status"], response.data["met_at"]) == ("met", "2026-03-02T10:00:00+08:00")
    assert response.data["closing_reason"] == "Uploaded to the appeal centre."
    assert again.status_code == 409
    assert again.data["error"]["details"] == {"status": "met"}


@pytest.mark.parametrize("kind", [DeadlineKind.STAGE_SLA, DeadlineKind.CHAT_EVIDENCE_EXPIRY])
def test_automatic_deadlines_cannot_be_marked_met_by_hand(
    api: Api, supervisor: User, case_in: Callable[..., Case], kind: str
) -> None:
    case = case_in("intake")
    deadline = of_kind(case, kind)

    response = api(supervisor).post(f"/api/v1/deadlines/{deadline.pk}/met/", {})

    assert response.status_code == 409
    assert response.data["error"]["details"] == {"kind": kind}
    assert "not by hand" in response.data["error"]["message"]
    deadline.refresh_from_db()
    assert deadline.status == DeadlineStatus.OPEN


def test_the_follow_up_closes_itself_too(api: Api, manager: User, case_in: Callable[..., Case]) -> None:
    case = case_in("submitted")
    follow_up = of_kind(case, DeadlineKind.PLATFORM_FOLLOW_UP)

    response = api(manager).post(f"/api/v1/deadlines/{follow_up.pk}/met/", {})

    assert response.status_code == 409
    assert "contact with the platform" in response.data["error"]["message"]


def test_cancelling_needs_a_reason_and_an_open_deadline(api: Api, manager: User, case_in: Callable[..., Case]) -> None:
    case = case_in("submitted")
    deadline = supplement(case, manager)
    path = f"/api/v1/deadlines/{deadline.pk}/cancel/"

    missing = api(manager).post(path, {})
    cancelled = api(manager).post(path, {"reason": "The platform withdrew its request."})
    again = api(manager).post(path, {"reason": "Twice."})

    assert missing.status_code == 400
    assert "reason" in missing.data["error"]["details"]["fields"]
    assert cancelled.status_code == 200
    assert (cancelled.data["status"], cancelled.data["closing_reason"]) == (
        "cancelled",
        "The platform withdrew its request.",
    )
    assert again.status_code == 409
    event = CaseEvent.objects.filter(case=case, kind=EventKind.DEADLINE_CANCELLED).latest("id")
    assert (event.actor, event.reason) == (manager, "The platform withdrew its request.")


def test_supervisors_cancel_any_kind_and_case_managers_only_their_own_kinds(
    api: Api, manager: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in("intake")
    sla = of_kind(case, DeadlineKind.STAGE_SLA)
    body = {"reason": "Intake is handled by the client's own team this time."}

    assert api(manager).post(f"/api/v1/deadlines/{sla.pk}/cancel/", body).status_code == 403
    response = api(supervisor).post(f"/api/v1/deadlines/{sla.pk}/cancel/", body)

    assert response.status_code == 200
    assert response.data["status"] == "cancelled"


def test_deadlines_of_a_finished_case_no_longer_change(
    api: Api, manager: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in("reputation_recovery")
    deadline = deadline_services.deadline_create(
        case_id=case.pk, actor=manager, kind=DeadlineKind.RECOVERY_CHECK_IN, due_at=at(2026, 3, 9, 10, 0)
    )
    if case.state == "reputation_recovery":
        waive_recovery_plan(case, supervisor=supervisor)
    services.case_transition(case_id=case.pk, name="close", actor=supervisor)

    response = api(supervisor).post(f"/api/v1/deadlines/{deadline.pk}/met/", {})
    assert response.status_code == 409
    assert response.data["error"]["details"] == {"state": "closed"}


# --- Waits: pausing and resuming the internal clocks -----------------------------------------------


def test_waiting_on_the_client_pauses_the_stage_sla_and_ending_it_moves_the_due_time_later(
    api: Api, manager: User, case_in: Callable[..., Case], time_machine: time_machine.TimeMachineFixture
) -> None:
    case = case_in("intake")  # intake SLA due Wednesday 10:00
    waits = f"/api/v1/cases/{case.pk}/waits/"

    def sla() -> dict[str, Any]:
        rows = api(manager).get(deadlines_path(case) + "?status=open").data["results"]
        return next(row for row in rows if row["kind"] == "stage_sla")

    time_machine.move_to(at(2026, 3, 2, 11, 0), tick=False)
    started = api(manager).post(waits, {"waiting_on": "client", "note": "Waiting for the shop's order export."})
    assert started.status_code == 201, started.data
    assert (started.data["waiting_on"], started.data["active"], started.data["source"]) == ("client", True, "manual")
    paused = sla()
    assert (paused["paused"], paused["due_at"], paused["used_seconds"]) == (True, None, 3600)
    assert paused["remaining_seconds"] is None
    # The platform's own clocks run on.
    window = of_kind(case, DeadlineKind.PLATFORM_APPEAL_WINDOW)
    assert window.due_at == at(2026, 3, 5, 8, 0)

    # Paused Monday 11:00 to Tuesday 11:00: nine working hours, so the SLA is due nine
    # working hours later than Wednesday 10:00, on Thursday at 10:00.
    time_machine.move_to(at(2026, 3, 3, 11, 0), tick=False)
    ended = api(manager).post(f"{waits}client/end/", {"note": "Export received."})
    assert ended.status_code == 200, ended.data
    assert (ended.data["active"], ended.data["ended_at"]) == (False, "2026-03-03T11:00:00+08:00")
    assert ended.data["ended_by"]["id"] == manager.pk
    resumed = sla()
    assert (resumed["paused"], resumed["due_at"]) == (False, "2026-03-05T10:00:00+08:00")

    listed = api(manager).get(waits)
    assert [(row["waiting_on"], row["active"], row["note"]) for row in listed.data["results"]] == [
        ("client", False, "Waiting for the shop's order export.")
    ]
    paused_event = CaseEvent.objects.get(case=case, kind=EventKind.CLOCKS_PAUSED)
    assert (paused_event.actor, paused_event.client_visible) == (manager, False)


def test_waiting_twice_on_the_same_party_or_ending_no_wait_is_a_conflict(
    api: Api, manager: User, case_in: Callable[..., Case]
) -> None:
    case = case_in("assessment")
    waits = f"/api/v1/cases/{case.pk}/waits/"

    assert api(manager).post(f"{waits}platform/end/", {}).status_code == 409
    assert api(manager).post(waits, {"waiting_on": "platform"}).status_code == 201
    twice = api(manager).post(waits, {"waiting_on": "platform"})
    assert twice.status_code == 409
    assert twice.data["error"]["details"] == {"waiting_on": "platform"}
    # Waiting on both parties at once is fine.
    assert api(manager).post(waits, {"waiting_on": "client"}).status_code == 201
    listed = api(manager).get(waits).data["results"]
    assert {row["waiting_on"] for row in listed if row["active"]} == {"client", "platform"}
    assert CaseWait.objects.filter(case=case, ended_at__isnull=True).count() == 2


def test_wait_input_names_the_bad_party(api: Api, manager: User, case_in: Callable[..., Case]) -> None:
    case = case_in("assessment")
    waits = f"/api/v1/cases/{case.pk}/waits/"

    posted = api(manager).post(waits, {"waiting_on": "the_weather"})
    ended = api(manager).post(f"{waits}the_weather/end/", {})

    for response in (posted, ended):
        assert response.status_code == 400
        assert "waiting_on" in response.data["error"]["details"]["fields"]


def test_waits_only_on_open_cases_and_only_by_case_workers(
    api: Api, manager: User, reviewer: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    closed = case_in("withdrawn")
    open_case = case_in("assessment")

    assert api(supervisor).post(f"/api/v1/cases/{closed.pk}/waits/", {"waiting_on": "client"}).status_code == 409
    assert api(reviewer).get(f"/api/v1/cases/{open_case.pk}/waits/").status_code == 200
    assert api(reviewer).post(f"/api/v1/cases/{open_case.pk}/waits/", {"waiting_on": "client"}).status_code == 403
    api(manager).post(f"/api/v1/cases/{open_case.pk}/waits/", {"waiting_on": "client"})
    assert api(reviewer).post(f"/api/v1/cases/{open_case.pk}/waits/client/end/", {}).status_code == 403


# --- Who may call what -----------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/api/v1/cases/{case}/deadlines/"),
    ("post", "/api/v1/cases/{case}/deadlines/"),
    ("post", "/api/v1/deadlines/{deadline}/move/"),
    ("post", "/api/v1/deadlines/{deadline}/met/"),
    ("post", "/api/v1/deadlines/{deadline}/cancel/"),
    ("get", "/api/v1/cases/{case}/waits/"),
    ("post", "/api/v1/cases/{case}/waits/"),
    ("post", "/api/v1/cases/{case}/waits/client/end/"),
]
BODIES = {
    "deadlines/": {"kind": "platform_supplement", "due_at": "2026-03-09T10:00:00+08:00"},
    "move/": {"due_at": "2026-03-09T10:00:00+08:00", "reason": "Extension."},
    "cancel/": {"reason": "No longer asked."},
    "waits/": {"waiting_on": "client"},
}


def _call(client: APIClient, method: str, template: str, case: Case, deadline: Deadline) -> Any:
    path = template.format(case=case.pk, deadline=deadline.pk)
    body = next((body for suffix, body in BODIES.items() if path.endswith(suffix)), {})
    return getattr(client, method)(path, body) if method == "post" else client.get(path)


@pytest.mark.parametrize(("method", "template"), ENDPOINTS)
def test_anonymous_callers_clients_and_other_teams_are_kept_out(
    api: Api,
    manager: User,
    alice: User,
    outsider_manager: User,
    case_in: Callable[..., Case],
    method: str,
    template: str,
) -> None:
    case = case_in("submitted")
    deadline = supplement(case, manager)

    anonymous = _call(api(None), method, template, case, deadline)
    client = _call(api(alice), method, template, case, deadline)
    other_team = _call(api(outsider_manager), method, template, case, deadline)

    assert anonymous.status_code == 401
    assert client.status_code == 403  # a staff path, even for the case's own client
    assert other_team.status_code == 404
    assert other_team.data["error"]["code"] == "not_found"
    deadline.refresh_from_db()
    assert (deadline.status, deadline.due_at) == (DeadlineStatus.OPEN, at(2026, 3, 4, 10, 0))


@pytest.mark.parametrize(("method", "template"), ENDPOINTS)
def test_missing_cases_and_deadlines_are_404(
    api: Api, supervisor: User, case_in: Callable[..., Case], method: str, template: str
) -> None:
    case = case_in("submitted")
    ghost_case, ghost_deadline = Case(pk=999_999), Deadline(pk=999_999)

    path = template.format(case=ghost_case.pk if "{case}" in template else case.pk, deadline=ghost_deadline.pk)
    body = next((body for suffix, body in BODIES.items() if path.endswith(suffix)), {})
    client = api(supervisor)
    response = getattr(client, method)(path, body) if method == "post" else client.get(path)

    assert response.status_code == 404


# --- Deadline views across cases ------------------------------------------------------------------


def enter(case: Case, actor: User, kind: str = DeadlineKind.PLATFORM_SUPPLEMENT, **basis: Any) -> Deadline:
    basis = basis or {"amount": 48, "unit": "natural_hours"}
    return deadline_services.deadline_create(case_id=case.pk, actor=actor, kind=kind, **basis)


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.data
    return [row["id"] for row in response.data["results"]]


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
