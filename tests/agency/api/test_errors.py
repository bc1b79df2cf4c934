"""The error contract (``agency.api.errors``): every API error answers {"error": {"code", "message", "details"}}
as JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from agency.accounts.models import User
from agency.organisations import selectors as organisation_selectors
from agency.organisations.models import Organisation, Shop
from cases.models import Case, CaseState

Api = Callable[..., APIClient]


def assert_error(response: Any, status: int, code: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str)
    assert error["code"]
    if code is not None:
        assert error["code"] == code, error
    assert isinstance(error["message"], str)
    assert error["message"].strip()
    assert isinstance(error["details"], dict)
    return error


def quiet(client: APIClient) -> APIClient:
    """Let a server error come back as a response, as a real client would see it."""
    client.raise_request_exception = False
    return client


# --- 404 ---------------------------------------------------------------------------------------


def test_missing_object_on_a_routed_endpoint_is_404_with_the_error_shape(api: Api, supervisor: User) -> None:
    assert_error(api(supervisor).get("/api/v1/cases/999999/"), 404, "not_found")
    assert_error(api(supervisor).post("/api/v1/cases/999999/transitions/", {"transition": "close"}), 404, "not_found")
    assert_error(api(supervisor).get("/api/v1/organisations/999999/"), 404, "not_found")


def test_case_of_another_team_is_404_like_a_missing_one(
    api: Api, outsider_manager: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.INTAKE)
    hidden = assert_error(api(outsider_manager).get(f"/api/v1/cases/{case.pk}/"), 404, "not_found")
    missing = assert_error(api(outsider_manager).get("/api/v1/cases/999999/"), 404, "not_found")
    assert hidden == missing


def test_unknown_url_under_the_api_is_404_with_the_error_shape(api: Api, supervisor: User) -> None:
    """Not only routed objects: a mistyped API path is an API error too, not an HTML page."""
    assert_error(api(supervisor).get("/api/v1/no-such-endpoint/"), 404, "not_found")
    assert_error(api(supervisor).get("/api/v1/cases/1/no-such-action/"), 404, "not_found")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/cases/abc/",
        "/api/v1/cases/abc/transitions/",
        "/api/v1/organisations/abc/",
        "/api/v1/shops/abc/",
        "/api/v1/cases/99999999999999999999999/",
    ],
)
def test_malformed_or_out_of_range_ids_are_404_not_500(api: Api, supervisor: User, url: str) -> None:
    assert_error(quiet(api(supervisor)).get(url), 404, "not_found")


def test_malformed_portal_case_id_is_404_not_500(api: Api, alice: User) -> None:
    assert_error(quiet(api(alice)).get("/api/v1/portal/cases/abc/"), 404, "not_found")


# --- 401 and 403 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/cases/"),
        ("post", "/api/v1/cases/"),
        ("get", "/api/v1/cases/1/"),
        ("post", "/api/v1/cases/1/transitions/"),
        ("get", "/api/v1/portal/cases/"),
        ("post", "/api/v1/portal/cases/1/withdraw/"),
        ("get", "/api/v1/organisations/"),
        ("get", "/api/v1/auth/me/"),
    ],
)
def test_anonymous_is_401_not_authenticated(api: Api, db: None, method: str, url: str) -> None:
    response = getattr(api(), method)(url)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")


def test_bad_token_is_401_authentication_failed(db: None) -> None:
    response = APIClient().get("/api/v1/cases/", HTTP_AUTHORIZATION="Token 0123456789abcdef")
    assert_error(response, 401, "authentication_failed")


def test_client_user_on_staff_endpoint_is_403(api: Api, alice: User) -> None:
    error = assert_error(api(alice).get("/api/v1/cases/"), 403, "permission_denied")
    assert error["message"] == "This endpoint is for agency staff."


def test_staff_on_portal_endpoint_is_403(api: Api, supervisor: User) -> None:
    error = assert_error(api(supervisor).get("/api/v1/portal/cases/"), 403, "permission_denied")
    assert error["message"] == "This endpoint is for client users."


# --- 405 and 415 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("delete", "/api/v1/cases/{case}/"),
        ("put", "/api/v1/cases/{case}/"),
        ("delete", "/api/v1/cases/{case}/transitions/"),
        ("get", "/api/v1/auth/token/"),
        ("post", "/api/v1/auth/me/"),
        ("post", "/api/v1/health/"),
    ],
)
def test_method_not_allowed_has_the_error_shape(
    api: Api, supervisor: User, case_in: Callable[..., Case], method: str, url: str
) -> None:
    case = case_in(CaseState.INTAKE)
    response = getattr(api(supervisor), method)(url.format(case=case.pk), {})
    error = assert_error(response, 405, "method_not_allowed")
    assert method.upper() in error["message"]
    assert method.upper() not in {m.strip() for m in response["Allow"].split(",")}
    case.refresh_from_db()
    assert case.state == CaseState.INTAKE


def test_unsupported_media_type_has_the_error_shape(api: Api, intake: User) -> None:
    response = api(intake).post("/api/v1/organisations/", "name=X", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")
    assert not Organisation.objects.exists()


def test_malformed_json_is_400_parse_error(api: Api, intake: User) -> None:
    response = api(intake).post("/api/v1/organisations/", '{"name": ', content_type="application/json")
    assert_error(response, 400, "parse_error")
    assert not Organisation.objects.exists()


# --- 400 validation ----------------------------------------------------------------------------


def test_validation_errors_list_fields_under_details(api: Api, intake: User, blossom: Organisation) -> None:
    response = api(intake).post(
        "/api/v1/shops/", {"organisation": blossom.pk, "platform": "ebay", "platform_shop_id": "", "name": "X"}
    )
    error = assert_error(response, 400, "invalid")
    fields = error["details"]["fields"]
    assert set(fields) == {"platform", "platform_shop_id"}
    for messages in fields.values():
        assert isinstance(messages, list)
        assert messages
        assert all(isinstance(message, str) and message for message in messages)
    assert set(error["details"]) == {"fields"}
    assert not Shop.objects.exists()


def test_non_object_body_is_a_non_field_error(api: Api, intake: User) -> None:
    response = api(intake).post("/api/v1/organisations/", [], format="json")
    error = assert_error(response, 400, "invalid")
    assert list(error["details"]["fields"]) == ["non_field_errors"]


def test_unknown_transition_name_is_a_field_error(api: Api, supervisor: User, case_in: Callable[..., Case]) -> None:
    case = case_in(CaseState.INTAKE)
    response = api(supervisor).post(f"/api/v1/cases/{case.pk}/transitions/", {"transition": "teleport"})
    error = assert_error(response, 400, "invalid")
    assert list(error["details"]["fields"]) == ["transition"]


# --- 409 and domain errors ---------------------------------------------------------------------


def test_transition_from_the_wrong_state_is_409(api: Api, supervisor: User, case_in: Callable[..., Case]) -> None:
    case = case_in(CaseState.CLOSED)
    response = api(supervisor).post(f"/api/v1/cases/{case.pk}/transitions/", {"transition": "start_assessment"})
    assert_error(response, 409, "invalid_state")
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED


def test_stale_expected_state_is_409(api: Api, supervisor: User, case_in: Callable[..., Case]) -> None:
    case = case_in(CaseState.ASSESSMENT)
    response = api(supervisor).post(
        f"/api/v1/cases/{case.pk}/transitions/", {"transition": "accept_case", "expected_state": CaseState.INTAKE}
    )
    error = assert_error(response, 409, "invalid_state")
    assert error["details"] == {"state": CaseState.ASSESSMENT, "expected_state": CaseState.INTAKE}
    case.refresh_from_db()
    assert case.state == CaseState.ASSESSMENT


# --- 500 ---------------------------------------------------------------------------------------


def test_unexpected_server_error_keeps_the_error_shape(
    api: Api, manager: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(organisation_selectors, "organisation_list", broken)
    response = quiet(api(manager)).get("/api/v1/organisations/")
    # The code is the lead's to name ("server_error" is proposed); the shape is what matters.
    error = assert_error(response, 500, None)
    assert "simulated bug" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert error["details"] == {}


# --- Answers Django makes itself, with DEBUG on and off ------------------------------------


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    settings.DEBUG = request.param
    return bool(request.param)


def test_unknown_path_is_the_error_shape_with_debug_on_and_off(api: Api, supervisor: User, debug: bool) -> None:
    for path in ("/api/v1/no-such-thing/", "/api/v1/cases/1/no-such-thing/", "/api/v1/cases/abc/"):
        assert_error(api(supervisor).get(path), 404, "not_found")
    assert_error(api(None).post("/api/v1/nowhere/", {}), 404, "not_found")


def test_server_error_is_the_error_shape_with_debug_on(
    api: Api, manager: User, monkeypatch: pytest.MonkeyPatch, debug: bool
) -> None:
    def broken() -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(organisation_selectors, "organisation_list", broken)
    response = quiet(api(manager)).get("/api/v1/organisations/")
    assert_error(response, 500, "server_error")
    assert "simulated bug" not in response.content.decode()


def test_405_and_406_are_the_error_shape(api: Api, supervisor: User, debug: bool) -> None:
    response = api(supervisor).delete("/api/v1/cases/")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]
    assert_error(api(supervisor).get("/api/v1/cases/", HTTP_ACCEPT="application/xml"), 406, "not_acceptable")


def test_oversize_json_body_is_400_naming_the_limit(api: Api, intake: User, settings: Any, debug: bool) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"shop": 1, "notes": "' + "x" * 2000 + '"}'
    response = api(intake).post("/api/v1/cases/", body, content_type="application/json")
    error = assert_error(response, 400, "request_too_large")
    assert "1000" in error["message"]


def test_too_many_form_fields_is_400(api: Api, intake: User, settings: Any, debug: bool) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = "&".join(f"field{i}=x" for i in range(20))
    response = api(intake).post("/api/v1/cases/", body, content_type="application/x-www-form-urlencoded")
    error = assert_error(response, 400, "too_many_fields")
    assert "10" in error["message"]


def test_malformed_multipart_is_400(api: Api, intake: User, debug: bool) -> None:
    response = api(intake).post(
        "/api/v1/cases/", b"--not-the-boundary\r\ngarbage", content_type="multipart/form-data; boundary=xyz"
    )
    assert_error(response, 400, None)
    response = api(intake).post("/api/v1/cases/", b"garbage", content_type="multipart/form-data")
    assert_error(response, 400, None)


def test_pages_outside_the_api_keep_their_html_errors(client: Any, db: None) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_everything_under_api_answers_the_shape_but_the_pages_for_people(api: Api, db: None) -> None:
    error = assert_error(api(None).get("/api/nothing-here/"), 404, "not_found")
    assert error["details"] == {}
    response = api(None).get("/api/schema/?format=xml")
    assert_error(response, 406, "not_acceptable")
    assert api(None).get("/api/docs/").status_code == 200
    assert api(None).get("/api/auth/login/")["Content-Type"].startswith("text/html")


def test_a_rewritten_error_keeps_the_security_headers(api: Api, db: None) -> None:
    response = api(None).get("/api/v1/no-such-thing/")
    assert_error(response, 404, "not_found")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_a_rewritten_error_speaks_the_request_language(api: Api, db: None, debug: bool) -> None:
    response = api(None).get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    error = assert_error(response, 404, "not_found")
    assert error["message"] == "未找到。"
    assert response["Content-Language"] == "zh-hans"
