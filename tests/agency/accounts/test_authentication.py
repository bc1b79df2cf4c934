"""The token scheme's hand-written lookup (``agency.accounts.authentication``) answers exactly as DRF's would."""

from __future__ import annotations

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_valid_token_authenticates_its_user(alice):
    token = Token.objects.create(user=alice)

    response = token_client(token.key).get("/api/v1/auth/me/")

    assert response.status_code == 200
    assert response.data["username"] == "alice"


def test_unknown_token_is_401(alice):
    Token.objects.create(user=alice)

    response = token_client("0" * 40).get("/api/v1/auth/me/")

    assert response.status_code == 401
    assert response.data["error"]["code"] == "authentication_failed"
    assert response.data["error"]["message"] == "Invalid token."


def test_inactive_user_is_401(alice):
    token = Token.objects.create(user=alice)
    alice.is_active = False
    alice.save()

    response = token_client(token.key).get("/api/v1/auth/me/")

    assert response.status_code == 401
    assert response.data["error"]["message"] == "User inactive or deleted."


def test_token_of_one_user_never_authenticates_another(alice, charlie):
    Token.objects.create(user=alice)
    charlie_token = Token.objects.create(user=charlie)

    response = token_client(charlie_token.key).get("/api/v1/auth/me/")

    assert response.data["username"] == "charlie"
