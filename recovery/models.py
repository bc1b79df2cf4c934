"""Reputation recovery: plans built from an editable template, with tasks and check-ins.

Administrators edit templates (tasks with an owner and a due offset, and the check-in
days). When a case starts reputation recovery, a plan is copied from the template that
fits its platform; staff then adjust its tasks. Each check-in is a ``recovery_check_in``
deadline. ``close`` from reputation recovery needs the plan done (every task done and
every check-in met) or waived with a reason.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agency.organisations.models import Platform


def default_check_in_days() -> list[int]:
    return [7, 30, 90]


class TaskOwner(models.TextChoices):
    CLIENT = "client", _("The client")
    STAFF = "staff", _("The agency")


class TaskStatus(models.TextChoices):
    TODO = "todo", _("To do")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")


class RecoveryTemplate(models.Model):
    name = models.CharField(max_length=200)
    # Blank: any platform. A platform's own template is preferred to the general one.
    platform = models.CharField(max_length=16, choices=Platform.choices, blank=True)
    check_in_days = models.JSONField(default=default_check_in_days)
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["platform", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform"], condition=Q(is_active=True), name="one_active_template_per_platform"
            )
        ]

    def __str__(self) -> str:
        return self.name


class RecoveryTemplateTask(models.Model):
    template = models.ForeignKey(RecoveryTemplate, on_delete=models.CASCADE, related_name="tasks")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.CharField(max_length=16, choices=TaskOwner.choices)
    due_days = models.PositiveSmallIntegerField(help_text=_("Days after the plan starts."))

    class Meta:
        ordering = ["template", "position", "id"]

    def __str__(self) -> str:
        return self.title


class RecoveryPlan(models.Model):
    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="recovery_plan")
    template = models.ForeignKey(
        RecoveryTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="plans"
    )
    started_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    waived_at = models.DateTimeField(null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    waiver_reason = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"recovery plan of {self.case_id}"


class RecoveryTask(models.Model):
    plan = models.ForeignKey(RecoveryPlan, on_delete=models.PROTECT, related_name="tasks")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.CharField(max_length=16, choices=TaskOwner.choices)
    # For a staff task, who does it (the case's assignee unless changed).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    due_date = models.DateField()
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.TODO)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plan", "position", "id"]

    def __str__(self) -> str:
        return self.title
