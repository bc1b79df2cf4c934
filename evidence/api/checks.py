"""The rules of the evidence checks over the API: how each evidence kind is compared with its order.

``/evidence-check-rules/`` lists every kind (a kind without a rule shows no groups: its
items are not checked), ``/evidence-check-rules/{kind}/`` reads one and, for
administrators, replaces it; a changed rule has the kind's items in open cases compared
again (evidence.checks). ``/evidence-check-rules/catalogue/`` names every check a rule can use.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from agency.api.permissions import HasStaffRole, IsAgencyStaff, current_user
from agency.api.schema import ErrorSerializer
from cases.api.serializers import UserRefSerializer
from evidence import checks, keywords, selectors
from evidence.models import CheckName, EvidenceCheckRule

CHECK_GROUPS_HELP = (
    "Alternatives, each a list of check names: an item matches its order when every check of one group "
    'matches (a chat log: [["order_id"], ["buyer", "time_near_order"]]) and no check contradicts it; a group '
    "naming tracking_number, order_id or buyer counts only for orders that have that value. Every check named "
    "anywhere runs and is reported. No groups: items of this kind are not checked (their outcome is unchecked)."
)
WINDOW_HOURS_HELP = "How far from the order time (1 to 8784 hours) a time may lie and still be near it."


# The shape documented for groups, by the check names' enum (CheckNameEnum, ENUM_NAME_OVERRIDES); the service
# reads what is sent and names any problem (400).
@extend_schema_field(
    {"type": "array", "items": {"type": "array", "items": {"$ref": "#/components/schemas/CheckNameEnum"}}}
)
class CheckGroupsField(serializers.JSONField):
    pass


class CheckRuleSerializer(serializers.ModelSerializer[EvidenceCheckRule]):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    groups = CheckGroupsField(help_text=CHECK_GROUPS_HELP)
    updated_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = EvidenceCheckRule
        fields = ["kind", "kind_display", "groups", "window_hours", "updated_at", "updated_by"]
        read_only_fields = ["kind", "kind_display", "updated_at", "updated_by"]
        extra_kwargs = {
            "window_hours": {"help_text": WINDOW_HOURS_HELP},
            "updated_at": {"allow_null": True, "help_text": "Null for a kind that never had a rule."},
        }


class CheckRuleInputSerializer(serializers.Serializer[dict[str, Any]]):
    groups = CheckGroupsField(help_text=CHECK_GROUPS_HELP)
    # The range is the service's to check, with its own message.
    window_hours = serializers.IntegerField(help_text=WINDOW_HOURS_HELP)


class CheckCatalogueEntrySerializer(serializers.Serializer[Any]):
    name = serializers.ChoiceField(choices=CheckName.choices)
    name_display = serializers.CharField()


class EvidenceCheckRuleViewSet(viewsets.GenericViewSet[Any]):
    """How each kind of evidence is compared with its order; every staff member reads the rules, administrators
    change them."""

    permission_classes = [IsAgencyStaff, HasStaffRole]
    write_roles = keywords.KEYWORD_EDITORS
    serializer_class = CheckRuleSerializer
    # For schema generation only; the rules come from evidence.selectors.
    queryset = EvidenceCheckRule.objects.none()
    parser_classes = [JSONParser]
    lookup_field = "kind"
    lookup_value_regex = "[a-z_]{1,32}"
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(responses={200: CheckRuleSerializer(many=True)})
    def list(self, request: Request) -> Response:
        """Every evidence kind's rule, in the kinds' order; a kind without a rule has no groups (not checked)."""
        return Response(CheckRuleSerializer(selectors.check_rules(), many=True).data)

    @extend_schema(responses={200: CheckRuleSerializer})
    def retrieve(self, request: Request, kind: str) -> Response:
        """One kind's rule (404 for a kind that does not exist)."""
        return Response(CheckRuleSerializer(selectors.check_rule(kind=kind)).data)

    @extend_schema(
        request=CheckRuleInputSerializer,
        responses={
            200: CheckRuleSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="details.fields names groups (not a list of lists, an unknown check, an empty group, "
                "a check named twice in a group) or window_hours (not a whole number from 1 to 8784).",
            ),
        },
    )
    def update(self, request: Request, kind: str) -> Response:
        """Replace how a kind is checked (administrators): its items in open cases are compared again."""
        selectors.check_rule(kind=kind)  # an unknown kind is a 404 before its body is read
        data = CheckRuleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = checks.rule_update(
            actor=current_user(request),
            kind=kind,
            groups=data.validated_data["groups"],
            window_hours=data.validated_data["window_hours"],
        )
        return Response(CheckRuleSerializer(rule).data)

    @extend_schema(responses={200: CheckCatalogueEntrySerializer(many=True)})
    @action(detail=False, methods=["get"])
    def catalogue(self, request: Request) -> Response:
        """Every check a rule can name, with its label in the reader's language."""
        entries = [{"name": check.value, "name_display": str(check.label)} for check in CheckName]
        return Response(CheckCatalogueEntrySerializer(entries, many=True).data)
