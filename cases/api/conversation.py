"""Staff endpoints for a case's internal notes and its message thread with the client."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.permissions import IsAgencyStaff, current_user
from agency.api.schema import CONFLICT_RESPONSES
from cases.api.serializers import UserRefSerializer
from cases.models import CaseMessage, CaseNote
from casework import conversation as service


class CaseNoteSerializer(serializers.ModelSerializer[CaseNote]):
    author = UserRefSerializer(read_only=True)

    class Meta:
        model = CaseNote
        fields = ["id", "author", "body", "created_at"]
        read_only_fields = fields


class CaseMessageSerializer(serializers.ModelSerializer[CaseMessage]):
    author = UserRefSerializer(read_only=True)

    class Meta:
        model = CaseMessage
        fields = ["id", "author", "from_client", "body", "created_at"]
        read_only_fields = fields


class NoteInputSerializer(serializers.Serializer[dict[str, Any]]):
    # Blank and over-long bodies are refused by the service, with the same 400 naming "body".
    body = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text=f"At most {service.NOTE_MAX_CHARS:,} characters."
    )


class MessageInputSerializer(serializers.Serializer[dict[str, Any]]):
    body = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text=f"At most {service.MESSAGE_MAX_CHARS:,} characters."
    )


class CaseNotesView(GenericAPIView[Any]):
    """Internal notes on one case (GET, oldest first), or a new one (POST). Staff only; never in the portal.

    Notes cannot be edited or deleted: a correction is a new note. A note may be added in
    any state, a closed case included.
    """

    permission_classes = [IsAgencyStaff]
    serializer_class = CaseNoteSerializer
    filter_backends: list[Any] = []

    @extend_schema(responses={200: CaseNoteSerializer(many=True)})
    def get(self, request: Request, case_id: int) -> Response:
        page = self.paginate_queryset(service.note_list(user=current_user(request), case_id=case_id))
        return self.get_paginated_response(CaseNoteSerializer(page, many=True).data)

    @extend_schema(request=NoteInputSerializer, responses={201: CaseNoteSerializer})
    def post(self, request: Request, case_id: int) -> Response:
        data = NoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = service.note_add(case_id=case_id, actor=current_user(request), body=data.validated_data["body"])
        return Response(CaseNoteSerializer(note).data, status=status.HTTP_201_CREATED)


class CaseMessagesView(GenericAPIView[Any]):
    """The message thread with the client on one case (GET, oldest first), or a message to the client (POST).

    The client sees these messages in the portal, with the author's display name (never a
    username). Posting needs an open case (409 once closed, declined or withdrawn); the
    organisation's client users are notified.
    """

    permission_classes = [IsAgencyStaff]
    serializer_class = CaseMessageSerializer
    filter_backends: list[Any] = []

    @extend_schema(responses={200: CaseMessageSerializer(many=True)})
    def get(self, request: Request, case_id: int) -> Response:
        page = self.paginate_queryset(service.message_list(user=current_user(request), case_id=case_id))
        return self.get_paginated_response(CaseMessageSerializer(page, many=True).data)

    @extend_schema(request=MessageInputSerializer, responses={201: CaseMessageSerializer, **CONFLICT_RESPONSES})
    def post(self, request: Request, case_id: int) -> Response:
        data = MessageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = service.message_post(case_id=case_id, actor=current_user(request), body=data.validated_data["body"])
        return Response(CaseMessageSerializer(message).data, status=status.HTTP_201_CREATED)
