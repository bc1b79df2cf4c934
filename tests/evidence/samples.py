"""Small files of each kind for evidence tests, and helpers that send them the way clients do."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.middleware.csrf import _get_new_csrf_string
from rest_framework.test import APIClient

from evidence.models import EvidenceItem
from evidence.storage import evidence_storage
from tests.factories import PNG_HEADER


def png(tag: str = "") -> bytes:
    """A PNG signature and header chunk, made unique by ``tag`` so two uploads are not duplicates."""
    return PNG_HEADER + b"\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00" + tag.encode()


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x11" * 32 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00;"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x30" * 24
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run"
# Binary data that no magic number describes.
NOISE = bytes(range(256)) * 4

CHAT = "买家: 请问什么时候发货\n卖家: 今天下午发顺丰, 单号 SF0000000001。\n买家: 收到了, 谢谢\n"
CHAT_CSV = "时间,发送者,内容\n2026-10-01 10:00,买家,请问什么时候发货\n2026-10-01 10:01,卖家,今天发顺丰\n"


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("chat.txt", CHAT)
    return buffer.getvalue()


def upload_file(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def post_upload(
    client: APIClient,
    url: str,
    *,
    name: str,
    content: bytes,
    kind: str = "chat_log",
    order: int | None = None,
    content_type: str = "application/octet-stream",
    **fields: Any,
) -> Any:
    """POST one file as multipart, as a browser or a script would."""
    data: dict[str, Any] = {"file": upload_file(name, content, content_type), "kind": kind, **fields}
    if order is not None:
        data["order"] = order
    return client.post(url, data, format="multipart")


BOUNDARY = "----evidence-test-boundary"


def raw_multipart(*, filename: bytes, content: bytes, fields: dict[str, str]) -> tuple[bytes, str]:
    """A multipart body written by hand, so the file name reaches the server exactly as given.

    Test clients (and Django's own encoder) clean file names before sending; an attacker's
    client does not.
    """
    parts = []
    for key, value in fields.items():
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
        + filename
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + content
        + b"\r\n"
    )
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={BOUNDARY}"


def session_client(user: Any) -> APIClient:
    """A browser-like client: signed in by session cookie, with CSRF checks on and a valid token."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    token = _get_new_csrf_string()
    client.cookies[settings.CSRF_COOKIE_NAME] = token
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client


def stored_files(folder: str = "") -> set[str]:
    """The name of every file in evidence storage now, a folder or a bucket prefix.

    The test settings give each test process its own folder, or its own key prefix when
    evidence is in S3.
    """
    storage = evidence_storage()
    folders, files = storage.listdir(folder)
    names = {f"{folder}/{name}" if folder else name for name in files}
    for sub in folders:
        names |= stored_files(f"{folder}/{sub}" if folder else sub)
    return names


def stored_bytes(item: EvidenceItem) -> bytes:
    """The bytes of the item's file as they are in storage now."""
    with item.file.storage.open(item.file.name, "rb") as stored:
        return bytes(stored.read())


def tamper(item: EvidenceItem, content: bytes) -> None:
    """Replace the item's stored file with other bytes under the same name, as an intruder or a broken disk would."""
    storage = item.file.storage
    storage.delete(item.file.name)
    assert storage.save(item.file.name, ContentFile(content)) == item.file.name


def stream_until_failure(response: Any) -> tuple[bytes, Exception | None]:
    """The bytes a streamed response delivered, and the exception that broke it off (None if it finished)."""
    received: list[bytes] = []
    try:
        for chunk in response.streaming_content:
            received.append(chunk)
    except Exception as exc:
        return b"".join(received), exc
    return b"".join(received), None
