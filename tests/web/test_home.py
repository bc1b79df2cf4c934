"""The front door (``web.home``): where ``/`` sends each person, and the staff page that says where their tools are."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from agency.accounts.models import User

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_sign_in(browse: Callable[..., Client]) -> None:
    response = browse().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/sign-in/"


def test_client_lands_on_their_cases(browse: Callable[..., Client], alice: User) -> None:
    response = browse(alice).get("/")
    assert response["Location"] == "/portal/"


def test_staff_land_on_the_page_that_says_where_their_tools_are(browse: Callable[..., Client], manager: User) -> None:
    client = browse(manager)
    assert client.get("/")["Location"] == "/staff/"
    page = client.get("/staff/").content.decode()
    assert 'href="/api/docs/"' in page
    assert 'href="/admin/"' in page


def test_client_may_not_open_the_staff_page_nor_staff_the_portal(
    browse: Callable[..., Client], alice: User, manager: User
) -> None:
    assert browse(alice).get("/staff/").status_code == 403
    assert browse(manager).get("/portal/").status_code == 403


def test_portal_pages_ask_anonymous_visitors_to_sign_in_first(browse: Callable[..., Client]) -> None:
    response = browse().get("/portal/cases/1/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/sign-in/?next=/portal/cases/1/"
