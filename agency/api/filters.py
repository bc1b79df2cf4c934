"""List filters read strictly: a filter value that cannot be read is a 400, never a filter ignored.

django-filter reads a boolean it does not understand ("null", "maybe") as "no filter", so
a typo answers the whole, unfiltered list as if it were the filtered one. Here a boolean
filter takes true/false (or 1/0) and anything else is a 400 naming the parameter. An
empty value still means "no filter", as an HTML form sends an untouched field.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend

TRUE_VALUES = (True, "true", "True", "1")
FALSE_VALUES = (False, "false", "False", "0")


class StrictNullBooleanField(forms.NullBooleanField):
    # NullBooleanField's select widget maps anything it does not know to None before the
    # field sees it; a text input hands over the value as sent.
    widget = forms.TextInput
    default_error_messages = {"invalid": gettext_lazy("Must be true or false.")}

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]  # None: no filter
        if value in (None, ""):
            return None
        if value in TRUE_VALUES:
            return True
        if value in FALSE_VALUES:
            return False
        raise ValidationError(self.error_messages["invalid"], code="invalid")

    def validate(self, value: Any) -> None:
        return None


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictNullBooleanField


class IdFilter(django_filters.NumberFilter):
    """A row's id: a whole number a database key can hold (1e240 or 1.5 is a 400, not an overflow)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class AgencyFilterSet(django_filters.FilterSet):
    """The project's FilterSet: model booleans get the strict filter too (``filterset_fields``)."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
    }


class AgencyFilterBackend(DjangoFilterBackend):
    filterset_base = AgencyFilterSet
