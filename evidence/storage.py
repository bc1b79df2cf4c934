"""Private storage for evidence files: never under MEDIA_URL, never served by the web server.

Two backends, chosen in ``STORAGES["evidence"]`` (agency/settings.py): a private folder
(the default) or, when ``EVIDENCE_S3_BUCKET`` is set, an S3-compatible bucket (AWS S3,
Aliyun OSS, Tencent COS, MinIO) through django-storages. Either way a file has no public
URL: it leaves storage only through the application's authorised download endpoints.
"""

from __future__ import annotations

import uuid
from typing import Any

from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]
from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from storages.backends.s3 import S3Storage  # type: ignore[import-untyped]

# A file read back from the bucket is spooled to a temporary file on disk past this size,
# so a download or a dossier holds at most this much of one file in memory (django-storages'
# default, 0, would keep the whole object in memory).
S3_SPOOL_MEMORY_BYTES = 1024 * 1024
# Uploads above the threshold go up in parts of this size, at most two at a time, each
# part read into memory once: an upload holds about 2 x 8 MB whatever the file's size.
# Smaller files are streamed from their temporary file in a single PUT.
S3_MULTIPART_BYTES = 8 * 1024 * 1024
S3_UPLOAD_CONCURRENCY = 2


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


class PrivateS3Storage(S3Storage):
    """django-storages' S3 backend, locked down for evidence.

    Objects are written with no ACL (the bucket's own, private, policy applies), never
    overwrite one another, and have no URL of any kind: ``url`` refuses even a signed one,
    so every download goes through the application, which checks who asks and verifies
    the bytes against the recorded SHA-256.
    """

    def __init__(self, **options: Any) -> None:
        options["default_acl"] = None
        options["querystring_auth"] = True
        options["file_overwrite"] = False
        options.setdefault("max_memory_size", S3_SPOOL_MEMORY_BYTES)
        options.setdefault(
            "transfer_config",
            TransferConfig(
                multipart_threshold=S3_MULTIPART_BYTES,
                multipart_chunksize=S3_MULTIPART_BYTES,
                max_concurrency=S3_UPLOAD_CONCURRENCY,
            ),
        )
        super().__init__(**options)

    def url(self, name: str | None, parameters: Any = None, expire: Any = None, http_method: Any = None) -> str:
        raise NotImplementedError("Evidence files have no public URL; use the download endpoint.")
