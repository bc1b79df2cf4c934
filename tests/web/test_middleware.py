"""The pages' language (``web.middleware``): Simplified Chinese unless the browser asks for English, while the
API keeps English by default."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [("", "zh-Hans"), ("fr-FR,fr;q=0.9", "zh-Hans"), ("zh-CN,zh;q=0.9", "zh-Hans"), ("en-US,en;q=0.8", "en")],
)
def test_pages_speak_chinese_unless_the_browser_asks_for_english(accept_language: str, expected: str) -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE=accept_language).get("/accounts/sign-in/")
    assert f'<html lang="{expected}">' in page.content.decode()


def test_the_api_keeps_english_by_default(db: None) -> None:
    response = Client().get("/api/v1/cases/")
    assert response.json()["error"]["message"] == "Authentication credentials were not provided."
