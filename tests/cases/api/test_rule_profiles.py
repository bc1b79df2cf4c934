"""Rule profiles over the API (``cases.api.rule_profiles``): staff read them, only administrators change them,
bad rules are refused."""

from __future__ import annotations

import pytest

from cases.models import PlatformRuleProfile

URL = "/api/v1/rule-profiles/"


@pytest.fixture
def taobao_fake(db):
    return PlatformRuleProfile.objects.get(platform="taobao", violation_type="fake_transaction")


def test_staff_read_the_profiles_filtered_by_platform(api, manager):
    response = api(manager).get(f"{URL}?platform=taobao&page_size=100")

    assert response.status_code == 200
    assert response.data["count"] == 5
    assert {row["platform"] for row in response.data["results"]} == {"taobao"}


def test_an_administrator_corrects_a_profile(api, administrator, taobao_fake):
    response = api(administrator).patch(
        f"{URL}{taobao_fake.pk}/",
        {"attempt_limit": 3, "chat_lookback_days": 60, "required_evidence": {"physical": ["chat_log"], "virtual": []}},
        format="json",
    )

    assert response.status_code == 200, response.data
    taobao_fake.refresh_from_db()
    assert (taobao_fake.attempt_limit, taobao_fake.chat_lookback_days) == (3, 60)
    assert taobao_fake.required_evidence == {"physical": ["chat_log"], "virtual": []}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"required_evidence": {"physical": ["selfie"]}}, "required_evidence"),
        ({"required_evidence": {"digital": ["chat_log"]}}, "required_evidence"),
        ({"required_evidence": {"physical": ["chat_log", "chat_log"]}}, "required_evidence"),
        ({"required_evidence": ["chat_log"]}, "required_evidence"),
        ({"attempt_limit": 0}, "attempt_limit"),
        ({"appeal_window_unit": "fortnights"}, "appeal_window_unit"),
    ],
)
def test_bad_rules_are_refused_with_the_field_and_change_nothing(api, administrator, taobao_fake, payload, field):
    before = PlatformRuleProfile.objects.values().get(pk=taobao_fake.pk)

    response = api(administrator).patch(f"{URL}{taobao_fake.pk}/", payload, format="json")

    assert response.status_code == 400
    assert field in response.data["error"]["details"]["fields"]
    assert PlatformRuleProfile.objects.values().get(pk=taobao_fake.pk) == before


def test_platform_and_violation_cannot_be_rewritten(api, administrator, taobao_fake):
    api(administrator).patch(f"{URL}{taobao_fake.pk}/", {"platform": "jd"}, format="json")

    taobao_fake.refresh_from_db()
    assert taobao_fake.platform == "taobao"


@pytest.mark.parametrize("actor_name", ["supervisor", "manager", "reviewer", "intake"])
def test_only_administrators_change_profiles(api, request, taobao_fake, actor_name):
    response = api(request.getfixturevalue(actor_name)).patch(
        f"{URL}{taobao_fake.pk}/", {"attempt_limit": 5}, format="json"
    )

    assert response.status_code == 403
    taobao_fake.refresh_from_db()
    assert taobao_fake.attempt_limit == 2


def test_clients_and_anonymous_get_nothing(api, alice, taobao_fake):
    assert api().get(URL).status_code == 401
    assert api(alice).get(URL).status_code == 403
    assert api(alice).get(f"{URL}{taobao_fake.pk}/").status_code == 403


def test_profiles_cannot_be_created_or_deleted_over_the_api(api, administrator, taobao_fake):
    assert api(administrator).post(URL, {}, format="json").status_code == 405
    assert api(administrator).delete(f"{URL}{taobao_fake.pk}/").status_code == 405
