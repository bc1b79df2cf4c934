"""Internal notes (staff only) and the message thread with the client on a case: writing and reading them.

Decisions, in one place:

- Notes are immutable: there is no edit and no delete; a correction is a new note. A note
  may be added in any state, closed cases included (a note after closing is normal work).
  Its history row (NOTE_ADDED, never client-visible, never sent to an integration) holds
  only the note's id, not its text nor an excerpt: history is exported and shown in more
  places than notes are, so the text stays in one table that only staff endpoints read.
- Messages are immutable too, and may be posted only while the case is open (409 once it
  is closed, declined or withdrawn: nobody is there to answer). ``from_client`` follows
  the author's role, never the request. The history row (MESSAGE_POSTED, client-visible)
  carries the id, the side and the body: the body is the client's business anyway, and
  an integration (a messaging bot, a CRM) has no staff endpoint to fetch it from.
- A client's message notifies the case's assignee, or every active supervisor while the
  case has none; a staff message notifies the organisation's active client users. API-key
  principals are never notified. One notification per message and recipient
  (``message:<id>``), with an excerpt of at most 140 characters.
- Both lists are oldest first, like a conversation, and paginated by the global paginator.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from agency.accounts.models import Role, User
from agency.errors import InvalidInput, InvalidState, NotAllowed
from cases.history import record_case_event
from cases.models import Case, CaseMessage, CaseNote, EventKind
from cases.selectors import case_for_actor, portal_case_get
from workflows.models import NotificationKind
from workflows.notifications import notify

NOTE_MAX_CHARS = 20_000
MESSAGE_MAX_CHARS = 10_000
EXCERPT_MAX_CHARS = 140


def _clean_body(body: str, *, max_chars: int) -> str:
    """The body without surrounding blanks; 400 naming ``body`` if it is empty or too long."""
    text = body.strip() if isinstance(body, str) else ""
    if not text:
        raise InvalidInput(details={"fields": {"body": [_("Write something.")]}})
    if len(text) > max_chars:
        raise InvalidInput(
            details={
                "fields": {"body": [_("At most %(max)s characters, please.") % {"max": f"{max_chars:,}"}]},
            }
        )
    return text


def excerpt(body: str, *, limit: int = EXCERPT_MAX_CHARS) -> str:
    """The start of a message for a notification: one line, at most ``limit`` characters."""
    text = " ".join(body.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- Internal notes ---------------------------------------------------------------------------


@transaction.atomic
def note_add(*, case_id: int, actor: User, body: str) -> CaseNote:
    """Add an internal note to a case the staff member can see; any state, any staff role."""
    if not actor.is_agency_staff:
        raise NotAllowed()
    case = case_for_actor(actor=actor, case_id=case_id, lock=True)
    text = _clean_body(body, max_chars=NOTE_MAX_CHARS)
    note = CaseNote.objects.create(case=case, author=actor, body=text)
    record_case_event(
        case=case, actor=actor, kind=EventKind.NOTE_ADDED, new_value={"note": note.pk}, client_visible=False
    )
    return note


def note_list(*, user: User, case_id: int) -> QuerySet[CaseNote]:
    """The case's internal notes, oldest first; staff who can see the case only (403 / 404 otherwise)."""
    if not user.is_agency_staff:
        raise NotAllowed()
    case = case_for_actor(actor=user, case_id=case_id)
    return CaseNote.objects.filter(case_id=case.pk).select_related("author").order_by("created_at", "id")


# --- Messages with the client -----------------------------------------------------------------


def _message_recipients(case: Case, *, from_client: bool) -> list[User]:
    """Who hears of a new message: the other side, people only (never an API key)."""
    people = User.objects.filter(is_active=True, api_key__isnull=True)
    if from_client:
        if case.assignee_id is not None:
            return list(people.filter(pk=case.assignee_id))
        return list(people.filter(role=Role.SUPERVISOR).order_by("pk"))
    return list(
        people.filter(role=Role.CLIENT, memberships__organisation_id=case.organisation_id).distinct().order_by("pk")
    )


@transaction.atomic
def message_post(*, case_id: int, actor: User, body: str) -> CaseMessage:
    """Post a message on an open case, as the client (their organisation's case) or as staff who see it.

    The other side is notified in the same transaction (e-mails go out after it commits).
    """
    if not (actor.is_agency_staff or actor.is_client):
        raise NotAllowed()
    case = case_for_actor(actor=actor, case_id=case_id, lock=True)
    if not case.is_open:
        raise InvalidState(_("Messages can be posted only while the case is open."), details={"state": case.state})
    text = _clean_body(body, max_chars=MESSAGE_MAX_CHARS)
    from_client = actor.is_client
    message = CaseMessage.objects.create(case=case, author=actor, from_client=from_client, body=text)
    record_case_event(
        case=case,
        actor=actor,
        kind=EventKind.MESSAGE_POSTED,
        new_value={"message": message.pk, "from_client": from_client, "body": text},
        client_visible=True,
    )
    notify(
        recipients=_message_recipients(case, from_client=from_client),
        kind=NotificationKind.MESSAGE_RECEIVED,
        case=case,
        deadline=None,
        params={"reference": case.reference, "from_client": from_client, "excerpt": excerpt(text)},
        dedupe_key=f"message:{message.pk}",
    )
    return message


def message_list(*, user: User, case_id: int) -> QuerySet[CaseMessage]:
    """The case's messages, oldest first, for staff who can see the case."""
    if not user.is_agency_staff:
        raise NotAllowed()
    case = case_for_actor(actor=user, case_id=case_id)
    return CaseMessage.objects.filter(case_id=case.pk).select_related("author").order_by("created_at", "id")


def portal_message_list(*, user: User, case_id: int) -> QuerySet[CaseMessage]:
    """The messages on one of the client's organisation's cases, oldest first (404 for any other case)."""
    case = portal_case_get(user=user, case_id=case_id)
    return CaseMessage.objects.filter(case_id=case.pk).select_related("author").order_by("created_at", "id")
