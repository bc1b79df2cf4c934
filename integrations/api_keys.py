"""API keys: making one (with the user it acts as), revoking it, and the administrators' view of them."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import Role, User
from agency.accounts.permissions import require_role
from agency.errors import InvalidInput, NotFound
from agency.organisations.models import Membership, Organisation
from integrations.models import ApiKey, KeyPermission

# Only administrators hand out keys: a key is a standing credential outside anyone's session.
# The API's gate (IsAdministrator) reads this too.
KEY_ADMINISTRATORS = (Role.ADMINISTRATOR,)
NAME_MAX_LENGTH = 50


def api_key_list(*, actor: User) -> QuerySet[ApiKey]:
    """Every key, newest first; the plaintext is never stored, so it cannot be listed."""
    require_role(actor, KEY_ADMINISTRATORS, message=_("Only administrators manage API keys."))
    return ApiKey.objects.select_related("organisation", "created_by").order_by("-created", "prefix")


def api_key_get(*, actor: User, key_id: str) -> ApiKey:
    """One key by its public id, the prefix (the primary key embeds the hash, so it stays internal)."""
    key = api_key_list(actor=actor).filter(prefix=key_id).first()
    if key is None:
        raise NotFound()
    return key


def _validate(
    *, name: str, organisation_id: int | None, permission: str, expiry_date: dt.datetime | None
) -> Organisation | None:
    """Check every field and report all problems in one answer."""
    fields: dict[str, list[str]] = {}
    if not name.strip():
        fields["name"] = [_("This field may not be blank.")]
    elif len(name) > NAME_MAX_LENGTH:
        fields["name"] = [_("Ensure this field has no more than 50 characters.")]
    if permission not in KeyPermission.values:
        fields["permission"] = [_("Not a valid permission.")]
    if expiry_date is not None and expiry_date <= timezone.now():
        fields["expiry_date"] = [_("The expiry date must be in the future.")]
    organisation = None
    if organisation_id is not None:
        organisation = Organisation.objects.filter(pk=organisation_id).first()
        if organisation is None:
            fields["organisation"] = [_("No such organisation.")]
    if fields:
        raise InvalidInput(details={"fields": fields})
    return organisation


@transaction.atomic
def api_key_create(
    *,
    actor: User,
    name: str,
    organisation_id: int | None,
    permission: str,
    expiry_date: dt.datetime | None = None,
) -> tuple[ApiKey, str]:
    """Make a key and the user it acts as; return the key and its plaintext, which is shown only now.

    An organisation-scoped key acts as a client user who is a member of that organisation,
    so every client scope in the portal applies to it unchanged. An agency-wide key acts as
    a supervisor and sees every case. The principal has no usable password, so nobody can
    sign in as it or exchange it for a token.
    """
    require_role(actor, KEY_ADMINISTRATORS, message=_("Only administrators manage API keys."))
    organisation = _validate(name=name, organisation_id=organisation_id, permission=permission, expiry_date=expiry_date)
    key = ApiKey(
        name=name.strip(),
        organisation=organisation,
        permission=permission,
        expiry_date=expiry_date,
        created_by=actor,
    )
    plaintext = ApiKey.objects.assign_key(key)
    principal = User(
        username=f"apikey-{key.prefix}",
        display_name=key.name,
        role=Role.CLIENT if organisation is not None else Role.SUPERVISOR,
    )
    principal.set_unusable_password()
    principal.save()
    if organisation is not None:
        Membership.objects.create(organisation=organisation, user=principal)
    key.principal = principal
    key.save()
    return key, plaintext


@transaction.atomic
def api_key_revoke(*, actor: User, key_id: str) -> ApiKey:
    """Revoke a key for good and deactivate its principal; revoking twice changes nothing."""
    require_role(actor, KEY_ADMINISTRATORS, message=_("Only administrators manage API keys."))
    key = ApiKey.objects.select_for_update().filter(prefix=key_id).first()
    if key is None:
        raise NotFound()
    if key.revoked:
        return key
    key.revoked = True
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked", "revoked_at"])
    User.objects.filter(pk=key.principal_id).update(is_active=False)
    return key
