"""Reasons the system writes are stored as a code with values and read in the reader's language.

The language active when the system wrote a reason must not matter: a case assigned while
English is active reads in Chinese for a Chinese reader (in the e-mail, the in-app
notification and the staff history), and the other way round. A reason a person typed is
shown as typed, whoever reads it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone, translation

from agency.accounts.models import Role, User
from agency.organisations.models import Shop
from cases.models import Case, CaseEvent, EventKind
from cases.reasons import TEMPLATES, ReasonCode, SystemReason, reason_text, system_reason
from casework import services
from tests.factories import UserFactory, order_data
from workflows.models import Notification, NotificationKind
from workflows.notifications import render
from workflows.tasks import send_notification_email

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
# Two or more Latin letters in a row: an English word (the case reference is removed first).
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
ZH_COLON = "\uff1a"

AUTO_EN = "Automatic: least open work (score 0: 0 open cases, 0 open orders)."
AUTO_ZH = "自动分配：未结工作量最少（得分 0：0 个未结案件，0 个未结被标记订单）。"  # noqa: RUF001 - Chinese punctuation
NO_SKILL_EN = "No case manager has the Tmall skill; a supervisor must assign the case."
NO_SKILL_ZH = "没有案件经理具备天猫平台技能，需由主管分配此案件。"  # noqa: RUF001 - Chinese punctuation


def tmall_manager(username: str, *, language: str) -> User:
    return UserFactory.create(
        username=username,
        role=Role.CASE_MANAGER,
        platform_skills=["tmall"],
        email=f"{username}@agency.example",
        preferred_language=language,
    )


def open_case_in(language: str, shop: Shop, intake: User) -> Case:
    """A case opened through the real service while ``language`` is the active one."""
    with translation.override(language):
        case = services.case_create(
            actor=intake,
            shop=shop,
            violation_type="fake_transaction",
            notice_received_at=timezone.now() - dt.timedelta(hours=1),
            flagged_orders=[order_data(0)],
        )
    case.refresh_from_db()
    return case


def send_now(notification_id: int) -> Any:
    return send_notification_email.apply(args=(notification_id,))


def without_reference(text: str, case: Case) -> str:
    """The text without the case's reference and without links (the e-mail ends with one)."""
    return re.sub(r"https?://\S+", "", text.replace(case.reference, ""))


# --- E-mail and in-app notification ------------------------------------------------------------


def test_assigned_while_english_is_active_a_chinese_reader_gets_the_reason_in_chinese(
    blossom_shop, intake, mailoutbox, django_capture_on_commit_callbacks
):
    chosen = tmall_manager("li", language="zh-hans")

    with (
        mock.patch.object(send_notification_email, "delay", side_effect=send_now),
        django_capture_on_commit_callbacks(execute=True),
    ):
        case = open_case_in("en", blossom_shop, intake)

    assert case.assignee == chosen
    [email] = mailoutbox
    assert email.to == ["li@agency.example"]
    assert f"原因{ZH_COLON}{AUTO_ZH}" in email.body
    assert LATIN_WORD.findall(without_reference(email.subject + email.body, case)) == []
    notification = Notification.objects.get(recipient=chosen, kind=NotificationKind.CASE_ASSIGNED)
    assert "reason" not in notification.params  # no text frozen in the writer's language
    assert (notification.params["reason_code"], notification.params["reason_params"]) == (
        "auto_assigned_least_work",
        {"work": 0, "cases": 0, "orders": 0},
    )


def test_assigned_while_chinese_is_active_an_english_reader_gets_the_reason_in_english(
    blossom_shop, intake, mailoutbox, django_capture_on_commit_callbacks
):
    tmall_manager("sam", language="en")

    with (
        mock.patch.object(send_notification_email, "delay", side_effect=send_now),
        django_capture_on_commit_callbacks(execute=True),
    ):
        open_case_in("zh-hans", blossom_shop, intake)

    [email] = mailoutbox
    assert f"Reason: {AUTO_EN}" in email.body
    assert not CJK.search(email.subject + email.body)


@pytest.mark.parametrize(
    ("writer", "reader", "expected", "foreign"),
    [("en", "zh-hans", f"原因{ZH_COLON}{AUTO_ZH}", "Automatic"), ("zh-hans", "en", f"Reason: {AUTO_EN}", "自动")],
)
def test_the_in_app_notification_words_the_reason_in_the_requests_language(
    api, blossom_shop, intake, writer, reader, expected, foreign
):
    chosen = tmall_manager("li", language=writer)
    case = open_case_in(writer, blossom_shop, intake)

    rows = api(chosen).get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE=reader).data["results"]

    [assigned] = [row for row in rows if row["kind"] == NotificationKind.CASE_ASSIGNED]
    assert expected in assigned["body"]
    assert foreign not in without_reference(assigned["title"] + assigned["body"], case)


def test_a_notification_written_before_codes_shows_its_stored_text(manager):
    old = Notification(
        recipient=manager,
        kind=NotificationKind.CASE_ASSIGNED,
        params={"reference": "AP-2026-000001", "assigned_by": "Sue", "reason": "Balance.", "automatic": False},
        dedupe_key="k",
    )

    _title, body = render(old, "zh-hans")

    assert f"原因{ZH_COLON}Balance." in body


