"""Bulk evidence over the API: send an archive for a case's orders, follow its reading, commit or cancel it.

Staff: ``POST /cases/{id}/evidence/bulk/`` (and GET: the case's batches), then
``/evidence-batches/{id}/`` with ``commit/`` and ``cancel/``. The portal has the same
under ``/portal/``, for the client users of the case's organisation, who see only what
their side sent. The keywords that name the kinds are ``/evidence-kind-keywords/``.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.permissions import HasStaffRole, IsAgencyStaff, IsClientUser, current_user
from agency.api.schema import ErrorSerializer
from cases import selectors as case_selectors
from cases.kinds import EvidenceKind
from evidence import batches, keywords
from evidence.api.base import CASE_ID_PARAMETER
from evidence.models import BatchStatus, EvidenceBatch, KindKeywords
from evidence.uploads import install_bulk_upload_handler
from integrations.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotency_responses, idempotent

# --- Input ----------------------------------------------------------------------------------------


class MappingField(serializers.JSONField):
    """A JSON object, sent as a JSON string in a multipart form or as an object in a JSON body."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else {}
            except ValueError:
                raise serializers.ValidationError("Send the mapping as a JSON object.") from None
        if not isinstance(data, dict):
            raise serializers.ValidationError("Send the mapping as a JSON object.")
        return data


MAPPING_HELP = (
    'Corrections by the file\'s path in the archive: {"path/in/archive.jpg": {"order": "platform order id or '
    'tracking number", "kind": "chat_log"}} (either or both), or {"path": "skip"}. A mapped file goes where the '
    "mapping says even if nothing else matched it."
)


class BulkUploadInputSerializer(serializers.Serializer[dict[str, Any]]):
    file = serializers.FileField(
        required=False,
        allow_empty_file=True,
        use_url=False,
        help_text="A ZIP archive of evidence for many orders (folders per order, names with order ids or "
        "tracking numbers, or a manifest.csv / manifest.xlsx). Send this or `files`.",
    )
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        required=False,
        help_text="Several evidence files (up to 100), matched by their names as the files of an archive are.",
    )
    dry_run = serializers.BooleanField(
        default=True,
        help_text="true (the default): only read and match, and answer with the preview; commit later with "
        "POST /evidence-batches/{id}/commit/. false: store every matched file now.",
    )
    mapping = MappingField(required=False, help_text=MAPPING_HELP)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class BatchCommitInputSerializer(serializers.Serializer[dict[str, Any]]):
    mapping = MappingField(required=False, help_text=MAPPING_HELP + " Replaces the mapping sent with the archive.")


# --- Output ---------------------------------------------------------------------------------------


class CandidateSerializer(serializers.Serializer[dict[str, Any]]):
    order = serializers.IntegerField()
    platform_order_id = serializers.CharField()


class BatchFileSerializer(serializers.Serializer[dict[str, Any]]):
    path = serializers.CharField(help_text="The file's path in the archive (a ZIP inside it reads as a folder).")
    status = serializers.CharField(
        help_text="ready (will be stored), stored (an evidence item now: see item), or why not: unmatched, "
        "ambiguous (see candidates), kind_unknown, order_excluded, skipped (by the mapping), refused (type, "
        "extension or name), too_large, empty, unsafe_path, symlink, encrypted, nested_too_deep, unreadable, "
        "duplicate_stored (see duplicate_of), duplicate_in_archive; manifest for the manifest itself."
    )
    reason = serializers.CharField(allow_blank=True)
    order = serializers.IntegerField(allow_null=True)
    platform_order_id = serializers.CharField(allow_null=True)
    kind = serializers.ChoiceField(choices=EvidenceKind.choices, allow_null=True)
    matched_by = serializers.CharField(allow_null=True, help_text="mapping, manifest, folder or file_name.")
    kind_by = serializers.CharField(allow_null=True, help_text="mapping, manifest, folder or file_name.")
    candidates = CandidateSerializer(many=True)
    size = serializers.IntegerField()
    sha256 = serializers.CharField(allow_null=True)
    content_type = serializers.CharField(allow_null=True)
    duplicate_of = serializers.IntegerField(allow_null=True, help_text="The stored evidence item it repeats.")
    item = serializers.IntegerField(allow_null=True, help_text="The evidence item made of it, once committed.")


