"""Staff deadline endpoints on one case: listing, entering, moving, meeting and cancelling deadlines,
and the waits that pause the internal clocks.

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
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from agency.accounts.models import User
from cases.models import Case, CaseEvent, EventKind
from casework import services
from tests.recovery.helpers import waive_recovery_plan
from workflows import deadline_services
from workflows.models import CaseWait, Deadline, DeadlineKind, DeadlineStatus

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
