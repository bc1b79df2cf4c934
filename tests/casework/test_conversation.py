"""Internal notes and the message thread with the client: who may write and read, what is recorded, who is told."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agency.accounts.models import Role, User
from agency.organisations.models import Organisation, Shop
from cases.models import Case, CaseEvent, CaseMessage, CaseNote, EventKind
from casework import conversation
from integrations.api_keys import api_key_create
from integrations.models import OutboxEvent
from tests.factories import MembershipFactory, UserFactory
from workflows.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db


def notes_url(case_id: int) -> str:
    return f"/api/v1/cases/{case_id}/notes/"


def messages_url(case_id: int) -> str:
    return f"/api/v1/cases/{case_id}/messages/"


def portal_messages_url(case_id: int) -> str:
    return f"/api/v1/portal/cases/{case_id}/messages/"


@pytest.fixture
def case(make_case: Callable[..., Case], blossom_shop: Shop, manager: User) -> Case:
    return make_case(blossom_shop, assignee=manager)


def fields_of(response: Any) -> dict[str, Any]:
    return dict(response.json()["error"]["details"]["fields"])


def api_key_principal(administrator: User, organisation: Organisation | None) -> User:
    key, _plaintext = api_key_create(
        actor=administrator,
        name="CRM sync",
        organisation_id=organisation.pk if organisation else None,
        permission="read_write",
    )
    return key.principal


# --- Internal notes ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "teammate", "reviewer", "supervisor", "administrator", "intake"])
def test_any_staff_role_that_sees_the_case_adds_and_lists_notes(api, case, who, request):
    user = request.getfixturevalue(who)

    response = api(user).post(notes_url(case.pk), {"body": f"  Called the shop owner ({who}).  "}, format="json")

    assert response.status_code == 201, response.content
    note = CaseNote.objects.get()
    assert response.data["id"] == note.pk
    assert response.data["body"] == f"Called the shop owner ({who})."  # trimmed
    assert response.data["author"]["id"] == user.pk
    assert note.author == user
    listed = api(user).get(notes_url(case.pk))
    assert listed.status_code == 200
    assert [row["id"] for row in listed.data["results"]] == [note.pk]


def test_a_note_is_in_the_history_without_its_text_and_never_for_the_client_or_integrations(api, case, manager):
    outbox_before = OutboxEvent.objects.count()

    api(manager).post(notes_url(case.pk), {"body": "Suspect the promotion on 11.11 was misread."}, format="json")

    note = CaseNote.objects.get()
    event = CaseEvent.objects.get(kind=EventKind.NOTE_ADDED)
    assert event.actor == manager
    assert event.client_visible is False
    assert event.new_value == {"note": note.pk}
    assert event.old_value is None
    assert event.reason == ""
    assert OutboxEvent.objects.count() == outbox_before
    assert not Notification.objects.filter(kind=NotificationKind.MESSAGE_RECEIVED).exists()


@pytest.mark.parametrize("state", ["closed", "declined", "withdrawn"])
def test_notes_are_allowed_after_the_case_has_ended(api, case_in, supervisor, state):
    case = case_in(state)

    response = api(supervisor).post(notes_url(case.pk), {"body": "Client paid the invoice."}, format="json")

    assert response.status_code == 201
    assert CaseNote.objects.filter(case=case).count() == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({}, "This field is required."),
        ({"body": ""}, "Write something."),
        ({"body": "   \n\t "}, "Write something."),
        ({"body": "x" * (conversation.NOTE_MAX_CHARS + 1)}, "At most 20,000 characters, please."),
        ({"body": None}, "This field may not be null."),
    ],
)
def test_a_note_needs_a_body_of_sensible_length_and_nothing_is_written_otherwise(api, case, manager, payload, reason):
    events_before = CaseEvent.objects.filter(case=case).count()

    response = api(manager).post(notes_url(case.pk), payload, format="json")

    assert response.status_code == 400
    assert fields_of(response) == {"body": [reason]}
    assert not CaseNote.objects.exists()
    assert CaseEvent.objects.filter(case=case).count() == events_before


def test_a_note_of_exactly_the_maximum_length_is_accepted(api, case, manager):
    response = api(manager).post(notes_url(case.pk), {"body": "x" * conversation.NOTE_MAX_CHARS}, format="json")

    assert response.status_code == 201


def test_notes_are_immutable(api, case, manager):
    created = api(manager).post(notes_url(case.pk), {"body": "First thought."}, format="json")
    note_id = created.data["id"]

    for method in ("put", "patch", "delete"):
        response = getattr(api(manager), method)(notes_url(case.pk), {"body": "Rewritten."}, format="json")
        assert response.status_code == 405
    assert api(manager).patch(f"{notes_url(case.pk)}{note_id}/", {"body": "x"}, format="json").status_code == 404
    assert api(manager).delete(f"{notes_url(case.pk)}{note_id}/").status_code == 404
    assert CaseNote.objects.get().body == "First thought."


def test_notes_endpoint_negatives(api, case, alice, charlie, outsider_manager, manager):
    CaseNote.objects.create(case=case, author=manager, body="internal")
    url = notes_url(case.pk)
    payload = {"body": "Hello"}

    assert api(None).get(url).status_code == 401
    assert api(None).post(url, payload, format="json").status_code == 401
    for client in (alice, charlie):
        assert api(client).get(url).status_code == 403
        assert api(client).post(url, payload, format="json").status_code == 403
    assert api(outsider_manager).get(url).status_code == 404
    assert api(outsider_manager).post(url, payload, format="json").status_code == 404
    assert api(manager).get(notes_url(999_999_999)).status_code == 404
    assert api(manager).post(notes_url(999_999_999), payload, format="json").status_code == 404
    assert CaseNote.objects.count() == 1


def test_the_note_services_refuse_clients_and_unseen_cases(case, alice, outsider_manager):
    from agency.errors import NotAllowed, NotFound

    with pytest.raises(NotAllowed):
        conversation.note_add(case_id=case.pk, actor=alice, body="x")
    with pytest.raises(NotAllowed):
        conversation.note_list(user=alice, case_id=case.pk)
    with pytest.raises(NotFound):
        conversation.note_add(case_id=case.pk, actor=outsider_manager, body="x")


def test_notes_are_oldest_first_and_paginated(api, case, manager, supervisor):
    for index in range(3):
        conversation.note_add(case_id=case.pk, actor=manager if index % 2 else supervisor, body=f"note {index}")

    first = api(manager).get(notes_url(case.pk), {"page_size": 2})
    second = api(manager).get(notes_url(case.pk), {"page_size": 2, "page": 2})

    assert first.data["count"] == 3
    assert [row["body"] for row in first.data["results"]] == ["note 0", "note 1"]
    assert [row["body"] for row in second.data["results"]] == ["note 2"]
    assert first.data["results"][0]["author"]["username"] == "supervisor"


@pytest.mark.parametrize("count", [2, 25])
def test_the_notes_list_takes_the_same_queries_at_any_size(
    api, case, manager, supervisor, django_assert_num_queries, count
):
    for index in range(count):
        conversation.note_add(case_id=case.pk, actor=manager if index % 2 else supervisor, body=f"note {index}")
    client = api(manager)

    # The case (scoped), the count, and one page with its authors.
    with django_assert_num_queries(3):
        response = client.get(notes_url(case.pk))
    assert len(response.data["results"]) == count


# --- Messages: writing --------------------------------------------------------------------------


def test_staff_write_to_the_client_and_the_organisations_people_are_told(
    api, case, manager, alice, bob, charlie, administrator, blossom
):
    inactive = UserFactory.create(username="former", role=Role.CLIENT, is_active=False)
    MembershipFactory.create(organisation=blossom, user=inactive)
    key_principal = api_key_principal(administrator, blossom)

    response = api(manager).post(messages_url(case.pk), {"body": "Please send the delivery slips."}, format="json")

    assert response.status_code == 201, response.content
    message = CaseMessage.objects.get()
    assert message.from_client is False
    assert message.author == manager
    assert response.data["from_client"] is False
    assert response.data["author"]["id"] == manager.pk
    notified = Notification.objects.filter(kind=NotificationKind.MESSAGE_RECEIVED)
    assert sorted(n.recipient.username for n in notified) == ["alice", "bob"]
    assert not notified.filter(recipient__in=[charlie, inactive, key_principal, manager]).exists()
    for notification in notified:
        assert notification.case == case
        assert notification.dedupe_key == f"message:{message.pk}"
        assert notification.params == {
            "reference": case.reference,
            "from_client": False,
            "excerpt": "Please send the delivery slips.",
        }


def test_a_client_writes_and_the_case_manager_is_told(api, case, alice, manager, supervisor, teammate):
    response = api(alice).post(portal_messages_url(case.pk), {"body": "Slips uploaded.", "from_client": False})

    assert response.status_code == 201, response.content
    message = CaseMessage.objects.get()
    assert message.from_client is True  # from the author's role, never from the request
    assert message.author == alice
    assert response.data == {
        "id": message.pk,
        "from_client": True,
        "author_name": alice.label,
        "body": "Slips uploaded.",
        "created_at": response.data["created_at"],
    }
    notified = Notification.objects.filter(kind=NotificationKind.MESSAGE_RECEIVED)
    assert [n.recipient for n in notified] == [manager]
    assert notified.get().params == {"reference": case.reference, "from_client": True, "excerpt": "Slips uploaded."}


def test_a_client_message_on_an_unassigned_case_goes_to_every_active_supervisor(
    api, make_case, blossom_shop, alice, supervisor, administrator, manager
):
    case = make_case(blossom_shop)
    case.refresh_from_db()
    assert case.assignee_id is None
    second = UserFactory.create(username="supervisor2", role=Role.SUPERVISOR)
    UserFactory.create(username="retired", role=Role.SUPERVISOR, is_active=False)
    agency_key = api_key_principal(administrator, None)
    assert agency_key.role == Role.SUPERVISOR

    response = api(alice).post(portal_messages_url(case.pk), {"body": "Anyone there?"})

    assert response.status_code == 201
    recipients = sorted(
        Notification.objects.filter(kind=NotificationKind.MESSAGE_RECEIVED).values_list(
            "recipient__username", flat=True
        )
    )
    assert recipients == sorted([supervisor.username, second.username])


def test_a_client_message_to_an_inactive_assignee_notifies_nobody_but_is_kept(api, case, alice, manager):
    manager.is_active = False
    manager.save(update_fields=["is_active"])

    response = api(alice).post(portal_messages_url(case.pk), {"body": "Hello?"})

    assert response.status_code == 201
    assert not Notification.objects.filter(kind=NotificationKind.MESSAGE_RECEIVED).exists()


def test_the_excerpt_is_one_line_of_at_most_140_characters():
    body = "Word " * 200 + "END"

    assert len(conversation.excerpt(body)) == 140
    assert conversation.excerpt(body).endswith("…")
    assert conversation.excerpt("line one\n\nline   two") == "line one line two"
    assert conversation.excerpt("x" * 140) == "x" * 140
    assert conversation.excerpt("x" * 141) == "x" * 139 + "…"


def test_the_notification_excerpt_is_cut(api, case, manager, alice):
    api(manager).post(messages_url(case.pk), {"body": "Long " * 100}, format="json")

    params = Notification.objects.get(recipient=alice).params
    assert len(params["excerpt"]) <= 140
    assert params["excerpt"].endswith("…")


def test_a_message_is_in_the_history_for_the_client_and_goes_to_integrations(api, case, alice):
    last_before = case.event_sequence

    api(alice).post(portal_messages_url(case.pk), {"body": "Slips uploaded."})

    message = CaseMessage.objects.get()
    event = CaseEvent.objects.get(kind=EventKind.MESSAGE_POSTED)
    assert event.client_visible is True
    assert event.actor == alice
    assert event.new_value == {"message": message.pk, "from_client": True, "body": "Slips uploaded."}
    sent = list(OutboxEvent.objects.filter(case=case, sequence__gt=last_before).order_by("sequence"))
    assert [e.type for e in sent] == ["message.posted"]
    assert sent[0].data["values"] == event.new_value


@pytest.mark.parametrize("state", ["closed", "declined", "withdrawn"])
def test_no_message_on_an_ended_case(api, case_in, supervisor, alice, state):
    case = case_in(state)
    events_before = CaseEvent.objects.filter(case=case).count()

    staff = api(supervisor).post(messages_url(case.pk), {"body": "One more thing"}, format="json")
    client = api(alice).post(portal_messages_url(case.pk), {"body": "One more thing"})

    for response in (staff, client):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "invalid_state"
        assert response.json()["error"]["details"] == {"state": state}
    assert not CaseMessage.objects.exists()
    assert CaseEvent.objects.filter(case=case).count() == events_before
    assert not Notification.objects.filter(kind=NotificationKind.MESSAGE_RECEIVED).exists()


@pytest.mark.parametrize("state", ["intake", "assessment", "evidence", "submitted", "resolved", "reputation_recovery"])
def test_messages_are_allowed_in_every_open_state(api, case_in, alice, supervisor, state):
    case = case_in(state)

    assert api(alice).post(portal_messages_url(case.pk), {"body": "Hi"}).status_code == 201
    assert api(supervisor).post(messages_url(case.pk), {"body": "Hi"}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({}, "This field is required."),
        ({"body": ""}, "Write something."),
        ({"body": "  "}, "Write something."),
        ({"body": "x" * (conversation.MESSAGE_MAX_CHARS + 1)}, "At most 10,000 characters, please."),
    ],
)
@pytest.mark.parametrize("side", ["staff", "client"])
def test_a_message_needs_a_body_and_nothing_is_written_otherwise(api, case, manager, alice, payload, reason, side):
    if side == "staff":
        response = api(manager).post(messages_url(case.pk), payload, format="json")
    else:
        response = api(alice).post(portal_messages_url(case.pk), payload, format="json")

    assert response.status_code == 400
    assert fields_of(response) == {"body": [reason]}
    assert not CaseMessage.objects.exists()
    assert not CaseEvent.objects.filter(kind=EventKind.MESSAGE_POSTED).exists()
    assert not Notification.objects.filter(kind=NotificationKind.MESSAGE_RECEIVED).exists()


def test_staff_messages_endpoint_negatives(api, case, alice, charlie, outsider_manager, manager):
    url = messages_url(case.pk)
    payload = {"body": "Hello"}

    assert api(None).get(url).status_code == 401
    assert api(None).post(url, payload, format="json").status_code == 401
    for client in (alice, charlie):
        assert api(client).get(url).status_code == 403
        assert api(client).post(url, payload, format="json").status_code == 403
    assert api(outsider_manager).get(url).status_code == 404
    assert api(outsider_manager).post(url, payload, format="json").status_code == 404
    assert api(manager).get(messages_url(999_999_999)).status_code == 404
    assert not CaseMessage.objects.exists()


def test_portal_messages_endpoint_negatives(api, case, charlie, manager, supervisor):
    url = portal_messages_url(case.pk)
    payload = {"body": "Hello"}

    assert api(None).get(url).status_code == 401
    assert api(None).post(url, payload).status_code == 401
    for staff in (manager, supervisor):  # staff use the staff endpoint
        assert api(staff).get(url).status_code == 403
        assert api(staff).post(url, payload).status_code == 403
    assert api(charlie).get(url).status_code == 404
    assert api(charlie).post(url, payload).status_code == 404
    assert api(charlie).get(portal_messages_url(999_999_999)).status_code == 404
    assert not CaseMessage.objects.exists()


def test_messages_are_immutable(api, case, manager, alice):
    conversation.message_post(case_id=case.pk, actor=manager, body="Hello")

    for method in ("put", "patch", "delete"):
        assert getattr(api(manager), method)(messages_url(case.pk), {"body": "x"}, format="json").status_code == 405
        assert getattr(api(alice), method)(portal_messages_url(case.pk), {"body": "x"}).status_code == 405
    assert CaseMessage.objects.get().body == "Hello"


# --- Messages: reading --------------------------------------------------------------------------


def test_both_sides_read_the_same_thread_oldest_first(api, case, manager, alice, bob):
    conversation.message_post(case_id=case.pk, actor=alice, body="1 from alice")
    conversation.message_post(case_id=case.pk, actor=manager, body="2 from the agency")
    conversation.message_post(case_id=case.pk, actor=bob, body="3 from bob")
    CaseNote.objects.create(case=case, author=manager, body="not a message")

    staff = api(manager).get(messages_url(case.pk))
    client = api(alice).get(portal_messages_url(case.pk))

    assert [row["body"] for row in staff.data["results"]] == ["1 from alice", "2 from the agency", "3 from bob"]
    assert [row["body"] for row in client.data["results"]] == ["1 from alice", "2 from the agency", "3 from bob"]
    assert [row["from_client"] for row in client.data["results"]] == [True, False, True]
    assert [row["author"]["username"] for row in staff.data["results"]] == ["alice", "manager", "bob"]


def test_the_client_sees_staff_by_display_name_only(api, case, manager, alice):
    conversation.message_post(case_id=case.pk, actor=manager, body="Hello from your case manager")
    nameless = UserFactory.create(username="jdoe_internal", role=Role.SUPERVISOR, display_name="")
    conversation.message_post(case_id=case.pk, actor=nameless, body="Hello from the team")
    full_name = UserFactory.create(
        username="li.internal", role=Role.SUPERVISOR, display_name="", first_name="Li", last_name="Wei"
    )
    conversation.message_post(case_id=case.pk, actor=full_name, body="Hello again")

    response = api(alice).get(portal_messages_url(case.pk))

    rows = response.data["results"]
    assert [row["author_name"] for row in rows] == ["Manager", "The agency", "Li Wei"]
    assert set(rows[0]) == {"id", "from_client", "author_name", "body", "created_at"}
    text = response.content.decode()
    for internal in ("jdoe_internal", "li.internal", '"manager"', "case_manager", "supervisor"):
        assert internal not in text


def test_the_agency_is_named_in_the_clients_language(api, case, alice):
    nameless = UserFactory.create(username="jdoe_internal", role=Role.SUPERVISOR, display_name="")
    conversation.message_post(case_id=case.pk, actor=nameless, body="你好")

    response = api(alice).get(portal_messages_url(case.pk), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.data["results"][0]["author_name"] == "代理机构"


@pytest.mark.parametrize("count", [2, 25])
def test_the_message_lists_take_the_same_queries_at_any_size(
    api, case, manager, alice, bob, django_assert_num_queries, count
):
    for index in range(count):
        conversation.message_post(case_id=case.pk, actor=(manager, alice, bob)[index % 3], body=f"message {index}")
    staff, client = api(manager), api(alice)

    # The case (scoped), the count, and one page with its authors.
    with django_assert_num_queries(3):
        response = staff.get(messages_url(case.pk))
    assert len(response.data["results"]) == count
    with django_assert_num_queries(3):
        response = client.get(portal_messages_url(case.pk))
    assert len(response.data["results"]) == count


def test_a_client_of_the_same_organisation_reads_the_thread_and_a_stranger_does_not(api, case, manager, bob, charlie):
    conversation.message_post(case_id=case.pk, actor=manager, body="For Blossom only")

    assert api(bob).get(portal_messages_url(case.pk)).data["count"] == 1
    assert api(charlie).get(portal_messages_url(case.pk)).status_code == 404