# --- The staff history -------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "expected"), [("en", AUTO_EN), ("zh-hans", AUTO_ZH)])
def test_the_staff_history_words_the_reason_in_the_requests_language(
    api, supervisor, blossom_shop, intake, language, expected
):
    tmall_manager("li", language="en")
    case = open_case_in("en", blossom_shop, intake)

    response = api(supervisor).get(f"/api/v1/cases/{case.pk}/events/", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    [assigned] = [row for row in response.data["results"] if row["kind"] == EventKind.ASSIGNED]
    assert assigned["reason"] == expected
    assert assigned["reason_code"] == "auto_assigned_least_work"
    assert assigned["reason_params"] == {"work": 0, "cases": 0, "orders": 0}


@pytest.mark.parametrize(("language", "expected"), [("en", NO_SKILL_EN), ("zh-hans", NO_SKILL_ZH)])
def test_why_nobody_was_assigned_names_the_platform_in_the_readers_language(
    api, supervisor, blossom_shop, intake, language, expected
):
    case = open_case_in("en" if language == "zh-hans" else "zh-hans", blossom_shop, intake)

    response = api(supervisor).get(f"/api/v1/cases/{case.pk}/events/", HTTP_ACCEPT_LANGUAGE=language)

    [failed] = [row for row in response.data["results"] if row["kind"] == EventKind.AUTO_ASSIGNMENT_FAILED]
    assert (failed["reason"], failed["reason_code"], failed["reason_params"]) == (
        expected,
        "auto_assignment_no_skill",
        {"platform": "tmall"},
    )


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_typed_reason_is_shown_as_typed_with_no_code(api, supervisor, manager, teammate, case_in, language):
    case = case_in("assessment")
    services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=teammate.pk, reason="Li is on leave.")

    response = api(supervisor).get(f"/api/v1/cases/{case.pk}/events/", HTTP_ACCEPT_LANGUAGE=language)

    reassigned = [row for row in response.data["results"] if row["kind"] == EventKind.ASSIGNED][-1]
    assert (reassigned["reason"], reassigned["reason_code"], reassigned["reason_params"]) == (
        "Li is on leave.",
        None,
        None,
    )
    event = CaseEvent.objects.get(pk=reassigned["id"])
    assert (event.reason, event.reason_code, event.reason_params) == ("Li is on leave.", "", None)


def test_system_reasons_in_the_deadline_history_are_worded_for_the_reader(api, supervisor, case_in):
    case = case_in("assessment")

    zh = api(supervisor).get(f"/api/v1/cases/{case.pk}/events/", HTTP_ACCEPT_LANGUAGE="zh-hans").data["results"]

    # Leaving intake met the intake SLA "because the case left “Intake”", in the reader's words.
    met = [row for row in zh if row["kind"] == EventKind.DEADLINE_MET and row["reason_code"] == "case_left_state"]
    assert met
    assert met[0]["reason_params"] == {"state": "intake"}
    assert met[0]["reason"] == "案件已离开“受理中”阶段。"


# --- Deadlines ---------------------------------------------------------------------------------


WITHDRAWN_ZH = "案件状态：已撤回。"  # noqa: RUF001 - Chinese punctuation


@pytest.mark.parametrize(("language", "expected"), [("en", "The case is Withdrawn."), ("zh-hans", WITHDRAWN_ZH)])
def test_a_deadlines_closing_reason_is_worded_in_the_requests_language(api, supervisor, case_in, language, expected):
    case = case_in("evidence")
    with translation.override("zh-hans" if language == "en" else "en"):
        services.case_transition(case_id=case.pk, name="withdraw", actor=supervisor, reason="Settled.")

    rows = api(supervisor).get(f"/api/v1/cases/{case.pk}/deadlines/", HTTP_ACCEPT_LANGUAGE=language).data["results"]

    cancelled = [row for row in rows if row["status"] == "cancelled"]
    assert cancelled
    assert {(row["closing_reason"], row["closing_reason_code"]) for row in cancelled} == {(expected, "case_finished")}
    assert all(row["closing_reason_params"] == {"state": "withdrawn"} for row in cancelled)


# --- The registry ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", list(ReasonCode))
def test_every_code_has_a_template_worded_in_both_languages(code):
    assert code in TEMPLATES
    values = {
        "work": 1,
        "cases": 1,
        "orders": 0,
        "platform": "jd",
        "party": "client",
        "state": "closed",
        "date": "x",
        "year": 2027,
    }

    with translation.override("en"):
        english = reason_text(code, values)
    with translation.override("zh-hans"):
        chinese = reason_text(code, values)

    assert english
    assert not CJK.search(english), english
    assert CJK.search(chinese), chinese


def test_a_reason_is_checked_when_written_not_when_read():
    with pytest.raises(KeyError):
        system_reason(ReasonCode.AUTO_ASSIGNED_LEAST_WORK, work=1)
    with pytest.raises(TypeError):
        system_reason(ReasonCode.AUTO_ASSIGNED_LEAST_WORK, work="many", cases=1, orders=1)
    assert system_reason(ReasonCode.WAITING_ON, party="client") == SystemReason("waiting_on", {"party": "client"})


@pytest.mark.parametrize(
    ("code", "params"),
    [("no_such_code", {}), ("auto_assigned_least_work", {"work": "x"}), ("waiting_on", None)],
)
def test_a_row_that_cannot_be_worded_falls_back_to_the_typed_text(code, params):
    assert reason_text(code, params, "typed") == "typed"


def test_the_schema_lists_every_code_once(api):
    response = api().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    schemas = response.json()["components"]["schemas"]
    assert schemas["ReasonCodeEnum"]["enum"] == [code.value for code in ReasonCode]
    assert schemas["CaseEvent"]["properties"]["reason_code"]["oneOf"][0] == {
        "$ref": "#/components/schemas/ReasonCodeEnum"
    }
    assert schemas["Deadline"]["properties"]["closing_reason_code"]["oneOf"][0] == {
        "$ref": "#/components/schemas/ReasonCodeEnum"
    }
