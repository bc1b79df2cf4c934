"""Staff API for organisations and shops (``agency.organisations.api.staff``): who may read and write, validation,
and query counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from agency.accounts.models import User
from agency.organisations.models import Organisation, Shop
from tests.factories import OrganisationFactory, ShopFactory

ORGS = "/api/v1/organisations/"
SHOPS = "/api/v1/shops/"

Api = Callable[..., APIClient]


def org_url(organisation: Organisation) -> str:
    return f"{ORGS}{organisation.pk}/"


def shop_url(shop: Shop) -> str:
    return f"{SHOPS}{shop.pk}/"


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    error: dict[str, Any] = body["error"]
    return error


def assert_invalid_fields(response: Any, *fields: str) -> dict[str, Any]:
    error = assert_error(response, 400, "invalid")
    named: dict[str, Any] = error["details"]["fields"]
    for field in fields:
        assert field in named, named
        assert named[field]
        assert all(isinstance(message, str) for message in named[field])
    return named


# --- Organisations: reading -----------------------------------------------------------------


def test_list_organisations_with_shop_counts(api: Api, manager: User, blossom_shop: Shop, star: Organisation) -> None:
    ShopFactory(organisation=blossom_shop.organisation)
    response = api(manager).get(ORGS)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    rows = {row["name"]: row for row in body["results"]}
    assert rows["Hangzhou Blossom Trading Co."]["shop_count"] == 2
    assert rows["Yiwu Star Crafts Ltd."]["shop_count"] == 0
    assert set(rows["Yiwu Star Crafts Ltd."]) == {
        "id",
        "name",
        "contact_email",
        "contact_phone",
        "shop_count",
        "created_at",
    }


def test_list_is_ordered_by_name_and_can_be_reordered(
    api: Api, reviewer: User, blossom: Organisation, star: Organisation
) -> None:
    client = api(reviewer)
    names = [row["name"] for row in client.get(ORGS).json()["results"]]
    assert names == ["Hangzhou Blossom Trading Co.", "Yiwu Star Crafts Ltd."]
    names = [row["name"] for row in client.get(ORGS, {"ordering": "-name"}).json()["results"]]
    assert names == ["Yiwu Star Crafts Ltd.", "Hangzhou Blossom Trading Co."]


def test_search_organisations_by_name(api: Api, manager: User, blossom: Organisation, star: Organisation) -> None:
    response = api(manager).get(ORGS, {"search": "Blossom"})
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["Hangzhou Blossom Trading Co."]


def test_retrieve_organisation(api: Api, reviewer: User, blossom_shop: Shop) -> None:
    response = api(reviewer).get(org_url(blossom_shop.organisation))
    assert response.status_code == 200
    assert response.json()["name"] == "Hangzhou Blossom Trading Co."
    assert response.json()["shop_count"] == 1


def test_retrieve_missing_organisation_is_404(api: Api, manager: User) -> None:
    assert_error(api(manager).get(f"{ORGS}999999/"), 404, "not_found")


# --- Organisations: who may do what ---------------------------------------------------------


@pytest.mark.parametrize("url", [ORGS, SHOPS])
def test_anonymous_is_401(api: Api, db: None, url: str) -> None:
    assert_error(api().get(url), 401, "not_authenticated")
    assert_error(api().post(url, {"name": "Anon Ltd."}), 401, "not_authenticated")


@pytest.mark.parametrize("url", [ORGS, SHOPS])
def test_client_user_is_403(api: Api, alice: User, blossom_shop: Shop, url: str) -> None:
    client = api(alice)
    assert_error(client.get(url), 403, "permission_denied")
    assert_error(client.get(f"{url}{blossom_shop.pk}/"), 403, "permission_denied")
    assert_error(client.post(url, {"name": "Client Ltd."}), 403, "permission_denied")


@pytest.mark.parametrize("reader", ["manager", "reviewer"])
def test_case_manager_and_reviewer_read_but_do_not_write(
    api: Api, request: pytest.FixtureRequest, reader: str, blossom_shop: Shop
) -> None:
    user: User = request.getfixturevalue(reader)
    client = api(user)
    blossom = blossom_shop.organisation
    assert client.get(ORGS).status_code == 200
    assert client.get(org_url(blossom)).status_code == 200
    assert client.get(SHOPS).status_code == 200
    assert client.get(shop_url(blossom_shop)).status_code == 200

    assert_error(client.post(ORGS, {"name": "Not Allowed Ltd."}), 403, "permission_denied")
    assert_error(client.patch(org_url(blossom), {"name": "Renamed"}), 403, "permission_denied")
    shop_input = {"organisation": blossom.pk, "platform": "jd", "platform_shop_id": "JD-1", "name": "X"}
    assert_error(client.post(SHOPS, shop_input), 403, "permission_denied")
    assert_error(client.patch(shop_url(blossom_shop), {"name": "Renamed"}), 403, "permission_denied")

    assert not Organisation.objects.filter(name="Not Allowed Ltd.").exists()
    assert not Shop.objects.filter(platform_shop_id="JD-1").exists()
    blossom.refresh_from_db()
    blossom_shop.refresh_from_db()
    assert blossom.name == "Hangzhou Blossom Trading Co."
    assert blossom_shop.name == "Blossom Home Tmall Store"


@pytest.mark.parametrize("writer", ["intake", "supervisor", "administrator"])
def test_intake_supervisor_and_administrator_create_organisations(
    api: Api, request: pytest.FixtureRequest, writer: str
) -> None:
    user: User = request.getfixturevalue(writer)
    response = api(user).post(
        ORGS, {"name": "Ningbo Lantern Ltd.", "contact_email": "ops@lantern.example", "contact_phone": "+86 574 1234"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    organisation = Organisation.objects.get(pk=body["id"])
    assert organisation.name == "Ningbo Lantern Ltd."
    assert organisation.contact_email == "ops@lantern.example"
    assert body["shop_count"] == 0
    assert body["created_at"]


def test_partial_update_organisation(api: Api, supervisor: User, blossom_shop: Shop) -> None:
    blossom = blossom_shop.organisation
    response = api(supervisor).patch(org_url(blossom), {"contact_email": "help@blossom.example"})
    assert response.status_code == 200, response.content
    assert response.json()["contact_email"] == "help@blossom.example"
    assert response.json()["shop_count"] == 1
    blossom.refresh_from_db()
    assert blossom.contact_email == "help@blossom.example"
    assert blossom.name == "Hangzhou Blossom Trading Co."


def test_read_only_fields_are_ignored_on_update(api: Api, supervisor: User, blossom: Organisation) -> None:
    response = api(supervisor).patch(org_url(blossom), {"id": 424242, "shop_count": 99})
    assert response.status_code == 200
    assert response.json()["id"] == blossom.pk
    assert response.json()["shop_count"] == 0


def test_put_and_delete_are_not_offered(api: Api, administrator: User, blossom_shop: Shop) -> None:
    client = api(administrator)
    assert_error(client.put(org_url(blossom_shop.organisation), {"name": "X"}), 405, "method_not_allowed")
    assert_error(client.delete(org_url(blossom_shop.organisation)), 405, "method_not_allowed")
    assert_error(client.delete(shop_url(blossom_shop)), 405, "method_not_allowed")
    assert Organisation.objects.filter(pk=blossom_shop.organisation_id).exists()


# --- Organisations: invalid input -----------------------------------------------------------


def test_organisation_without_a_name_is_400(api: Api, intake: User) -> None:
    fields = assert_invalid_fields(api(intake).post(ORGS, {"contact_email": "a@b.example"}), "name")
    assert set(fields) == {"name"}
    assert not Organisation.objects.exists()


def test_organisation_with_a_blank_name_or_bad_email_is_400(api: Api, intake: User) -> None:
    assert_invalid_fields(
        api(intake).post(ORGS, {"name": "", "contact_email": "not-an-email"}), "name", "contact_email"
    )
    assert not Organisation.objects.exists()


def test_partial_update_cannot_blank_the_name(api: Api, supervisor: User, blossom: Organisation) -> None:
    assert_invalid_fields(api(supervisor).patch(org_url(blossom), {"name": ""}), "name")
    blossom.refresh_from_db()
    assert blossom.name == "Hangzhou Blossom Trading Co."


# --- Shops ----------------------------------------------------------------------------------


def shop_input(organisation: Organisation, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "organisation": organisation.pk,
        "platform": "pinduoduo",
        "platform_shop_id": "PDD-778899",
        "name": "Blossom Pinduoduo Outlet",
    }
    data.update(overrides)
    return data


def test_list_and_filter_shops(api: Api, manager: User, blossom_shop: Shop, star_shop: Shop) -> None:
    client = api(manager)
    body = client.get(SHOPS).json()
    assert body["count"] == 2
    assert {row["id"] for row in body["results"]} == {blossom_shop.pk, star_shop.pk}

    by_org = client.get(SHOPS, {"organisation": star_shop.organisation_id}).json()
    assert [row["id"] for row in by_org["results"]] == [star_shop.pk]
    by_platform = client.get(SHOPS, {"platform": "tmall"}).json()
    assert [row["id"] for row in by_platform["results"]] == [blossom_shop.pk]


def test_retrieve_shop(api: Api, reviewer: User, blossom_shop: Shop) -> None:
    response = api(reviewer).get(shop_url(blossom_shop))
    assert response.status_code == 200
    assert response.json() == {
        "id": blossom_shop.pk,
        "organisation": blossom_shop.organisation_id,
        "platform": "tmall",
        "platform_shop_id": blossom_shop.platform_shop_id,
        "name": "Blossom Home Tmall Store",
        "created_at": response.json()["created_at"],
    }


@pytest.mark.parametrize("writer", ["intake", "supervisor"])
def test_create_shop(api: Api, request: pytest.FixtureRequest, writer: str, blossom: Organisation) -> None:
    user: User = request.getfixturevalue(writer)
    response = api(user).post(SHOPS, shop_input(blossom))
    assert response.status_code == 201, response.content
    shop = Shop.objects.get(pk=response.json()["id"])
    assert (shop.organisation_id, shop.platform, shop.platform_shop_id) == (blossom.pk, "pinduoduo", "PDD-778899")
    assert response.json()["organisation"] == blossom.pk


def test_shop_with_unknown_platform_is_400(api: Api, intake: User, blossom: Organisation) -> None:
    fields = assert_invalid_fields(api(intake).post(SHOPS, shop_input(blossom, platform="ebay")), "platform")
    assert set(fields) == {"platform"}
    assert not Shop.objects.exists()


def test_shop_with_missing_fields_is_400(api: Api, intake: User) -> None:
    fields = assert_invalid_fields(api(intake).post(SHOPS, {}), "organisation", "platform", "platform_shop_id", "name")
    assert set(fields) == {"organisation", "platform", "platform_shop_id", "name"}


def test_shop_for_unknown_organisation_is_400(api: Api, intake: User, db: None) -> None:
    response = api(intake).post(
        SHOPS, {"organisation": 999999, "platform": "jd", "platform_shop_id": "JD-1", "name": "Ghost"}
    )
    assert_invalid_fields(response, "organisation")
    assert not Shop.objects.exists()


def test_duplicate_platform_shop_id_is_400_and_creates_nothing(
    api: Api, intake: User, blossom_shop: Shop, star: Organisation
) -> None:
    response = api(intake).post(
        SHOPS, shop_input(star, platform="tmall", platform_shop_id=blossom_shop.platform_shop_id, name="Copycat")
    )
    fields = assert_invalid_fields(response, "platform_shop_id")
    assert set(fields) == {"platform_shop_id"}
    assert Shop.objects.count() == 1
    assert not Shop.objects.filter(name="Copycat").exists()


def test_same_shop_id_on_another_platform_is_fine(api: Api, intake: User, blossom_shop: Shop) -> None:
    data = shop_input(blossom_shop.organisation, platform="jd", platform_shop_id=blossom_shop.platform_shop_id)
    assert api(intake).post(SHOPS, data).status_code == 201
    assert Shop.objects.filter(platform_shop_id=blossom_shop.platform_shop_id).count() == 2


def test_partial_update_shop(api: Api, supervisor: User, blossom_shop: Shop) -> None:
    response = api(supervisor).patch(shop_url(blossom_shop), {"name": "Blossom Flagship"})
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Blossom Flagship"
    blossom_shop.refresh_from_db()
    assert blossom_shop.name == "Blossom Flagship"


def test_partial_update_to_a_taken_shop_id_is_400(api: Api, supervisor: User, blossom_shop: Shop) -> None:
    other: Shop = ShopFactory.create(organisation=blossom_shop.organisation, platform="tmall")
    response = api(supervisor).patch(shop_url(other), {"platform_shop_id": blossom_shop.platform_shop_id})
    assert_invalid_fields(response, "platform_shop_id")
    other_before = other.platform_shop_id
    other.refresh_from_db()
    assert other.platform_shop_id == other_before


def test_partial_update_with_unknown_platform_is_400(api: Api, supervisor: User, blossom_shop: Shop) -> None:
    assert_invalid_fields(api(supervisor).patch(shop_url(blossom_shop), {"platform": "ebay"}), "platform")
    blossom_shop.refresh_from_db()
    assert blossom_shop.platform == "tmall"


def test_shop_cannot_move_to_another_organisation(
    api: Api, supervisor: User, blossom_shop: Shop, star: Organisation
) -> None:
    response = api(supervisor).patch(shop_url(blossom_shop), {"organisation": star.pk, "name": "Moved"})
    fields = assert_invalid_fields(response, "organisation")
    assert set(fields) == {"organisation"}
    blossom_shop.refresh_from_db()
    assert blossom_shop.organisation.name == "Hangzhou Blossom Trading Co."
    assert blossom_shop.name == "Blossom Home Tmall Store"


def test_naming_the_same_organisation_is_not_a_move(api: Api, supervisor: User, blossom_shop: Shop) -> None:
    response = api(supervisor).patch(
        shop_url(blossom_shop), {"organisation": blossom_shop.organisation_id, "name": "Renamed"}
    )
    assert response.status_code == 200, response.content


# --- Query counts ---------------------------------------------------------------------------


@pytest.fixture
def many_shops(db: None) -> None:
    organisations = Organisation.objects.bulk_create(OrganisationFactory.build() for _ in range(120))
    Shop.objects.bulk_create(
        ShopFactory.build(organisation=organisation)
        for organisation in organisations
        for _ in range(2 if organisation.pk % 2 else 1)
    )
    assert Organisation.objects.count() > 100
    assert Shop.objects.count() > 100


def queries_for(client: APIClient, url: str, page_size: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": page_size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size
    return len(queries)


@pytest.mark.parametrize("url", [ORGS, SHOPS])
def test_list_queries_do_not_grow_with_the_page(api: Api, manager: User, many_shops: None, url: str) -> None:
    client = api(manager)
    small = queries_for(client, url, 10)
    large = queries_for(client, url, 100)
    assert small == large
    assert small <= 3
