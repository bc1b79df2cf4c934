"""Private storage for evidence files: never under MEDIA_URL, never served by the web server."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages


def evidence_storage() -> Storage:
    """The storage named ``evidence`` in STORAGES (a private folder by default)."""
    return storages["evidence"]


def random_name(instance: Any, filename: str) -> str:
    """A random path: the user's file name never reaches the file system."""
    token = uuid.uuid4().hex
    return f"{token[:2]}/{token[2:4]}/{token}"


class PrivateFileSystemStorage(FileSystemStorage):
    """A folder with no public URL; files leave it only through the authorised download endpoint."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("location", settings.EVIDENCE_ROOT)
        kwargs["base_url"] = None
        super().__init__(**kwargs)

    def url(self, name: str | None) -> str:
        raise NotImplementedError("Evidence files have no public URL; use the download endpoint.")
