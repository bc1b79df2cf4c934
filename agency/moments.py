"""The range each kind of datetime the agency records may take, and the check that enforces it.

Two kinds of moment come in from people and programs:

* **past** moments, which have happened: an order was placed, a notice or a supplement
  request received, the platform contacted. From 2000-01-01 (before any of the platforms
  penalised shops this way) to now plus a small clock skew, so a client whose clock runs
  a little fast is not refused.
* **due** moments, which a deadline or a key's expiry names: from 2000-01-01 (an appeal
  window already closed when the case is entered is real) to a few years ahead.

Outside the range a value is a typing slip (1900, 9999) that would otherwise be stored,
computed on (a calendar has no data there) or overflow. The same bounds serve the API's
fields and the order import.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# How far ahead of the server's clock a past moment may be: phones and PCs drift.
CLOCK_SKEW = dt.timedelta(minutes=10)
# How far ahead a due time may be.
DUE_HORIZON_YEARS = 5

PAST = "past"
DUE = "due"


def latest(kind: str, now: dt.datetime | None = None) -> dt.datetime:
    now = now or timezone.now()
    if kind == PAST:
        return now + CLOCK_SKEW
    return now + dt.timedelta(days=365 * DUE_HORIZON_YEARS + 2)


def range_error(value: dt.datetime, kind: str, now: dt.datetime | None = None) -> str | None:
    """Why ``value`` is outside the range of its kind, in the reader's language, or None."""
    if value < EARLIEST:
        return _("Must not be before 2000-01-01.")
    if value > latest(kind, now):
        if kind == PAST:
            return _("Must not be in the future.")
        return _("Must be within %(years)d years from now.") % {"years": DUE_HORIZON_YEARS}
    return None


def describe(kind: str) -> str:
    """The range in words, for API documentation (English; the schema has one language)."""
    if kind == PAST:
        return "From 2000-01-01 up to now (a few minutes of clock skew are allowed)."
    return f"From 2000-01-01 up to {DUE_HORIZON_YEARS} years from now."
