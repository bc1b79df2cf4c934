"""What every page's header needs: the unread count and the language switch."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from workflows.notifications import notification_unread_count


def page(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)

    def unread() -> int:
        # A callable: templates that never show the count (admin, the browsable API) cost no query.
        if user is None or not user.is_authenticated:
            return 0
        return notification_unread_count(user=user)

    return {
        "unread_notifications": unread,
        "page_languages": [(code, label) for code, label in settings.LANGUAGES],
    }
