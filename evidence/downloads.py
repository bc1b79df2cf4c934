"""Serving an evidence file: streamed from private storage, always as an attachment, never cached."""

from __future__ import annotations

from django.http import FileResponse

from evidence.models import EvidenceItem

# Bytes per read while streaming: large enough to keep system calls few, small enough
# that memory does not grow with the file.
STREAM_BLOCK_BYTES = 64 * 1024


def evidence_file_response(item: EvidenceItem) -> FileResponse:
    """The item's file as a download under its original name, with the content type found from its bytes.

    Callers have already checked that the user may see the item. The headers keep a
    browser from guessing another type (nosniff), from rendering it as a page that runs
    anything (sandbox), and any shared cache from keeping a copy (private, no-store).
    Django writes the name in RFC 6266/5987 form (``filename*=utf-8''...``) when it is
    not plain ASCII, such as 聊天记录.png.
    """
    response = FileResponse(
        item.file.open("rb"),
        as_attachment=True,
        filename=item.original_name,
        content_type=item.content_type,
    )
    response.block_size = STREAM_BLOCK_BYTES
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
