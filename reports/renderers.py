"""CSV for reports: the columns as a header, then one line per row, in UTF-8 with a BOM for Excel."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer

# Excel reads a CSV file as the system's legacy code page (GBK on Chinese Windows) unless
# it starts with a UTF-8 byte order mark; with it, Chinese labels open as written.
BOM = "\ufeff"


def csv_value(value: Any) -> str:
    """One cell: empty for nothing, true/false, lists joined with semicolons, times in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(csv_value(item) for item in value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


class ReportCSVRenderer(BaseRenderer):
    """Renders a report's ``columns`` and ``rows``; the report's view answers errors as JSON instead."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        buffer = io.StringIO()
        buffer.write(BOM)
        if isinstance(data, dict) and "columns" in data and "rows" in data:
            columns = list(data["columns"])
            writer = csv.writer(buffer, lineterminator="\r\n")
            writer.writerow(columns)
            for row in data["rows"]:
                writer.writerow([csv_value(row.get(column)) for column in columns])
        return buffer.getvalue().encode("utf-8")
