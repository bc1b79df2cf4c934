"""agency.mail: without an SMTP host, each e-mail is one readable INFO line, Chinese and all."""

from __future__ import annotations

import logging

from django.core.mail import EmailMessage

from agency.mail import LoggingEmailBackend


def test_an_email_is_logged_in_words_at_info(caplog):
    message = EmailMessage(
        subject="案件 AP-2026-000001 有新消息",
        body="请登录查看 https://agency.example/notifications/7/",
        to=["a@example.com"],
    )
    with caplog.at_level(logging.INFO, logger="agency.mail"):
        assert LoggingEmailBackend().send_messages([message]) == 1

    (record,) = caplog.records
    assert record.levelno == logging.INFO
    text = record.getMessage()
    assert "a@example.com" in text
    assert "案件 AP-2026-000001 有新消息" in text  # the subject as written, not base64
    assert "https://agency.example/notifications/7/" in text
