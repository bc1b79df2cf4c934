"""Client portal: the message thread with the agency on one of the organisation's cases (never internal notes)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agency.accounts.models import User
from agency.api.permissions import IsClientUser, current_user
from agency.api.schema import CONFLICT_RESPONSES
from cases.api.conversation import MessageInputSerializer
from cases.models import CaseMessage
from casework import conversation as service


def author_name_for_client(author: User, *, from_client: bool) -> str:
    """How the client sees a message's author.

    A colleague in the client's own organisation: their usual label. Agency staff: their
    display name (clients know their case manager by name), or "The agency" when there
    is none; never a username, a role or an id, which are the agency's internal handles.
    """
    if from_client:
        return author.label
    return author.display_name or author.get_full_name() or _("The agency")


class PortalMessageSerializer(serializers.ModelSerializer[CaseMessage]):
    author_name = serializers.SerializerMethodField(help_text="Display name; staff are never shown by username.")

    class Meta:
        model = CaseMessage
        fields = ["id", "from_client", "author_name", "body", "created_at"]
        read_only_fields = fields

    def get_author_name(self, message: CaseMessage) -> str:
        return author_name_for_client(message.author, from_client=message.from_client)


class PortalCaseMessagesView(GenericAPIView[Any]):
    """The messages between the client and the agency on one case (GET, oldest first), or a new one (POST).

    A case of another organisation answers 404. Posting needs an open case (409 once it is
    closed, declined or withdrawn); the case manager (or, with none yet, the supervisors) is
    notified.
    """

    permission_classes = [IsClientUser]
    serializer_class = PortalMessageSerializer
    filter_backends: list[Any] = []

    @extend_schema(tags=["portal"], responses={200: PortalMessageSerializer(many=True)})
    def get(self, request: Request, case_id: int) -> Response:
        page = self.paginate_queryset(service.portal_message_list(user=current_user(request), case_id=case_id))
        return self.get_paginated_response(PortalMessageSerializer(page, many=True).data)

    @extend_schema(
        tags=["portal"],
        request=MessageInputSerializer,
        responses={201: PortalMessageSerializer, **CONFLICT_RESPONSES},
    )
    def post(self, request: Request, case_id: int) -> Response:
        data = MessageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = service.message_post(case_id=case_id, actor=current_user(request), body=data.validated_data["body"])
        return Response(PortalMessageSerializer(message).data, status=status.HTTP_201_CREATED)
