"""The Django admin: every model is registered and its pages load; case state is read-only.

A project-wide check over every app's admin, so it lives under tests/agency/."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from agency.accounts.models import Role
from tests.factories import UserFactory

PROJECT_APPS = {"accounts", "organisations", "cases", "evidence", "workflows", "integrations", "billing", "recovery"}


@pytest.fixture
def superuser(db):
    return UserFactory.create(username="root", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)


def test_every_project_model_is_registered():
    models = [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS]

    assert models
    assert [m.__name__ for m in models if not admin.site.is_registered(m)] == []


def test_every_changelist_and_change_page_loads(client, superuser, case_in):
    case_in("submitted")
    client.force_login(superuser)

    for model in (m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS):
        opts = model._meta
        changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert changelist.status_code == 200, opts.label
        first = model._default_manager.first()
        if first is not None:
            change = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
            assert change.status_code == 200, opts.label


def test_case_state_and_history_cannot_be_edited_in_admin(client, superuser, case_in):
    case = case_in("assessment")
    client.force_login(superuser)

    page = client.get(reverse("admin:cases_case_change", args=[case.pk]))
    posted = client.post(reverse("admin:cases_case_change", args=[case.pk]), {"state": "closed"})
    deleted = client.post(reverse("admin:cases_case_delete", args=[case.pk]), {"post": "yes"})

    assert b'name="state"' not in page.content
    assert posted.status_code == 403
    assert deleted.status_code == 403
    case.refresh_from_db()
    assert case.state == "assessment"


def test_admin_is_closed_to_non_staff(client, alice):
    client.force_login(alice)

    response = client.get(reverse("admin:cases_case_changelist"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
