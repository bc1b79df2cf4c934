"""The notification endpoints (``workflows.api.notifications``): each signed-in user, staff or client, reads
and marks only their own notifications, in the request's language."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from cases.models import Case
from casework import conversation
from tests.workflows.helpers import CJK, DUE_LOCAL, NOON, ZH_COLON, deadline_params, remind
from workflows.models import Notification, NotificationKind
from workflows.notifications import notify, render

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/notifications/"
COUNT_URL = "/api/v1/notifications/unread-count/"
READ_ALL_URL = "/api/v1/notifications/read-all/"


def read_url(notification_id: int) -> str:
    return f"/api/v1/notifications/{notification_id}/read/"


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", LIST_URL), ("get", COUNT_URL), ("post", READ_ALL_URL), ("post", read_url(1))],
)
def test_anonymous_gets_401(api, method, url):
    response = getattr(api(None), method)(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_list_shows_only_my_own_notifications_newest_first(
    api, case, deadline, alice, bob, queued, time_machine: time_machine.TimeMachineFixture
):
    time_machine.move_to(NOON, tick=False)
    remind([alice, bob], case, key="first", deadline=deadline)
    time_machine.shift(dt.timedelta(hours=1))
    (newest,) = remind([alice], case, key="second")

    response = api(alice).get(LIST_URL)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [item["id"] for item in results] == [
        newest.pk,
        Notification.objects.get(recipient=alice, dedupe_key="first").pk,
    ]
    assert results[1] == {
        "id": results[1]["id"],
        "kind": "deadline_reminder",
        "case": case.pk,
        "case_reference": case.reference,
        "deadline": deadline.pk,
        "title": f"Reminder: case {case.reference}, due by {DUE_LOCAL}",
        "body": results[1]["body"],
        "created_at": "2026-02-23T12:00:00+08:00",
        "read_at": None,
    }
    assert "Manager" not in results[1]["body"]


def test_staff_use_the_same_endpoints_for_their_own(api, case, manager, alice, queued):
    remind([manager, alice], case)

    response = api(manager).get(LIST_URL)

    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert item["title"] == f"Reminder: Signed delivery slips on {case.reference}, due by {DUE_LOCAL}"
    assert "Assigned to: Manager" in item["body"]


def test_a_notification_without_a_case(api, alice, queued):
    notify(recipients=[alice], kind="something_new", case=None, deadline=None, params={}, dedupe_key="no-case")

    (item,) = api(alice).get(LIST_URL).json()["results"]

    assert (item["case"], item["case_reference"], item["deadline"]) == (None, None, None)
    assert item["title"] == "New notification"


def test_unread_filter_and_count(api, case, alice, bob, queued):
    first, second, third = (remind([alice], case, key=key)[0] for key in ("a", "b", "c"))
    remind([bob], case, key="bob's")
    client = api(alice)
    client.post(read_url(second.pk))

    unread = client.get(LIST_URL, {"unread": "true"}).json()["results"]
    read = client.get(LIST_URL, {"unread": "false"}).json()["results"]

    assert sorted(item["id"] for item in unread) == sorted([first.pk, third.pk])
    assert [item["id"] for item in read] == [second.pk]
    assert client.get(COUNT_URL).json() == {"unread": 2}
    assert api(bob).get(COUNT_URL).json() == {"unread": 1}


def test_an_invalid_unread_value_is_400(api, alice):
    response = api(alice).get(LIST_URL, {"unread": "perhaps"})

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]["fields"]) == {"unread"}


def test_mark_read_is_idempotent(api, case, alice, queued, time_machine: time_machine.TimeMachineFixture):
    time_machine.move_to(NOON, tick=False)
    (notification,) = remind([alice], case)
    client = api(alice)

    first = client.post(read_url(notification.pk))
    time_machine.shift(dt.timedelta(minutes=5))
    again = client.post(read_url(notification.pk))

    assert first.status_code == again.status_code == 200
    assert first.json()["read_at"] == again.json()["read_at"] == "2026-02-23T12:00:00+08:00"
    assert first.json()["id"] == notification.pk


def test_nobody_can_read_or_mark_someone_elses(api, case, alice, bob, charlie, manager, queued):
    (bobs,) = remind([bob], case)

    for user in (alice, charlie, manager):
        client = api(user)
        response = client.post(read_url(bobs.pk))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert client.get(LIST_URL).json()["results"] == []
        assert client.post(READ_ALL_URL).json() == {"marked": 0}

    bobs.refresh_from_db()
    assert bobs.read_at is None
    assert api(alice).post(read_url(10**17)).status_code == 404


def test_read_all_marks_only_my_unread_ones(api, case, alice, bob, queued):
    first, _second = (remind([alice], case, key=key)[0] for key in ("a", "b"))
    remind([bob], case, key="a")
    client = api(alice)
    client.post(read_url(first.pk))

    assert client.post(READ_ALL_URL).json() == {"marked": 1}
    assert client.post(READ_ALL_URL).json() == {"marked": 0}
    assert client.get(COUNT_URL).json() == {"unread": 0}
    assert api(bob).get(COUNT_URL).json() == {"unread": 1}


def test_accept_language_chinese_gives_chinese_text(api, case, alice, queued):
    alice.preferred_language = "en"  # the app follows the request, e-mails the preference
    alice.save(update_fields=["preferred_language"])
    (notification,) = remind([alice], case)

    response = api(alice).get(LIST_URL, HTTP_ACCEPT_LANGUAGE="zh-Hans")

    (item,) = response.json()["results"]
    assert response["Content-Language"] == "zh-hans"
    assert CJK.search(item["title"])
    assert CJK.search(item["body"])
    assert (item["title"], item["body"]) == render(notification, "zh-hans")
    english = api(alice).get(LIST_URL, HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]
    assert not CJK.search(english["title"] + english["body"])


@pytest.mark.parametrize(("rows", "page_size"), [(3, 2), (30, 25)])
def test_the_list_costs_a_fixed_number_of_queries(
    api, case, deadline, alice, queued, django_assert_num_queries, rows, page_size
):
    for index in range(rows):
        kind = (NotificationKind.DEADLINE_REMINDER, NotificationKind.DEADLINE_MISSED)[index % 2]
        notify(
            recipients=[alice],
            kind=kind,
            case=case,
            deadline=deadline if index % 3 else None,
            params=deadline_params(case),
            dedupe_key=f"k{index}",
        )
    client = api(alice)

    # The count and the page, with the case and the recipient joined.
    with django_assert_num_queries(2):
        response = client.get(LIST_URL, {"page_size": page_size, "unread": "true"})

    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size


def test_a_posted_message_reaches_the_clients_notification_list_in_their_language(api, case_in, manager, alice):
    case: Case = case_in("assessment")
    conversation.message_post(case_id=case.pk, actor=manager, body="请上传签收单。")

    en = api(alice).get("/api/v1/notifications/").data["results"]
    zh = api(alice).get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="zh-hans").data["results"]

    messages_en = [row for row in en if row["kind"] == NotificationKind.MESSAGE_RECEIVED]
    messages_zh = [row for row in zh if row["kind"] == NotificationKind.MESSAGE_RECEIVED]
    assert [row["title"] for row in messages_en] == [f"New message from the agency on case {case.reference}"]
    assert "Message: 请上传签收单。" in messages_en[0]["body"]
    assert "manager" not in messages_en[0]["body"].lower()
    assert [row["title"] for row in messages_zh] == [f"案件 {case.reference}{ZH_COLON}代理机构发来新消息"]
