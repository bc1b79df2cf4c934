"""The one router shape of every app's URLs: trailing slashes, no API root view of its own."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter


def api_router() -> DefaultRouter:
    router = DefaultRouter(trailing_slash=True)
    router.include_root_view = False
    return router
