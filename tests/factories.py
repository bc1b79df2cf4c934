"""factory_boy factories for rows that tests need but do not exercise through services."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from agency.accounts.models import Role, Team, User
from agency.organisations.models import Membership, Organisation, Platform, Shop
from cases.models import Case, FlaggedOrder
from evidence.models import EvidenceItem


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


def evidence_item(
    case: Case,
    *,
    order: FlaggedOrder | None,
    kind: str,
    uploaded_by: User,
    content: bytes | None = None,
    review_state: str = "accepted",
    original_name: str = "evidence.png",
    content_type: str = "image/png",
) -> EvidenceItem:
    """An evidence row with a real stored file, for tests that need evidence but do not test uploading."""
    data = content if content is not None else PNG_HEADER + f"{case.pk}-{order and order.pk}-{kind}".encode()
    item = EvidenceItem(
        case=case,
        order=order,
        kind=kind,
        original_name=original_name,
        size=len(data),
        content_type=content_type,
        sha256=hashlib.sha256(data).hexdigest(),
        source="client" if uploaded_by.role == Role.CLIENT else "staff",
        uploaded_by=uploaded_by,
        review_state=review_state,
        review_reason="Not legible." if review_state == "rejected" else "",
        reviewed_by=None if review_state == "pending" else uploaded_by,
        reviewed_at=None if review_state == "pending" else timezone.now(),
    )
    item.file.save(original_name, ContentFile(data), save=False)
    item.save()
    return item


# The eight bytes that open every PNG file, so that type detection sees an image.
PNG_HEADER = b"\x89PNG\r\n\x1a\n"
