"""Page-number pagination with a caller-chosen page size, capped to keep pages cheap, read strictly.

DRF ignores a ``page_size`` it cannot read (or clamps one over the cap) and answers 404
for ``page=0``. A client that asked for something else than it got should hear so: a
``page`` or ``page_size`` that is not a whole number in range is a 400 naming the field.
A page past the last one is still a 404, as DRF has it (documented on every list).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import pagination, serializers
from rest_framework.request import Request


def _whole_number(request: Request, name: str, maximum: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1 or (maximum is not None and int(raw) > maximum):
        if maximum is None:
            message = _("Must be a whole number from 1.")
        else:
            message = _("Must be a whole number from 1 to %(maximum)d.") % {"maximum": maximum}
        raise serializers.ValidationError({name: [message]})
    return int(raw)


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        size = _whole_number(request, self.page_size_query_param, self.max_page_size)
        return size if size is not None else self.page_size

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        _whole_number(request, self.page_query_param, None)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
        return parameters
