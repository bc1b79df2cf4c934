"""Users (``agency.accounts.models``): ``createsuperuser`` makes the agency's administrator."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from agency.accounts.models import Role, User

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-first-admin-password-9"


def test_createsuperuser_makes_an_administrator_who_can_use_the_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command(
        "createsuperuser", "--noinput", "--username", "first", "--email", "first@agency.example", stdout=io.StringIO()
    )

    user = User.objects.get(username="first")
    assert user.role == Role.ADMINISTRATOR
    assert user.is_agency_staff
    assert user.sees_all_cases
    assert user.is_staff
    assert user.is_superuser
    assert user.is_active
    assert user.check_password(PASSWORD)

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    signed_in = client.post("/admin/login/", {"username": "first", "password": PASSWORD, "next": "/admin/"})
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/admin/"
    assert client.get("/admin/accounts/user/").status_code == 200


def test_a_plain_user_is_still_a_client_and_not_staff():
    user = User.objects.create_user("plain", password=PASSWORD)
    assert user.role == Role.CLIENT
    assert not user.is_staff
    assert not user.is_superuser


def test_create_superuser_keeps_djangos_own_checks():
    with pytest.raises(ValueError, match="is_staff"):
        User.objects.create_superuser("half", password=PASSWORD, is_staff=False)
    with pytest.raises(ValueError, match="is_superuser"):
        User.objects.create_superuser("other-half", password=PASSWORD, is_superuser=False)
