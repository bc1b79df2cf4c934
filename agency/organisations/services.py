"""Write-side operations on organisations and shops: each checks who may act, then changes."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from agency.accounts.models import Role, User
from agency.accounts.permissions import require_role
from agency.errors import InvalidInput
from agency.organisations.models import Organisation, Shop

# Intake registers new clients; supervisors and administrators may correct them.
ORGANISATION_WRITERS = (Role.INTAKE_SPECIALIST, Role.SUPERVISOR, Role.ADMINISTRATOR)


@transaction.atomic
def organisation_create(*, actor: User, name: str, contact_email: str = "", contact_phone: str = "") -> Organisation:
    require_role(actor, ORGANISATION_WRITERS)
    return Organisation.objects.create(name=name, contact_email=contact_email, contact_phone=contact_phone)


@transaction.atomic
def organisation_update(*, actor: User, organisation: Organisation, changes: dict[str, Any]) -> Organisation:
    require_role(actor, ORGANISATION_WRITERS)
    for name, value in changes.items():
        setattr(organisation, name, value)
    organisation.save()
    return organisation


def _save_shop(shop: Shop) -> Shop:
    try:
        with transaction.atomic():
            shop.save()
    except IntegrityError:
        raise InvalidInput(
            details={"fields": {"platform_shop_id": [_("A shop with this id on this platform already exists.")]}}
        ) from None
    return shop


def shop_create(*, actor: User, organisation: Organisation, platform: str, platform_shop_id: str, name: str) -> Shop:
    require_role(actor, ORGANISATION_WRITERS)
    return _save_shop(Shop(organisation=organisation, platform=platform, platform_shop_id=platform_shop_id, name=name))


def shop_update(*, actor: User, shop: Shop, changes: dict[str, Any]) -> Shop:
    require_role(actor, ORGANISATION_WRITERS)
    organisation = changes.get("organisation")
    if organisation is not None and organisation.pk != shop.organisation_id:
        # Cases record the organisation of their shop; moving a shop would split them.
        raise InvalidInput(details={"fields": {"organisation": [_("A shop cannot move to another organisation.")]}})
    for name, value in changes.items():
        setattr(shop, name, value)
    return _save_shop(shop)
