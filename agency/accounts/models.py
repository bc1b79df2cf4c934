"""Users of the system: agency staff with a role and a team, and client users."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    INTAKE_SPECIALIST = "intake_specialist", _("Intake specialist")
    CASE_MANAGER = "case_manager", _("Case manager")
    EVIDENCE_REVIEWER = "evidence_reviewer", _("Evidence reviewer")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMINISTRATOR = "administrator", _("Administrator")
    CLIENT = "client", _("Client")


STAFF_ROLES = frozenset(role for role in Role if role != Role.CLIENT)
# Roles that see every case in the agency, not only their team's.
AGENCY_WIDE_ROLES = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})


class Team(models.Model):
    """A group of staff who share a caseload: case managers see their team's cases."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(DjangoUserManager["User"]):
    """Django's user manager, but a superuser (``manage.py createsuperuser``) is an administrator.

    ``is_staff`` and ``is_superuser`` are set (and checked) by Django as usual; ``role`` too
    defaults to administrator, where a plain user's defaults to client.
    """

    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra_fields: Any
    ) -> User:
        extra_fields.setdefault("role", Role.ADMINISTRATOR)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """Anyone who signs in. ``role`` says whether it is a staff member or a client user.

    Django's ``is_staff`` flag only opens the admin site; it is not the agency's notion
    of staff, which is any role but ``client``.
    """

    role = models.CharField(max_length=32, choices=Role.choices, default=Role.CLIENT)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    display_name = models.CharField(max_length=150, blank=True)
    # The language of e-mails to this user; the app itself follows Accept-Language.
    preferred_language = models.CharField(
        max_length=16, choices=[("zh-hans", "简体中文"), ("en", "English")], default="zh-hans"
    )
    # Automatic assignment (casework.assignment): the platforms a case manager is trained on
    # (Platform codes), whether they are away, and when they were last given a case.
    platform_skills = models.JSONField(default=list, blank=True)
    is_away = models.BooleanField(default=False, help_text=_("Away staff are not given new cases automatically."))
    last_assigned_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar[UserManager] = UserManager()

    @property
    def is_agency_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_client(self) -> bool:
        return self.role == Role.CLIENT

    @property
    def sees_all_cases(self) -> bool:
        return self.role in AGENCY_WIDE_ROLES

    @property
    def label(self) -> str:
        return self.display_name or self.get_full_name() or self.username
