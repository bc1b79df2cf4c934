"""OPTIONS answers and browsable HTML pages for views that load their rows in the handler.

Many of our views are ``GenericAPIView``s without a ``queryset``: they call a selector
that scopes the rows to the caller, as every view should. DRF's OPTIONS metadata and the
browsable API's filter form assume a ``queryset`` (or ``get_queryset``) and fail with an
AssertionError, a 500, on such views. These two classes skip exactly that introspection
there and keep DRF's behaviour everywhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.metadata import SimpleMetadata
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView


def has_queryset(view: APIView) -> bool:
    """Whether DRF can ask the view for its rows: a queryset attribute or a get_queryset of its own.

    Read off the class rather than by importing rest_framework.generics: DRF imports this
    module while it defines its views (they read the renderer and metadata settings).
    """
    if getattr(view, "queryset", None) is not None:
        return True
    for klass in type(view).__mro__:
        if "get_queryset" in vars(klass):
            return klass.__module__ != "rest_framework.generics"
    return False


class AgencyMetadata(SimpleMetadata):
    """DRF's OPTIONS answer; views without a queryset describe their input without the object check.

    SimpleMetadata calls ``get_object()`` before describing a PUT, to leave out what the
    caller may not change. Our views check objects in their services, so there is no
    ``get_object()`` to call; the description of the input is the same either way.
    """

    def determine_actions(self, request: Request, view: APIView) -> dict[str, Any]:
        if hasattr(view, "get_object") and not has_queryset(view):
            view.get_object = lambda: None
        actions: dict[str, Any] = super().determine_actions(request, view)
        return actions


class AgencyBrowsableAPIRenderer(BrowsableAPIRenderer):
    """The browsable API without the filter form on views that have no queryset to filter."""

    def get_filter_form(self, data: Any, view: APIView, request: Request) -> Any:
        if not has_queryset(view):
            return None
        return super().get_filter_form(data, view, request)
