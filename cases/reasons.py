"""Reasons the system writes (not people): stored as a code with parameters, worded in the reader's language.

A reason a person types ("The client is travelling.") is kept as they typed it. A reason
the system composes ("Automatic: least open work ...") used to be formatted in whatever
language was active when it was written and stored as text, so a Chinese reader later got
English. Now the writer stores ``ReasonCode`` plus the values that fill it in
(``SystemReason``), and every reader (the staff history, the client's timeline, the
deadline API, notifications and their e-mails) calls ``reason_text`` to word it in the
language active at that moment.

Codes are part of the API (``reason_code``, ``closing_reason_code``): add new ones freely,
but never remove or rename one, because history keeps the codes it was written with.
Parameters hold language-neutral values only: numbers, ISO dates and choice codes; a
template's ``labels`` says which parameters are choice codes to be shown by their label.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override
from django_stubs_ext import StrPromise

from agency.organisations.models import Platform
from cases.models import CaseEvent, CaseState, WaitingOn

logger = logging.getLogger(__name__)


class ReasonCode(models.TextChoices):
    # Assignment at intake (casework.assignment).
    AUTO_ASSIGNED_LEAST_WORK = "auto_assigned_least_work"
    AUTO_ASSIGNMENT_ALL_AWAY = "auto_assignment_all_away"
    AUTO_ASSIGNMENT_NO_SKILL = "auto_assignment_no_skill"
    # The platform's requests for more material (casework.appeals).
    SUPPLEMENT_SENT = "supplement_sent"
    SUPPLEMENT_OVERTAKEN = "supplement_overtaken"
    # Deadlines that follow the case (workflows.deadlines).
    WAITING_ON = "waiting_on"
    NO_LONGER_WAITING_ON = "no_longer_waiting_on"
    NOTICE_DETAILS_CHANGED = "notice_details_changed"
    CHAT_EVIDENCE_STAGE_OVER = "chat_evidence_stage_over"
    CHAT_EVIDENCE_NONE_OUTSTANDING = "chat_evidence_none_outstanding"
    CHAT_EVIDENCE_EARLIEST_CHANGED = "chat_evidence_earliest_changed"
    CASE_LEFT_STATE = "case_left_state"
    CASE_FINISHED = "case_finished"
    PLATFORM_CONTACTED = "platform_contacted"
    APPEAL_SUBMITTED = "appeal_submitted"
    PLATFORM_DECIDED = "platform_decided"
    EVIDENCE_REQUEST_FULFILLED = "evidence_request_fulfilled"
    EVIDENCE_REQUEST_REOPENED = "evidence_request_reopened"
    # Evidence accepted because every check of the file matched its order (evidence.services).
    CHECKS_MATCHED = "checks_matched"
    # The working calendar changed (workflows.calendar_services).
    CALENDAR_HOLIDAY_SET = "calendar_holiday_set"
    CALENDAR_WORKDAY_SET = "calendar_workday_set"
    CALENDAR_DAY_REMOVED = "calendar_day_removed"
    CALENDAR_DAYS_REMOVED = "calendar_days_removed"
    CALENDAR_SCHEDULE_IMPORTED = "calendar_schedule_imported"
    CALENDAR_YEAR_OFFICIAL = "calendar_year_official"
    CALENDAR_YEAR_NOT_OFFICIAL = "calendar_year_not_official"


@dataclass(frozen=True)
class ReasonTemplate:
    text: StrPromise
    # Parameters that hold a choice code, worded as that choice's label.
    labels: Mapping[str, type[models.TextChoices]] = field(default_factory=dict)


TEMPLATES: dict[str, ReasonTemplate] = {
    ReasonCode.AUTO_ASSIGNED_LEAST_WORK: ReasonTemplate(
        _("Automatic: least open work (score %(work)d: %(cases)d open cases, %(orders)d open orders).")
    ),
    ReasonCode.AUTO_ASSIGNMENT_ALL_AWAY: ReasonTemplate(
        _("Every case manager with the %(platform)s skill is away; a supervisor must assign the case."),
        {"platform": Platform},
    ),
    ReasonCode.AUTO_ASSIGNMENT_NO_SKILL: ReasonTemplate(
        _("No case manager has the %(platform)s skill; a supervisor must assign the case."), {"platform": Platform}
    ),
    ReasonCode.SUPPLEMENT_SENT: ReasonTemplate(_("The supplement was sent to the platform.")),
    ReasonCode.SUPPLEMENT_OVERTAKEN: ReasonTemplate(_("The platform decided before the supplement was answered.")),
    ReasonCode.WAITING_ON: ReasonTemplate(_("Waiting on %(party)s."), {"party": WaitingOn}),
    ReasonCode.NO_LONGER_WAITING_ON: ReasonTemplate(_("No longer waiting on %(party)s."), {"party": WaitingOn}),
    ReasonCode.NOTICE_DETAILS_CHANGED: ReasonTemplate(_("The notice's details changed.")),
    ReasonCode.CHAT_EVIDENCE_STAGE_OVER: ReasonTemplate(_("Chat evidence is no longer being gathered at this stage.")),
    ReasonCode.CHAT_EVIDENCE_NONE_OUTSTANDING: ReasonTemplate(_("No order's chat evidence is outstanding.")),
    ReasonCode.CHAT_EVIDENCE_EARLIEST_CHANGED: ReasonTemplate(_("The earliest outstanding chat evidence changed.")),
    ReasonCode.CASE_LEFT_STATE: ReasonTemplate(_("The case left “%(state)s”."), {"state": CaseState}),
    ReasonCode.CASE_FINISHED: ReasonTemplate(_("The case is %(state)s."), {"state": CaseState}),
    ReasonCode.PLATFORM_CONTACTED: ReasonTemplate(_("The platform was contacted.")),
    ReasonCode.APPEAL_SUBMITTED: ReasonTemplate(_("The appeal was submitted.")),
    ReasonCode.PLATFORM_DECIDED: ReasonTemplate(_("The platform decided.")),
    ReasonCode.EVIDENCE_REQUEST_FULFILLED: ReasonTemplate(_("Everything asked for arrived.")),
    ReasonCode.EVIDENCE_REQUEST_REOPENED: ReasonTemplate(_("An item that met the request cannot be used.")),
    ReasonCode.CHECKS_MATCHED: ReasonTemplate(_("Checks matched: what the file says agrees with its order.")),
    ReasonCode.CALENDAR_HOLIDAY_SET: ReasonTemplate(_("%(date)s became a public holiday in the working calendar.")),
    ReasonCode.CALENDAR_WORKDAY_SET: ReasonTemplate(
        _("%(date)s became a make-up working day in the working calendar.")
    ),
    ReasonCode.CALENDAR_DAY_REMOVED: ReasonTemplate(
        _("%(date)s follows the weekly rule again in the working calendar.")
    ),
    ReasonCode.CALENDAR_DAYS_REMOVED: ReasonTemplate(_("Days were removed from the working calendar.")),
    ReasonCode.CALENDAR_SCHEDULE_IMPORTED: ReasonTemplate(
        _("The official holiday schedule was imported into the working calendar.")
    ),
    ReasonCode.CALENDAR_YEAR_OFFICIAL: ReasonTemplate(
        _("The official holiday arrangement for %(year)s was entered in the working calendar.")
    ),
    ReasonCode.CALENDAR_YEAR_NOT_OFFICIAL: ReasonTemplate(
        _("%(year)s is computed on statutory holidays again: its official arrangement was withdrawn.")
    ),
}


@dataclass(frozen=True)
class SystemReason:
    """A reason the system gives: a registered code and the language-neutral values that fill it in."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        """The reason in the active language (for logs and the shell; stores keep the code)."""
        return reason_text(self.code, self.params)


# What services accept wherever a reason is recorded: a person's text, or the system's code.
Reason = str | SystemReason


def system_reason(code: ReasonCode, **params: str | int) -> SystemReason:
    """A ``SystemReason``, checked now: an unknown code or a missing value fails the writer, not a later reader."""
    template = TEMPLATES[code]
    with override("en"):
        str(template.text) % _worded(template, params)  # raises KeyError or TypeError on a mismatch
    return SystemReason(code=str(code), params=dict(params))


def reason_fields(reason: Reason) -> tuple[str, str, dict[str, Any] | None]:
    """(typed text, code, params) to store: a person's text, or the system's code and values."""
    if isinstance(reason, SystemReason):
        return "", reason.code, dict(reason.params)
    return reason, "", None


def reason_notification_params(reason: Reason) -> dict[str, Any]:
    """How a notification carries a reason: what a person typed, or the code and values, never worded text."""
    if isinstance(reason, SystemReason):
        return {"reason_code": reason.code, "reason_params": dict(reason.params)}
    return {"reason": reason}


def _label(choices: type[models.TextChoices], value: Any) -> Any:
    return str(choices(value).label) if value in choices.values else value


def _worded(template: ReasonTemplate, params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: _label(template.labels[name], value) if name in template.labels else value
        for name, value in params.items()
    }


def reason_text(code: str | None, params: Any = None, typed: str = "") -> str:
    """The reason in the active language: the system's template for ``code``, else what a person typed.

    A code this version does not know, or values that do not fit its template (both only
    possible in rows written by other code), fall back to the typed text rather than fail
    the history, timeline or e-mail the reason is part of.
    """
    if not code:
        return typed
    template = TEMPLATES.get(code)
    if template is None:
        logger.warning("Unknown reason code %s; showing the typed reason instead", code)
        return typed
    try:
        return str(template.text) % _worded(template, params if isinstance(params, Mapping) else {})
    except (KeyError, TypeError, ValueError):
        logger.exception("Reason %s could not be worded with %r", code, params)
        return typed


def event_reason(event: CaseEvent) -> str:
    """A history row's reason in the active language."""
    return reason_text(event.reason_code, event.reason_params, event.reason)


def reason_code_or_none(code: str) -> str | None:
    """A stored code as the API gives it: null for a reason a person typed."""
    return code or None