class BatchTotalsSerializer(serializers.Serializer[dict[str, Any]]):
    files = serializers.IntegerField()
    ready = serializers.IntegerField()
    stored = serializers.IntegerField()
    not_stored = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())


class BatchOrderSerializer(serializers.Serializer[dict[str, Any]]):
    order = serializers.IntegerField()
    platform_order_id = serializers.CharField()
    required_kinds = serializers.ListField(
        child=serializers.CharField(), source="required", help_text="The kinds this order needs."
    )
    already = serializers.ListField(child=serializers.CharField(), help_text="Kinds it has (not rejected).")
    adds = serializers.ListField(child=serializers.CharField(), help_text="Kinds the batch brings.")
    completes = serializers.ListField(child=serializers.CharField(), help_text="Required kinds the batch fills.")
    missing_after = serializers.ListField(child=serializers.CharField(), help_text="Required kinds still missing.")


class ManifestProblemSerializer(serializers.Serializer[dict[str, Any]]):
    row = serializers.IntegerField()
    file = serializers.CharField(required=False)
    reason = serializers.CharField()


class BatchManifestSerializer(serializers.Serializer[dict[str, Any]]):
    path = serializers.CharField()
    problems = ManifestProblemSerializer(many=True)


class BatchErrorSerializer(serializers.Serializer[dict[str, Any]]):
    code = serializers.CharField(
        help_text="As the error shape's codes: invalid (the archive cannot be read), gave_up, mapping_not_in_archive, "
        "archive_already_committed, batch_changed, conflict, invalid_state."
    )
    message = serializers.CharField()
    details = serializers.DictField(help_text="As the error shape's details, e.g. fields.mapping.")


