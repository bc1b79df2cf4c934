"""Evidence in an S3-compatible bucket: uploads, downloads and the dossier against a real S3 server.

These run only when ``EVIDENCE_S3_ENDPOINT_URL`` is set (with ``EVIDENCE_S3_BUCKET`` and
the other ``EVIDENCE_S3_*`` variables), as ``.ci/run`` does against moto's S3 server; the
test settings give each test process its own key prefix and tests/conftest.py creates the
bucket. Every other evidence test also runs on the bucket then, through the same storage.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import re
import zipfile
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError

from cases.models import Case, FlaggedOrder
from evidence import services
from evidence.dossier import DossierIntegrityError
from evidence.downloads import StoredFileMismatch
from evidence.models import EvidenceItem
from evidence.storage import PrivateS3Storage, evidence_storage
from tests.evidence.samples import CHAT, png, post_upload, stream_until_failure, upload_file

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("EVIDENCE_S3_ENDPOINT_URL"),
        reason="needs an S3-compatible server; set EVIDENCE_S3_ENDPOINT_URL and EVIDENCE_S3_BUCKET, as CI does",
    ),
    pytest.mark.django_db,
]


@pytest.fixture
def storage() -> PrivateS3Storage:
    storage = evidence_storage()
    assert isinstance(storage, PrivateS3Storage), "EVIDENCE_S3_BUCKET must be set with EVIDENCE_S3_ENDPOINT_URL"
    return storage


def s3(storage: PrivateS3Storage) -> Any:
    return storage.connection.meta.client


def key_of(storage: PrivateS3Storage, item: EvidenceItem) -> str:
    return f"{storage.location}/{item.file.name}" if storage.location else item.file.name


def bucket_bytes(storage: PrivateS3Storage, item: EvidenceItem) -> bytes:
    return bytes(s3(storage).get_object(Bucket=storage.bucket_name, Key=key_of(storage, item))["Body"].read())


def upload(api: Any, user: Any, case: Case, order: FlaggedOrder, content: bytes, name: str) -> EvidenceItem:
    response = post_upload(api(user), f"/api/v1/cases/{case.pk}/evidence/", name=name, content=content, order=order.pk)
    assert response.status_code == 201, response.content
    return EvidenceItem.objects.get(pk=response.json()["id"])


def download(api: Any, user: Any, item: EvidenceItem) -> Any:
    return api(user).get(f"/api/v1/evidence/{item.pk}/download/")


def test_an_upload_lands_in_the_bucket_under_a_random_private_key(api, case, order, manager, storage):
    content = png("bucket")
    item = upload(api, manager, case, order, content, "顺丰面单.png")

    assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}", item.file.name)
    key = key_of(storage, item)
    assert "顺丰" not in key
    assert "png" not in key
    assert bucket_bytes(storage, item) == content
    assert hashlib.sha256(bucket_bytes(storage, item)).hexdigest() == item.sha256
    # No ACL grants anyone but the owner: the bucket's private default applies.
    grants = s3(storage).get_object_acl(Bucket=storage.bucket_name, Key=key)["Grants"]
    assert all(grant["Grantee"].get("Type") == "CanonicalUser" for grant in grants), grants


def test_the_download_returns_the_same_bytes_from_the_bucket(api, case, order, manager, storage):
    content = CHAT.encode() * 50
    item = upload(api, manager, case, order, content, "chat.txt")

    response = download(api, manager, item)

    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body == content
    assert hashlib.sha256(body).hexdigest() == item.sha256
    assert response["Content-Length"] == str(len(content))


def test_a_file_larger_than_a_multipart_part_goes_up_in_parts_and_comes_back_whole(case, order, manager, storage):
    line = "买家: 请问什么时候发货, 卖家: 今天下午发顺丰\n".encode()
    content = line * (9 * 1024 * 1024 // len(line) + 1)  # over the 8 MB multipart threshold
    item = services.evidence_upload(
        case_id=case.pk, actor=manager, file=upload_file("chat.txt", content), kind="chat_log", order_id=order.pk
    )

    head = s3(storage).head_object(Bucket=storage.bucket_name, Key=key_of(storage, item))
    assert head["ContentLength"] == len(content)
    assert "-" in head["ETag"]  # a multipart upload's ETag ends in -<parts>
    with storage.open(item.file.name, "rb") as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == item.sha256 == hashlib.sha256(content).hexdigest()


def test_the_dossier_streams_the_files_from_the_bucket(api, case, order, manager, storage):
    content = png("dossier")
    item = upload(api, manager, case, order, content, "slip.png")
    EvidenceItem.objects.filter(pk=item.pk).update(review_state="accepted")

    response = api(manager).get(f"/api/v1/cases/{case.pk}/dossier/")

    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    (row,) = [row for row in manifest if row["evidence_item_id"] == str(item.pk)]
    assert row["sha256"] == item.sha256
    assert archive.read(row["path"]) == content


def test_an_object_changed_in_the_bucket_is_caught_on_download_and_in_the_dossier(
    api, case, order, manager, storage, caplog
):
    content = png("original")
    item = upload(api, manager, case, order, content, "slip.png")
    EvidenceItem.objects.filter(pk=item.pk).update(review_state="accepted")
    tampered = png("tampered")  # same length, other bytes
    s3(storage).put_object(Bucket=storage.bucket_name, Key=key_of(storage, item), Body=tampered)

    response = download(api, manager, item)
    assert response.status_code == 200  # the headers left before the file was read
    with caplog.at_level(logging.ERROR, logger="evidence.downloads"):
        received, error = stream_until_failure(response)
    assert isinstance(error, StoredFileMismatch)
    assert len(received) < len(tampered)  # never the whole file
    assert f"evidence item {item.pk}" in caplog.text

    dossier = api(manager).get(f"/api/v1/cases/{case.pk}/dossier/")
    with pytest.raises(DossierIntegrityError):
        b"".join(dossier.streaming_content)

    report = io.StringIO()
    with pytest.raises(CommandError):
        call_command("evidence_verify", "--case", str(case.pk), stdout=report)
    assert f"evidence item {item.pk} " in report.getvalue()


def test_the_storage_has_no_urls_and_never_overwrites(storage):
    name = storage.save("ab/cd/same-name", ContentFile(b"first"))
    second = storage.save("ab/cd/same-name", ContentFile(b"second"))
    try:
        assert second != name
        with storage.open(name, "rb") as stored:
            assert stored.read() == b"first"
        with pytest.raises(NotImplementedError):
            storage.url(name)
    finally:
        storage.delete(name)
        storage.delete(second)
    assert not storage.exists(name)
