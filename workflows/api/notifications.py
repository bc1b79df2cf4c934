"""Notification endpoints for any signed-in user (staff or client), always only their own notifications."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agency.api.permissions import current_user
from agency.api.schema import ErrorSerializer
from workflows import notifications as service
from workflows.models import Notification


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    """One notification, its text rendered in the request's language for the reader's audience."""

    case_reference = serializers.SerializerMethodField()
    title = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "case", "case_reference", "deadline", "title", "body", "created_at", "read_at"]
        read_only_fields = fields

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rendered: dict[int, tuple[str, str]] = {}

    def _text(self, notification: Notification) -> tuple[str, str]:
        # Title and body come from one rendering; with many=True this serializer is shared by the page.
        if notification.pk not in self._rendered:
            self._rendered[notification.pk] = service.render(notification, get_language())
        return self._rendered[notification.pk]

    def get_case_reference(self, notification: Notification) -> str | None:
        return notification.case.reference if notification.case else None

    def get_title(self, notification: Notification) -> str:
        return self._text(notification)[0]

    def get_body(self, notification: Notification) -> str:
        return self._text(notification)[1]


class NotificationListQuerySerializer(serializers.Serializer[Any]):
    unread = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: only unread; false: only read."
    )


UnreadCountSerializer = inline_serializer(name="NotificationUnreadCount", fields={"unread": serializers.IntegerField()})
MarkedSerializer = inline_serializer(name="NotificationsMarked", fields={"marked": serializers.IntegerField()})


class NotificationListView(GenericAPIView[Any]):
    """The signed-in user's notifications, newest first; `?unread=true` for the unread ones."""

    permission_classes = [IsAuthenticated]
    serializer_class = NotificationSerializer
    filter_backends: list[Any] = []

    @extend_schema(
        tags=["notifications"],
        parameters=[NotificationListQuerySerializer],
        responses={
            200: NotificationSerializer(many=True),
            400: OpenApiResponse(ErrorSerializer, description="An invalid filter value."),
        },
    )
    def get(self, request: Request) -> Response:
        query = NotificationListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = service.notification_list(user=current_user(request), unread=query.validated_data["unread"])
        page = self.paginate_queryset(found)
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)


class NotificationUnreadCountView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["notifications"], responses={200: UnreadCountSerializer})
    def get(self, request: Request) -> Response:
        """How many of the signed-in user's notifications are unread (for a badge)."""
        return Response({"unread": service.notification_unread_count(user=current_user(request))})


class NotificationReadView(GenericAPIView[Any]):
    permission_classes = [IsAuthenticated]
    serializer_class = NotificationSerializer

    @extend_schema(tags=["notifications"], request=None, responses={200: NotificationSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Mark one notification read; marking it again changes nothing."""
        notification = service.notification_mark_read(user=current_user(request), notification_id=pk)
        return Response(NotificationSerializer(notification).data)


class NotificationReadAllView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["notifications"], request=None, responses={200: MarkedSerializer})
    def post(self, request: Request) -> Response:
        """Mark every unread notification of the signed-in user read; answers how many were unread."""
        return Response({"marked": service.notification_mark_all_read(user=current_user(request))})
