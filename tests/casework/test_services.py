"""The write-side case services (``casework.services``): a case takes the rule profile (and attempt limit)
of its platform and violation; the stored count of orders still to win follows every change that affects it
(and the backfill agrees); and cases under the integrator's own reference are set at creation, unique per
organisation and searchable."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db.models import Q
from django.utils import timezone

from agency.errors import InvalidInput
from cases.models import Case, CaseEvent, EventKind, FlaggedOrder, PlatformRuleProfile
from casework import services
from tests.cases.helpers import create_payload, jsonable_order
from tests.conftest import agree_fee, complete_evidence
from tests.evidence.helpers import PHYSICAL, VIRTUAL
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

backfill = importlib.import_module("cases.migrations.0010_case_open_order_count").backfill


def _counted(case: Case) -> int:
    return FlaggedOrder.objects.filter(case=case, excluded_at__isnull=True).filter(~Q(outcome="cleared")).count()


def _stored(case: Case) -> int:
    return Case.objects.values_list("open_order_count", flat=True).get(pk=case.pk)


def test_the_count_follows_orders_added_excluded_included_and_cleared(case_in, supervisor):
    case = case_in("assessment", orders=6)
    assert _stored(case) == _counted(case) == 6
    first, second, third, *_ = case.flagged_orders.order_by("id")

    services.flagged_order_set_excluded(
        case_id=case.pk, order_id=first.pk, actor=supervisor, excluded=True, reason="Admitted."
    )
    assert _stored(case) == _counted(case) == 5
    services.flagged_order_set_excluded(case_id=case.pk, order_id=first.pk, actor=supervisor, excluded=False)
    assert _stored(case) == _counted(case) == 6

    services.flagged_order_set_excluded(
        case_id=case.pk, order_id=third.pk, actor=supervisor, excluded=True, reason="Admitted."
    )
    agree_fee(case, supervisor=supervisor)
    services.case_transition(case_id=case.pk, name="accept_case", actor=supervisor)
    complete_evidence(case, reviewer=supervisor)
    services.case_transition(case_id=case.pk, name="submit_appeal", actor=supervisor)
    services.case_transition(
        case_id=case.pk,
        name="record_outcome",
        actor=supervisor,
        order_results=[{"order": first.pk, "result": "cleared"}, {"order": second.pk, "result": "cleared"}],
        default_result="upheld",
    )
    assert _stored(case) == _counted(case) == 3

    # A cleared order excluded afterwards was not open work: the count does not move.
    services.flagged_order_set_excluded(
        case_id=case.pk, order_id=first.pk, actor=supervisor, excluded=True, reason="Paperwork."
    )
    assert _stored(case) == _counted(case) == 3


def test_the_backfill_counts_what_the_services_keep(case_in, supervisor):
    case = case_in("assessment", orders=4)
    order = case.flagged_orders.first()
    services.flagged_order_set_excluded(
        case_id=case.pk, order_id=order.pk, actor=supervisor, excluded=True, reason="Admitted."
    )
    Case.objects.filter(pk=case.pk).update(open_order_count=0)

    backfill(apps, None)

    assert _stored(case) == 3


CASES = "/api/v1/cases/"
PORTAL_CASES = "/api/v1/portal/cases/"


def create(client, shop, reference, **overrides):
    return client.post(CASES, create_payload(shop, external_reference=reference, **overrides), format="json")


def test_a_case_and_its_orders_are_created_in_one_request_with_an_external_reference(api, intake, blossom_shop):
    payload = create_payload(
        blossom_shop, external_reference="ERP-2026-0042", flagged_orders=[jsonable_order(i) for i in range(3)]
    )

    response = api(intake).post(CASES, payload, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["external_reference"] == "ERP-2026-0042"
    assert body["flagged_order_count"] == 3
    case = Case.objects.get()
    assert case.external_reference == "ERP-2026-0042"
    assert case.flagged_orders.count() == 3
    assert CaseEvent.objects.filter(case=case, kind=EventKind.CREATED).count() == 1


def test_without_an_external_reference_it_is_blank_and_never_clashes(api, intake, blossom_shop):
    client = api(intake)

    first = client.post(CASES, create_payload(blossom_shop), format="json")
    second = create(client, blossom_shop, "")

    assert first.status_code == second.status_code == 201
    assert first.json()["external_reference"] == second.json()["external_reference"] == ""


def test_staff_find_a_case_by_its_external_reference(api, intake, supervisor, blossom_shop):
    wanted = create(api(intake), blossom_shop, "ERP-1").json()
    create(api(intake), blossom_shop, "ERP-10")
    create(api(intake), blossom_shop, "")

    response = api(supervisor).get(CASES, {"external_reference": "ERP-1"})

    assert response.status_code == 200
    assert [case["id"] for case in response.json()["results"]] == [wanted["id"]]
    assert response.json()["results"][0]["external_reference"] == "ERP-1"


def test_the_client_finds_its_case_by_external_reference_and_others_do_not(api, intake, alice, charlie, blossom_shop):
    wanted = create(api(intake), blossom_shop, "ERP-7").json()
    create(api(intake), blossom_shop, "ERP-8")

    mine = api(alice).get(PORTAL_CASES, {"external_reference": "ERP-7"})
    theirs = api(charlie).get(PORTAL_CASES, {"external_reference": "ERP-7"})
    unfiltered = api(alice).get(PORTAL_CASES)

    assert mine.status_code == 200
    assert [case["id"] for case in mine.json()["results"]] == [wanted["id"]]
    assert theirs.status_code == 200
    assert theirs.json()["results"] == []
    assert len(unfiltered.json()["results"]) == 2


def test_a_taken_external_reference_answers_409_with_the_existing_case(api, intake, blossom_shop):
    client = api(intake)
    existing = create(client, blossom_shop, "ERP-9").json()

    response = create(client, blossom_shop, "ERP-9", penalty_points=1)

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "duplicate_external_reference"
    assert error["details"] == {"case": existing["id"]}
    assert Case.objects.count() == 1
    # The integrator can fetch the case it already made.
    assert client.get(f"{CASES}{existing['id']}/").json()["external_reference"] == "ERP-9"


def test_the_clash_is_checked_per_organisation_across_its_shops(api, intake, blossom_shop, blossom):
    other_shop = ShopFactory.create(organisation=blossom)
    create(api(intake), blossom_shop, "ERP-11")

    response = create(api(intake), other_shop, "ERP-11")

    assert response.status_code == 409


def test_another_organisation_may_use_the_same_external_reference(api, intake, blossom_shop, star_shop):
    client = api(intake)

    first = create(client, blossom_shop, "ERP-1")
    second = create(client, star_shop, "ERP-1")

    assert first.status_code == second.status_code == 201
    assert Case.objects.filter(external_reference="ERP-1").count() == 2


def test_an_external_reference_over_100_characters_is_refused(api, intake, blossom_shop):
    response = create(api(intake), blossom_shop, "x" * 101)

    assert response.status_code == 400
    assert "external_reference" in response.json()["error"]["details"]["fields"]
    assert not Case.objects.exists()


def test_the_service_refuses_a_taken_reference_too(intake, blossom_shop):
    services.case_create(
        actor=intake,
        shop=blossom_shop,
        violation_type="fake_transaction",
        notice_received_at=timezone.now(),
        external_reference="ERP-3",
    )

    with pytest.raises(services.DuplicateExternalReference):
        services.case_create(
            actor=intake,
            shop=blossom_shop,
            violation_type="fake_transaction",
            notice_received_at=timezone.now(),
            external_reference=" ERP-3 ",
        )


def test_the_filter_needs_sign_in_and_the_staff_list_a_staff_role(api, alice, blossom_shop):
    assert api().get(CASES, {"external_reference": "x"}).status_code == 401
    assert api(alice).get(CASES, {"external_reference": "x"}).status_code == 403
    assert api().get(PORTAL_CASES, {"external_reference": "x"}).status_code == 401


def test_a_new_case_takes_its_profile_and_attempt_limit(make_case, blossom_shop):
    profile = PlatformRuleProfile.objects.get(platform="tmall", violation_type="fake_transaction")
    profile.attempt_limit = 3
    profile.save()

    case = make_case(blossom_shop)

    assert case.rule_profile == profile
    assert case.appeal_attempt_limit == 3


def test_every_platform_and_violation_has_a_default_profile(db):
    profiles = PlatformRuleProfile.objects.all()

    assert profiles.count() == 8 * 5
    taobao = profiles.get(platform="taobao", violation_type="fake_transaction")
    assert (taobao.appeal_window_value, taobao.appeal_window_unit, taobao.chat_lookback_days) == (72, "hours", 75)
    assert taobao.required_evidence == {"physical": PHYSICAL, "virtual": VIRTUAL}
    jd = profiles.get(platform="jd", violation_type="fake_transaction")
    assert (jd.appeal_window_value, jd.appeal_window_unit) == (7, "natural_days")


def test_moving_a_case_to_another_platform_takes_that_profile(make_case, blossom_shop, blossom, supervisor):
    jd_shop = ShopFactory.create(organisation=blossom, platform="jd")
    PlatformRuleProfile.objects.filter(platform="jd").update(attempt_limit=1)
    case = make_case(blossom_shop)

    services.case_update_details(case_id=case.pk, actor=supervisor, changes={"shop": jd_shop})

    case.refresh_from_db()
    assert (case.rule_profile.platform, case.appeal_attempt_limit) == ("jd", 1)
    event = CaseEvent.objects.filter(case=case, kind="details_updated").latest("id")
    assert event.new_value["appeal_attempt_limit"] == 1


def test_a_case_without_a_profile_is_refused_with_the_reason(make_case, blossom_shop):
    PlatformRuleProfile.objects.filter(platform="tmall", violation_type="counterfeit").delete()

    with pytest.raises(InvalidInput) as caught:
        make_case(blossom_shop, violation_type="counterfeit")

    assert "violation_type" in caught.value.details["fields"]
