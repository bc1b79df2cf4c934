"""E-mail without an SMTP host: each message becomes one readable log line, not raw MIME.

Django's console backend prints the encoded message (base64 subjects, quoted-printable
bodies) to stdout, which a Celery worker turns into WARNING lines. Here each message is
logged at INFO in words: to whom, the subject and the text, so that someone running the
service without e-mail (``dev.py up``, a trial installation) can still follow a
password-reset link or read a notification.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

logger = logging.getLogger("agency.mail")


class LoggingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            logger.info(
                "E-mail not sent (no EMAIL_HOST) to %s, subject %r:\n%s",
                ", ".join(message.recipients()),
                message.subject,
                message.body,
            )
        return len(email_messages)
