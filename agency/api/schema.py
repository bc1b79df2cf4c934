"""OpenAPI pieces shared by every endpoint: the error shape and its statuses."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.DictField(),
            },
        )
    },
)

ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input or unmet conditions; details say which."),
    401: OpenApiResponse(ErrorSerializer, description="Not signed in."),
    403: OpenApiResponse(ErrorSerializer, description="Signed in, but this role may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="Not found, or not visible to the caller."),
    409: OpenApiResponse(ErrorSerializer, description="Not possible in the current state, or changed meanwhile."),
}
