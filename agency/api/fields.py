"""Serializer fields with the project's rules for input: datetimes in range, booleans never implied."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

from agency import moments


class StrictBooleanField(serializers.BooleanField):
    """A boolean that is never implied by its absence.

    DRF reads a boolean missing from a form (multipart or urlencoded) as False, the way an
    unticked HTML checkbox is sent. For an API that turns "not sent" into "set to false":
    a form POST without ``is_away`` would mark a person present, and a form PATCH without
    ``active`` would switch a webhook off. Here a missing boolean is missing in forms as in
    JSON: required ones answer 400, optional ones keep their default or the stored value.
    """

    default_empty_html = empty


_SECONDS_OFFSET = re.compile(r"[+-]\d{2}:\d{2}:\d{2}(?:\.\d+)?$")


class DateTimeField(serializers.DateTimeField):
    """DRF's datetime, written as RFC 3339 whatever the stored value: offsets of whole minutes only.

    In the agency's time zone a moment before 1901 has the local mean time offset
    +08:05:43, which RFC 3339 cannot express (and strict parsers refuse). Such a moment is
    written in UTC instead. Inputs are kept in range (MomentField), so this guards rows
    that came another way, such as the admin or an old import.
    """

    def to_representation(self, value: Any) -> Any:
        text = super().to_representation(value)
        if isinstance(value, dt.datetime) and isinstance(text, str) and _SECONDS_OFFSET.search(text):
            return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return text


class MomentField(DateTimeField):
    """A datetime within the range of its kind (``agency.moments``), said in the schema and enforced.

    A value outside it is a 400 naming the field. The conversion to the field's time zone
    is guarded too: 9999-12-31 with a negative offset overflows Python's datetime.
    """

    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        help_text = str(kwargs.pop("help_text", "") or "")
        kwargs["help_text"] = f"{help_text} {moments.describe(kind)}".strip()
        super().__init__(**kwargs)

    def enforce_timezone(self, value: dt.datetime) -> dt.datetime:
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]")
            raise  # unreachable: fail() raises

    def to_internal_value(self, value: Any) -> dt.datetime:
        moment = super().to_internal_value(value)
        problem = moments.range_error(moment, self.kind)
        if problem is not None:
            raise serializers.ValidationError(problem)
        return moment


def PastMomentField(**kwargs: Any) -> MomentField:  # noqa: N802 - used like a field class
    """A moment that has happened: not before 2000, not in the future beyond clock skew."""
    return MomentField(kind=moments.PAST, **kwargs)


def DueMomentField(**kwargs: Any) -> MomentField:  # noqa: N802 - used like a field class
    """A due time: not before 2000, not more than a few years ahead."""
    return MomentField(kind=moments.DUE, **kwargs)


class UnsetChoiceField(serializers.ChoiceField):
    """A read-only choice a record may not have yet: null then, never "" outside the enum.

    Models keep an unset choice as a blank string; the contract says null, which a
    generated client reads as "none" instead of failing on a value its enum lacks.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        return None if value in ("", None) else super().to_representation(value)
