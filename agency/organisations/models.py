"""Client organisations (merchants), the users who belong to them, and their shops."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    TAOBAO = "taobao", _("Taobao")
    TMALL = "tmall", _("Tmall")
    ALIBABA_1688 = "1688", _("1688")
    JD = "jd", _("JD")
    PINDUODUO = "pinduoduo", _("Pinduoduo")
    DOUYIN = "douyin", _("Douyin")
    AMAZON = "amazon", _("Amazon")
    OTHER = "other", _("Other")


class Organisation(models.Model):
    """A merchant company that hires the agency."""

    name = models.CharField(max_length=200)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A client user's membership of an organisation: it decides which cases they see."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "user"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation}"


class Shop(models.Model):
    """A shop an organisation runs on a platform; penalties are imposed on shops."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="shops")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    platform_shop_id = models.CharField(max_length=100, help_text=_("The platform's own id for the shop."))
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "platform_shop_id"], name="unique_shop_per_platform")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"
