"""The Django admin: every model is registered and its pages load; case state and evidence checks are read-only,
and the check rules are saved through their service.

A project-wide check over every app's admin, so it lives under tests/agency/."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from agency.accounts.models import Role
from evidence.models import EvidenceCheck, EvidenceCheckRule, EvidenceFinding
from tests.factories import UserFactory, evidence_item

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


def test_evidence_checks_are_read_only_in_admin(client, superuser, case_in, supervisor):
    case = case_in("evidence", with_evidence=False)
    item = evidence_item(case, order=case.flagged_orders.first(), kind="shipping_slip", uploaded_by=supervisor)
    check = EvidenceCheck.objects.create(
        item=item, state="done", outcome="mismatch", text="运单号 75312345678901", checked_at=timezone.now()
    )
    EvidenceFinding.objects.create(
        evidence_check=check, name="tracking_number", result="mismatch", found="7531", snippet="运单号 75312345678901"
    )
    client.force_login(superuser)

    page = client.get(reverse("admin:evidence_evidencecheck_change", args=[check.pk]))
    posted = client.post(reverse("admin:evidence_evidencecheck_change", args=[check.pk]), {"outcome": "match"})

    assert page.status_code == 200
    assert "Contradicts the order" in page.content.decode()
    # The file's text is read through the API by staff who can see the case, as the file is.
    assert "75312345678901" not in page.content.decode()
    assert b'name="outcome"' not in page.content
    assert posted.status_code == 403
    check.refresh_from_db()
    assert check.outcome == "mismatch"


def test_a_check_rule_saved_in_admin_goes_through_the_service(client, case_in, supervisor):
    administrator = UserFactory.create(username="root", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    case = case_in("evidence", with_evidence=False)
    item = evidence_item(case, order=case.flagged_orders.first(), kind="chat_log", uploaded_by=supervisor)
    check = EvidenceCheck.objects.create(item=item, state="done", outcome="not_found")
    rule = EvidenceCheckRule.objects.get(kind="chat_log")
    client.force_login(administrator)
    change = reverse("admin:evidence_evidencecheckrule_change", args=[rule.pk])

    refused = client.post(change, {"groups": '[["order_id", "selfie"]]', "window_hours": "24"})
    saved = client.post(change, {"groups": '[["order_id"]]', "window_hours": "24"})

    assert refused.status_code == 200  # the form again, with the service's reason
    assert "Unknown checks: selfie." in refused.content.decode()
    assert saved.status_code == 302
    rule.refresh_from_db()
    assert (rule.groups, rule.window_hours, rule.updated_by) == ([["order_id"]], 24, administrator)
    check.refresh_from_db()
    assert (check.state, check.generation) == ("queued", 2)
