"""The API's shared machinery as an app, so that its one project-wide setting is made at start-up."""

from __future__ import annotations

from django.apps import AppConfig
from django.db import models
from rest_framework import serializers

from agency.api.fields import DateTimeField


class ApiConfig(AppConfig):
    name = "agency.api"
    label = "agency_api"

    def ready(self) -> None:
        # Every model datetime a ModelSerializer writes goes through the RFC 3339 field too.
        serializers.ModelSerializer.serializer_field_mapping[models.DateTimeField] = DateTimeField
