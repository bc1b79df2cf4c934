"""Helpers the workflows tests share."""

from __future__ import annotations

import datetime as dt

NEW_YEAR_2027 = dt.date(2027, 1, 1)
NATIONAL_DAY_2026 = dt.date(2026, 10, 1)
