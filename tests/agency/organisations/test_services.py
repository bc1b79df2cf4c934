"""Organisation and shop services (``agency.organisations.services``): each checks the actor's role itself,
so a caller other than the API (which also gates early) cannot write without it."""

from __future__ import annotations

import pytest

from agency.accounts.models import User
from agency.errors import NotAllowed
from agency.organisations import services
from agency.organisations.models import Organisation, Shop

REFUSED = ["manager", "reviewer", "alice"]
ALLOWED = ["intake", "supervisor", "administrator"]


def _actor(request: pytest.FixtureRequest, name: str) -> User:
    user: User = request.getfixturevalue(name)
    return user


@pytest.mark.parametrize("actor_name", REFUSED)
def test_organisation_create_refuses_other_roles(request: pytest.FixtureRequest, actor_name: str) -> None:
    actor = _actor(request, actor_name)
    before = set(Organisation.objects.values_list("pk", flat=True))

    with pytest.raises(NotAllowed):
        services.organisation_create(actor=actor, name="Ningbo Harbour Goods")

    assert set(Organisation.objects.values_list("pk", flat=True)) == before


@pytest.mark.parametrize("actor_name", REFUSED)
def test_organisation_update_refuses_other_roles(
    request: pytest.FixtureRequest, actor_name: str, blossom: Organisation
) -> None:
    actor = _actor(request, actor_name)

    with pytest.raises(NotAllowed):
        services.organisation_update(actor=actor, organisation=blossom, changes={"name": "Renamed"})

    assert blossom.name == "Hangzhou Blossom Trading Co."
    blossom.refresh_from_db()
    assert blossom.name == "Hangzhou Blossom Trading Co."


@pytest.mark.parametrize("actor_name", REFUSED)
def test_shop_create_refuses_other_roles(
    request: pytest.FixtureRequest, actor_name: str, blossom: Organisation
) -> None:
    actor = _actor(request, actor_name)
    before = set(Shop.objects.values_list("pk", flat=True))

    with pytest.raises(NotAllowed):
        services.shop_create(
            actor=actor, organisation=blossom, platform="jd", platform_shop_id="jd-refused", name="Refused Shop"
        )

    assert set(Shop.objects.values_list("pk", flat=True)) == before


@pytest.mark.parametrize("actor_name", REFUSED)
def test_shop_update_refuses_other_roles(request: pytest.FixtureRequest, actor_name: str, blossom_shop: Shop) -> None:
    actor = _actor(request, actor_name)

    with pytest.raises(NotAllowed):
        services.shop_update(actor=actor, shop=blossom_shop, changes={"name": "Renamed"})

    assert blossom_shop.name == "Blossom Home Tmall Store"
    blossom_shop.refresh_from_db()
    assert blossom_shop.name == "Blossom Home Tmall Store"


@pytest.mark.parametrize("actor_name", ALLOWED)
def test_the_writer_roles_create_and_update(
    request: pytest.FixtureRequest, actor_name: str, blossom: Organisation
) -> None:
    actor = _actor(request, actor_name)

    organisation = services.organisation_create(actor=actor, name="Ningbo Harbour Goods")
    services.organisation_update(actor=actor, organisation=organisation, changes={"contact_phone": "0574-0000"})
    shop = services.shop_create(
        actor=actor, organisation=organisation, platform="jd", platform_shop_id="jd-1", name="Harbour JD"
    )
    services.shop_update(actor=actor, shop=shop, changes={"name": "Harbour JD Store"})

    organisation.refresh_from_db()
    shop.refresh_from_db()
    assert organisation.contact_phone == "0574-0000"
    assert (shop.organisation_id, shop.name) == (organisation.pk, "Harbour JD Store")


def test_the_writer_roles_are_the_ones_the_api_gates_with() -> None:
    from agency.organisations.api.staff import OrganisationViewSet, ShopViewSet

    assert OrganisationViewSet.write_roles is services.ORGANISATION_WRITERS
    assert ShopViewSet.write_roles is services.ORGANISATION_WRITERS