class BatchProgressSerializer(serializers.Serializer[dict[str, Any]]):
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class EvidenceBatchSerializer(serializers.ModelSerializer[EvidenceBatch]):
    """A batch: its status, progress, and (once read) every file with where it goes or why not."""

    progress = serializers.SerializerMethodField()
    totals = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    orders = serializers.SerializerMethodField()
    ignored = serializers.SerializerMethodField()
    manifest = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=BatchStatus.choices, read_only=True)

    class Meta:
        model = EvidenceBatch
        fields = [
            "id",
            "case",
            "status",
            "source",
            "archive_name",
            "archive_size",
            "archive_sha256",
            "commit_requested",
            "mapping",
            "note",
            "progress",
            "totals",
            "files",
            "orders",
            "ignored",
            "manifest",
            "error",
            "stored_count",
            "created_at",
            "created_by",
            "committed_at",
            "committed_by",
            "cancelled_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _preview(self, batch: EvidenceBatch) -> dict[str, Any]:
        return batch.preview or {}

    @extend_schema_field(BatchProgressSerializer)
    def get_progress(self, batch: EvidenceBatch) -> dict[str, int]:
        return {"done": batch.progress_done, "total": batch.progress_total}

    @extend_schema_field(BatchTotalsSerializer(allow_null=True))
    def get_totals(self, batch: EvidenceBatch) -> dict[str, Any] | None:
        totals = self._preview(batch).get("totals")
        return BatchTotalsSerializer(totals).data if totals else None

    @extend_schema_field(BatchFileSerializer(many=True))
    def get_files(self, batch: EvidenceBatch) -> list[Any]:
        return list(BatchFileSerializer(self._preview(batch).get("files", []), many=True).data)

    @extend_schema_field(BatchOrderSerializer(many=True))
    def get_orders(self, batch: EvidenceBatch) -> list[Any]:
        return list(BatchOrderSerializer(self._preview(batch).get("orders", []), many=True).data)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_ignored(self, batch: EvidenceBatch) -> list[str]:
        return list(self._preview(batch).get("ignored", []))

    @extend_schema_field(BatchManifestSerializer(allow_null=True))
    def get_manifest(self, batch: EvidenceBatch) -> dict[str, Any] | None:
        manifest = self._preview(batch).get("manifest")
        return BatchManifestSerializer(manifest).data if manifest else None

    @extend_schema_field(BatchErrorSerializer(allow_null=True))
    def get_error(self, batch: EvidenceBatch) -> dict[str, Any] | None:
        if not batch.error:
            return None
        details = batch.error.get("details")
        return {
            "code": batch.error["code"],
            "message": batch.error["message"],
            "details": details if isinstance(details, dict) else {},
        }


class PortalEvidenceBatchSerializer(EvidenceBatchSerializer):
    class Meta(EvidenceBatchSerializer.Meta):
        fields = [name for name in EvidenceBatchSerializer.Meta.fields if name not in ("created_by", "committed_by")]
        read_only_fields = fields


# --- Views ----------------------------------------------------------------------------------------

CREATE_RESPONSES = {
    400: OpenApiResponse(
        ErrorSerializer,
        description="Invalid fields (details.fields): neither or both of file and files; file is not a ZIP "
        "archive, cannot be read, or breaks a limit (files in it, bytes it unpacks to, compression ratio: a ZIP "
        "bomb); the upload is larger than the limit; a malformed mapping, or one naming an order or kind that "
        "does not exist.",
    ),
    409: OpenApiResponse(
        ErrorSerializer,
        description="archive_already_committed: the same archive was stored on this case already (details.batch). "
        "invalid_state: the case is closed, declined or withdrawn.",
    ),
}
COMMIT_RESPONSES = {
    400: OpenApiResponse(ErrorSerializer, description="The mapping names a file, order or kind that does not exist."),
    409: OpenApiResponse(
        ErrorSerializer,
        description="batch_busy: it is still being read. invalid_state: it was cancelled, failed or expired, or "
        "the case is closed. archive_already_committed: the same archive was stored on this case meanwhile. "
        "batch_changed: what it would store changed while its files were written (evidence removed, keywords or "
        "orders changed): commit again. conflict: a file of it was attached separately meanwhile.",
    ),
}


def _created_status(batch: EvidenceBatch) -> int:
    if batch.status == BatchStatus.COMMITTED:
        return status.HTTP_201_CREATED
    if batch.status == BatchStatus.PREVIEWED:
        return status.HTTP_200_OK
    return status.HTTP_202_ACCEPTED


def _commit_status(batch: EvidenceBatch) -> int:
    return status.HTTP_200_OK if batch.status == BatchStatus.COMMITTED else status.HTTP_202_ACCEPTED


class CaseBatchesBase(viewsets.GenericViewSet[Any]):
    # A case's batches (list) and new ones (create), for staff or for the client.

    queryset = EvidenceBatch.objects.none()
    parser_classes = [MultiPartParser]
    filter_backends: list[Any] = []
    output: type[EvidenceBatchSerializer] = EvidenceBatchSerializer

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        drf_request = super().initialize_request(request, *args, **kwargs)
        if request.method == "POST":
            install_bulk_upload_handler(request)
        return drf_request

    def _case_id(self) -> int:
        raise NotImplementedError

    def _list(self) -> Response:
        case_id = self._case_id()
        listed = batches.batches_visible_to(current_user(self.request)).filter(case_id=case_id)
        page = self.paginate_queryset(listed.order_by("-created_at", "-id"))
        return self.get_paginated_response(self.output(page, many=True).data)

    def _create(self, request: Request) -> Response:
        case_id = self._case_id()
        data = BulkUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = batches.batch_create(
            case_id=case_id,
            actor=current_user(request),
            file=data.validated_data.get("file"),
            files=data.validated_data.get("files"),
            dry_run=data.validated_data["dry_run"],
            mapping=data.validated_data.get("mapping"),
            note=data.validated_data["note"],
        )
        return Response(self.output(batch).data, status=_created_status(batch))


class BatchBase(viewsets.GenericViewSet[Any]):
    # One batch (retrieve, commit, cancel), for staff or for the client.

    lookup_value_regex = r"[0-9]{1,18}"
    queryset = EvidenceBatch.objects.none()
    parser_classes = [JSONParser]
    filter_backends: list[Any] = []
    output: type[EvidenceBatchSerializer] = EvidenceBatchSerializer

    def _batch(self) -> EvidenceBatch:
        return batches.batch_get(actor=current_user(self.request), batch_id=int(self.kwargs["pk"]))

    def _commit(self, request: Request) -> Response:
        batch = self._batch()
        data = BatchCommitInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = batches.batch_commit(
            actor=current_user(request), batch_id=batch.pk, mapping=data.validated_data.get("mapping")
        )
        return Response(self.output(batch).data, status=_commit_status(batch))

    def _cancel(self, request: Request) -> Response:
        batch = batches.batch_cancel(actor=current_user(request), batch_id=self._batch().pk)
        return Response(self.output(batch).data)


@extend_schema(parameters=[CASE_ID_PARAMETER])
class CaseBatchesViewSet(CaseBatchesBase):
    """Bulk evidence for a case, as staff send it."""

    permission_classes = [IsAgencyStaff]
    serializer_class = EvidenceBatchSerializer

    def _case_id(self) -> int:
        return case_selectors.case_get(user=current_user(self.request), case_id=int(self.kwargs["id"])).pk

    @extend_schema(responses={200: EvidenceBatchSerializer(many=True)})
    def list(self, request: Request, id: str) -> Response:
        """The case's bulk uploads, newest first."""
        return self._list()

    @extend_schema(
        request={"multipart/form-data": BulkUploadInputSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=idempotency_responses(
            {
                200: OpenApiResponse(EvidenceBatchSerializer, description="Read (a dry run): the preview."),
                201: OpenApiResponse(EvidenceBatchSerializer, description="Read and stored (dry_run=false)."),
                202: OpenApiResponse(
                    EvidenceBatchSerializer,
                    description="A large archive: read (and stored) by a worker; follow GET /evidence-batches/{id}/.",
                ),
                **CREATE_RESPONSES,
            }
        ),
    )
    @idempotent
    def create(self, request: Request, id: str) -> Response:
        """Send a ZIP archive (or several files) of evidence for many orders; each file is matched to an order and
        a kind.

        By a manifest.csv / manifest.xlsx in the archive (columns file, order, kind), else a folder named by an
        order id or tracking number at any depth, else a file name holding exactly one of them; the kind by the
        manifest, a folder or the file name (keywords: GET /evidence-kind-keywords/). Nothing is guessed: a file
        that matches no order or two, or no kind, is listed with the reason. With dry_run (the default) the
        answer is the preview; commit it with POST /evidence-batches/{id}/commit/. Archives over the inline limit
        are read by a worker (202).
        """
        return self._create(request)


class EvidenceBatchViewSet(BatchBase):
    """One bulk upload, for staff who can see its case (anyone else: 404)."""

    permission_classes = [IsAgencyStaff]
    serializer_class = EvidenceBatchSerializer

    @extend_schema(responses={200: EvidenceBatchSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        """Status, progress (files done of total) and, once read, the preview or what was stored."""
        return Response(self.output(self._batch()).data)

    @extend_schema(
        request=BatchCommitInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=idempotency_responses(
            {
                200: OpenApiResponse(EvidenceBatchSerializer, description="Stored (or stored already)."),
                202: OpenApiResponse(EvidenceBatchSerializer, description="A worker is storing it."),
                **COMMIT_RESPONSES,
            }
        ),
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def commit(self, request: Request, pk: str) -> Response:
        """Store every matched file as an evidence item waiting for review: all of them, in one transaction.

        Files not matched are not stored unless the mapping sent here assigns them. Committing twice stores once.
        """
        return self._commit(request)

    @extend_schema(request=None, responses={200: EvidenceBatchSerializer, 409: COMMIT_RESPONSES[409]})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Give the batch up before it is stored; its archive is deleted (409 once it is being stored)."""
        return self._cancel(request)


@extend_schema(tags=["portal"], parameters=[CASE_ID_PARAMETER])
class PortalCaseBatchesViewSet(CaseBatchesBase):
    """Bulk evidence for a case of the client's organisations; any other case answers 404."""

    permission_classes = [IsClientUser]
    serializer_class = PortalEvidenceBatchSerializer
    output = PortalEvidenceBatchSerializer

    def _case_id(self) -> int:
        return case_selectors.portal_case_get(user=current_user(self.request), case_id=int(self.kwargs["id"])).pk

    @extend_schema(responses={200: PortalEvidenceBatchSerializer(many=True)})
    def list(self, request: Request, id: str) -> Response:
        """What your side sent in bulk for this case, newest first."""
        return self._list()

    @extend_schema(
        request={"multipart/form-data": BulkUploadInputSerializer},
        responses={
            200: OpenApiResponse(PortalEvidenceBatchSerializer, description="Read (a dry run): the preview."),
            201: OpenApiResponse(PortalEvidenceBatchSerializer, description="Read and stored (dry_run=false)."),
            202: OpenApiResponse(PortalEvidenceBatchSerializer, description="A large archive, read by a worker."),
            **CREATE_RESPONSES,
        },
    )
    def create(self, request: Request, id: str) -> Response:
        """Send a ZIP archive (or several files) of evidence for many orders; see the staff endpoint for matching."""
        return self._create(request)


@extend_schema(tags=["portal"])
class PortalEvidenceBatchViewSet(BatchBase):
    """One bulk upload your side sent, on a case of your organisations; any other answers 404."""

    permission_classes = [IsClientUser]
    serializer_class = PortalEvidenceBatchSerializer
    output = PortalEvidenceBatchSerializer

    @extend_schema(responses={200: PortalEvidenceBatchSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        """Status, progress and the preview, or what was stored."""
        return Response(self.output(self._batch()).data)

    @extend_schema(
        request=BatchCommitInputSerializer,
        responses={
            200: OpenApiResponse(PortalEvidenceBatchSerializer, description="Stored (or stored already)."),
            202: OpenApiResponse(PortalEvidenceBatchSerializer, description="Being stored by a worker."),
            **COMMIT_RESPONSES,
        },
    )
    @action(detail=True, methods=["post"])
    def commit(self, request: Request, pk: str) -> Response:
        """Store every matched file; see the staff endpoint."""
        return self._commit(request)

    @extend_schema(request=None, responses={200: PortalEvidenceBatchSerializer, 409: COMMIT_RESPONSES[409]})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Give the batch up before it is stored."""
        return self._cancel(request)


# --- The keywords that name the kinds --------------------------------------------------------------


class KindKeywordsSerializer(serializers.ModelSerializer[KindKeywords]):
    keywords = serializers.ListField(
        child=serializers.CharField(max_length=50),
        max_length=100,
        help_text="Words that name this kind in folder and file names, in any language; case does not matter.",
    )

    class Meta:
        model = KindKeywords
        fields = ["kind", "keywords", "updated_at", "updated_by"]
        read_only_fields = ["kind", "updated_at", "updated_by"]


class KindKeywordsViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Any]):
    """The words that name each kind of evidence in a bulk upload; every staff member reads them, administrators
    correct them."""

    permission_classes = [IsAgencyStaff, HasStaffRole]
    write_roles = keywords.KEYWORD_EDITORS
    serializer_class = KindKeywordsSerializer
    queryset = KindKeywords.objects.all()
    lookup_field = "kind"
    lookup_value_regex = "[a-z_]{1,32}"
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(request=KindKeywordsSerializer, responses={200: KindKeywordsSerializer})
    def update(self, request: Request, kind: str) -> Response:
        """Replace a kind's keywords (400 for a keyword another kind has)."""
        row = self.get_object()
        data = KindKeywordsSerializer(row, data=request.data)
        data.is_valid(raise_exception=True)
        updated = keywords.kind_keywords_update(
            kind=row.kind, actor=current_user(request), words=data.validated_data["keywords"]
        )
        return Response(KindKeywordsSerializer(updated).data)
