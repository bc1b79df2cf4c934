"""The client pages' forms: Django forms, so errors come back beside the field in the reader's language."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.services import DECISION_NOTE_LIMIT
from casework.conversation import MESSAGE_MAX_CHARS


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        max_length=MESSAGE_MAX_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class QuoteDecisionForm(forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("A note for us (optional)"),
        max_length=DECISION_NOTE_LIMIT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class TaskStatusForm(forms.Form):
    status = forms.ChoiceField(choices=[("in_progress", _("Started")), ("done", _("Done"))])


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Why are you withdrawing the case? (optional)"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    expected_state = forms.CharField(widget=forms.HiddenInput, required=False)


class UploadForm(forms.Form):
    """Which requested item the files are for; the files themselves arrive through the upload handler."""

    item = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
