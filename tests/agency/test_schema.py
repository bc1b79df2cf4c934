"""The OpenAPI document and the Swagger UI: paths, auth schemes, error responses, local assets.

A project-wide check of the document every app's endpoints make (``agency.api.schema`` shapes it), so it
lives under tests/agency/."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from rest_framework.test import APIClient

from agency.accounts.models import User

pytestmark = pytest.mark.django_db

ERROR_REF = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    document: dict[str, Any] = json.loads(response.content)
    return document


def test_schema_is_public_and_openapi_3() -> None:
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Appeals agency case management API"
    assert document["info"]["version"] == "1.0.0"


def test_schema_for_a_signed_in_user_is_the_same(supervisor: User, schema: dict[str, Any]) -> None:
    client = APIClient()
    client.force_authenticate(supervisor)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert json.loads(response.content)["paths"].keys() == schema["paths"].keys()


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/cases/", "get"),
        ("/api/v1/cases/", "post"),
        ("/api/v1/cases/{id}/transitions/", "get"),
        ("/api/v1/cases/{id}/transitions/", "post"),
        ("/api/v1/portal/cases/{id}/withdraw/", "post"),
        ("/api/v1/auth/token/", "post"),
        ("/api/v1/auth/me/", "get"),
        ("/api/v1/organisations/", "post"),
        ("/api/v1/shops/{id}/", "patch"),
        ("/api/v1/health/", "get"),
        ("/api/v1/health/live/", "get"),
        ("/api/v1/health/ready/", "get"),
    ],
)
def test_paths_are_listed(schema: dict[str, Any], path: str, method: str) -> None:
    assert path in schema["paths"]
    assert method in schema["paths"][path]


def test_only_the_api_is_documented(schema: dict[str, Any]) -> None:
    assert all(path.startswith("/api/v1/") for path in schema["paths"])


def test_methods_the_api_does_not_offer_are_not_documented(schema: dict[str, Any]) -> None:
    assert "delete" not in schema["paths"]["/api/v1/organisations/{id}/"]
    assert "put" not in schema["paths"]["/api/v1/shops/{id}/"]


def test_security_schemes_are_token_and_session_cookie(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    token = schemes["tokenAuth"]
    assert (token["type"], token["in"], token["name"]) == ("apiKey", "header", "Authorization")
    cookie = schemes["cookieAuth"]
    assert (cookie["type"], cookie["in"], cookie["name"]) == ("apiKey", "cookie", "sessionid")


def test_api_key_scheme_is_documented(schema: dict[str, Any]) -> None:
    scheme = schema["components"]["securitySchemes"]["apiKeyAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert "Api-Key <key>" in scheme["description"]
    assert {"apiKeyAuth": []} in schema["paths"]["/api/v1/cases/"]["get"]["security"]
    assert "/api/v1/api-keys/{prefix}/revoke/" in schema["paths"]


def test_staff_endpoints_require_auth_and_sign_in_does_not(schema: dict[str, Any]) -> None:
    case_list = schema["paths"]["/api/v1/cases/"]["get"]
    assert {"tokenAuth": []} in case_list["security"]
    assert {"cookieAuth": []} in case_list["security"]
    token = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert token.get("security", []) in ([], [{}])


def test_idempotent_writes_document_the_header_and_its_errors(schema: dict[str, Any]) -> None:
    for path in (
        "/api/v1/cases/",
        "/api/v1/cases/{id}/transitions/",
        "/api/v1/cases/{id}/orders/import/",
        "/api/v1/cases/{id}/evidence/",
    ):
        operation = schema["paths"][path]["post"]
        headers = [p for p in operation["parameters"] if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        assert len(headers) == 1, path
        assert headers[0].get("required", False) is False
        assert "422" in operation["responses"], path
        assert "idempotency_key_in_progress" in operation["responses"]["409"]["description"], path
    case_list = schema["paths"]["/api/v1/cases/"]["get"]
    assert all(p["name"] != "Idempotency-Key" for p in case_list.get("parameters", []))


def test_transitions_post_documents_its_errors(schema: dict[str, Any]) -> None:
    responses = schema["paths"]["/api/v1/cases/{id}/transitions/"]["post"]["responses"]
    for status in ("400", "403", "404", "409"):
        assert status in responses, status
        assert responses[status]["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
        assert responses[status]["description"]
    assert responses["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CaseDetail"}


def test_every_documented_error_uses_the_error_component(schema: dict[str, Any]) -> None:
    documented = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if (path, status) in NOT_READY_ANSWERS:
                    continue  # "not ready" is an answer, not an error: test_readiness_documents_200_and_503
                if status.startswith(("4", "5")):
                    documented += 1
                    assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, (
                        method,
                        path,
                        status,
                    )
    assert documented > 20


NOT_READY_ANSWERS = {("/api/v1/health/", "503"), ("/api/v1/health/ready/", "503")}


@pytest.mark.parametrize(("path", "component"), [("/api/v1/health/ready/", "Readiness"), ("/api/v1/health/", "Health")])
def test_readiness_documents_200_and_503(schema: dict[str, Any], path: str, component: str) -> None:
    operation = schema["paths"][path]["get"]
    assert operation.get("security", []) in ([], [{}])
    for status in ("200", "503"):
        content = operation["responses"][status]["content"]["application/json"]
        assert content["schema"] == {"$ref": f"#/components/schemas/{component}"}
    components = schema["components"]["schemas"]["HealthComponents"]["properties"]
    assert list(components) == ["database", "broker", "worker", "beat", "calendar"]


def test_liveness_is_documented_without_sign_in(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/v1/health/live/"]["get"]
    assert operation.get("security", []) in ([], [{}])
    assert set(operation["responses"]) == {"200"}


def test_sign_in_documents_invalid_input_and_throttling_but_not_401(schema: dict[str, Any]) -> None:
    responses = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    assert {"200", "400", "429"} <= set(responses)
    assert "401" not in responses
    assert responses["429"]["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}


def test_signed_in_endpoints_document_401(schema: dict[str, Any]) -> None:
    for path, method in [("/api/v1/auth/me/", "get"), ("/api/v1/cases/", "get"), ("/api/v1/shops/{id}/", "patch")]:
        assert "401" in schema["paths"][path][method]["responses"], (method, path)


def test_error_component_matches_the_error_contract(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    error = components["Error"]
    assert error["properties"]["error"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert set(error["required"]) == {"error"}
    body = components["ErrorBody"]
    assert set(body["properties"]) == {"code", "message", "details"}
    assert set(body["required"]) == {"code", "message", "details"}


def test_withdraw_documents_errors_with_the_error_component(schema: dict[str, Any]) -> None:
    responses = schema["paths"]["/api/v1/portal/cases/{id}/withdraw/"]["post"]["responses"]
    error_statuses = [status for status in responses if status.startswith("4")]
    assert error_statuses
    for status in error_statuses:
        assert responses[status]["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}


def test_swagger_ui_uses_locally_served_assets() -> None:
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "/api/schema/" in html

    # No third-party host anywhere: no CDN for scripts, styles or the favicon.
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", html)
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs"):
        assert cdn not in html

    assets = re.findall(r"""(?:src|href)=["']/static/([^"']+)["']""", html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets), assets
    assert any(asset.endswith("swagger-ui.css") for asset in assets), assets
    for asset in assets:
        assert asset.startswith("drf_spectacular_sidecar/"), asset
        assert finders.find(asset), f"{asset} is not among the static files"


def test_spectacular_validation_passes_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    document = yaml.safe_load(target.read_text())
    assert "/api/v1/cases/{id}/transitions/" in document["paths"]


def test_every_operation_with_a_body_documents_415(api, db):
    document = api(None).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    with_body = [
        (path, method)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert len(with_body) > 30
    for path, method in with_body:
        assert "415" in document["paths"][path][method]["responses"], (method, path)
