"""factory_boy factories for rows that tests need but do not exercise through services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from agency.accounts.models import Role, Team, User
from agency.organisations.models import Membership, Organisation, Platform, Shop


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda u: u.username.title())
    role = Role.CLIENT
    password = factory.django.Password("pw-for-tests")


class OrganisationFactory(factory.django.DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Merchant {n} Co.")


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    organisation = factory.SubFactory(OrganisationFactory)
    user = factory.SubFactory(UserFactory)


class ShopFactory(factory.django.DjangoModelFactory[Shop]):
    class Meta:
        model = Shop

    organisation = factory.SubFactory(OrganisationFactory)
    platform = Platform.TMALL
    platform_shop_id = factory.Sequence(lambda n: f"SHOP-{n:06d}")
    name = factory.Sequence(lambda n: f"Shop {n}")


def order_data(index: int, *, base: dt.datetime | None = None, **overrides: object) -> dict[str, object]:
    """Input for one flagged order, as the services and the API accept it."""
    base = base or timezone.now() - dt.timedelta(days=10)
    data: dict[str, object] = {
        "platform_order_id": f"39{index:017d}",
        "order_time": base - dt.timedelta(hours=index),
        "amount": Decimal("99.00") + index,
        "currency": "CNY",
        "buyer_handle": f"buyer{index}",
        "goods_type": "physical",
        "courier": "SF Express",
        "tracking_number": f"SF{index:010d}",
    }
    data.update(overrides)
    return data
