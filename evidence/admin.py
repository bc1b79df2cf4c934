"""Admin for evidence: read-only, because uploads, reviews and requests write the case history; the checks are
the worker's to write. The reference data administrators keep (kind keywords, check rules) is edited through
the same services as the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from cases.admin import ReadOnlyAdmin
from evidence import checks, keywords
from evidence.models import (
    EvidenceBatch,
    EvidenceCheck,
    EvidenceCheckRule,
    EvidenceFinding,
    EvidenceItem,
    EvidenceRequest,
    EvidenceRequestItem,
    KindKeywords,
)


@admin.register(EvidenceItem)
class EvidenceItemAdmin(ReadOnlyAdmin):
    list_display = ("id", "case", "order", "kind", "original_name", "size", "review_state", "uploaded_at")
    list_filter = ("kind", "review_state", "source")
    search_fields = ("case__reference", "order__platform_order_id", "sha256", "original_name")
    list_select_related = ("case", "order")
    exclude = ("file",)


class EvidenceRequestItemInline(admin.TabularInline):
    model = EvidenceRequestItem
    extra = 0
    can_delete = False
    fields = ("order", "kind", "fulfilled_by")
    readonly_fields = fields
    max_num = 0


@admin.register(EvidenceRequest)
class EvidenceRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "case", "status", "due_at", "created_by", "created_at")
    list_filter = ("status",)
    search_fields = ("case__reference",)
    list_select_related = ("case", "created_by")
    inlines = (EvidenceRequestItemInline,)


@admin.register(EvidenceRequestItem)
class EvidenceRequestItemAdmin(ReadOnlyAdmin):
    list_display = ("id", "request", "order", "kind", "fulfilled_by")
    list_select_related = ("request", "order")


@admin.register(EvidenceBatch)
class EvidenceBatchAdmin(ReadOnlyAdmin):
    list_display = ("id", "case", "status", "archive_name", "stored_count", "source", "created_at", "committed_at")
    list_filter = ("status", "source")
    search_fields = ("case__reference", "archive_name", "archive_sha256")
    list_select_related = ("case",)
    exclude = ("archive", "preview")


class KindKeywordsForm(forms.ModelForm):
    def clean_keywords(self) -> Any:
        words = self.cleaned_data["keywords"]
        if not isinstance(words, list):
            raise forms.ValidationError("Give a list of words.")
        problems = keywords.keyword_problems(self.instance.kind, words)
        if problems:
            raise forms.ValidationError(problems)
        return [word.strip() for word in words]


@admin.register(KindKeywords)
class KindKeywordsAdmin(admin.ModelAdmin):
    """The words that name each evidence kind in bulk uploads: reference data administrators keep, as the API does."""

    form = KindKeywordsForm
    list_display = ("kind", "keywords", "updated_at", "updated_by")
    readonly_fields = ("kind", "updated_at", "updated_by")
    fields = ("kind", "keywords", "updated_at", "updated_by")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: KindKeywords, form: Any, change: bool) -> None:
        keywords.kind_keywords_update(kind=obj.kind, actor=request.user, words=obj.keywords)  # type: ignore[arg-type]


class EvidenceFindingInline(admin.TabularInline):
    model = EvidenceFinding
    extra = 0
    can_delete = False
    # No snippet: a line of the file's text, which only those who may see the file read (the API).
    fields = ("name", "result", "expected", "found", "page", "line")
    readonly_fields = fields
    max_num = 0


@admin.register(EvidenceCheck)
class EvidenceCheckAdmin(ReadOnlyAdmin):
    """What reading each file found; written only by the check worker (evidence.checks).

    Without the text read, as the item's admin is without its file: the text is read
    through the API, by staff who can see the case.
    """

    list_display = ("id", "item", "state", "outcome", "method", "pages_read", "attempts", "checked_at")
    list_filter = ("state", "outcome", "method")
    search_fields = ("item__case__reference", "item__order__platform_order_id")
    list_select_related = ("item",)
    exclude = ("lease_token", "text")
    inlines = (EvidenceFindingInline,)


@admin.register(EvidenceFinding)
class EvidenceFindingAdmin(ReadOnlyAdmin):
    list_display = ("id", "evidence_check", "name", "result", "expected", "found", "page", "line")
    exclude = ("snippet",)
    list_filter = ("name", "result")
    list_select_related = ("evidence_check",)


class EvidenceCheckRuleForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        problems = checks.rule_problems(cleaned.get("groups"), cleaned.get("window_hours"))
        for name, messages in problems.items():
            if name not in self.errors:  # a value the form could not read has its message already
                self.add_error(name, messages)
        return cleaned


@admin.register(EvidenceCheckRule)
class EvidenceCheckRuleAdmin(admin.ModelAdmin):
    """How each kind is compared with its order: reference data administrators keep, as the API does.

    Saved through ``rule_update``, so a change has the kind's items compared again. Kinds
    without a rule get one through the API (PUT /api/v1/evidence-check-rules/{kind}/).
    """

    form = EvidenceCheckRuleForm
    list_display = ("kind", "groups", "window_hours", "updated_at", "updated_by")
    readonly_fields = ("kind", "updated_at", "updated_by")
    fields = ("kind", "groups", "window_hours", "updated_at", "updated_by")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: EvidenceCheckRule, form: Any, change: bool) -> None:
        checks.rule_update(
            actor=request.user,  # type: ignore[arg-type]
            kind=obj.kind,
            groups=obj.groups,
            window_hours=obj.window_hours,
        )
