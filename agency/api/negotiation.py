"""Content negotiation that answers 406 for a format the endpoint does not offer.

DRF answers an unknown ``?format=`` with a 404, as if the resource did not exist. The
resource does exist; the representation asked for does not, which is what 406 means.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request


class AgencyContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except Http404 as exc:
            if format_suffix:
                # A suffix route (/cases/1.xml/) names a path that does not exist: 404 stands.
                raise
            raise NotAcceptable(available_renderers=renderers) from exc
