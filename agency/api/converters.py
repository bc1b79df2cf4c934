"""The ``<id:...>`` path converter of every app's URLs, registered when this module is imported.

agency.urls imports it before it includes any app's URLs; each app's ``api/urls.py`` that
uses ``<id:...>`` imports it as well, so that it can be imported on its own.
"""

from __future__ import annotations

from django.urls import register_converter


class IdConverter:
    """Positive bigint ids only: a longer number is a 404 here, not an overflow in the database."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")
