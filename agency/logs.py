"""Logging for operators: one time zone (UTC) in every line, a request id and the user's id
on every record of a request (a task's id on a task's records), JSON lines with
``LOG_FORMAT=json`` or readable lines by default, and routine periodic work at DEBUG.

``logging_config()`` is what settings (and gunicorn.conf.py, so that gunicorn's master and
workers write the same lines) put in place; ``RequestContextMiddleware`` gives each request
its id, echoed in the ``X-Request-ID`` response header.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.core.signals import request_finished
from django.utils.functional import empty

# The request (or task) being served in this thread or task, for the records it logs.
_request_id: ContextVar[str | None] = ContextVar("log_request_id", default=None)
_request: ContextVar[Any] = ContextVar("log_request", default=None)

# An incoming X-Request-ID (from the proxy in front) is kept when it looks like an id.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")

# Routine periodic work: each run is logged at DEBUG, not INFO (failures still at WARNING+).
ROUTINE_TASKS = (
    "integrations.dispatch_webhooks",
    "workflows.sweep_deadlines",
    "workflows.record_heartbeat",
    "integrations.purge_idempotency_records",
)
# The loggers that announce a task's receipt, success or scheduling.
TASK_ANNOUNCERS = ("celery.worker.strategy", "celery.app.trace", "celery.beat")


class UTCFormatter(logging.Formatter):
    """Readable lines, stamped in UTC with its offset, whatever the process's local time."""

    converter = staticmethod(time.gmtime)

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s user=%(user_id)s] %(message)s",
            datefmt="%Y-%m-%dT%H:%M:%S+0000",
        )


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    formatter = JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S+00:00",
    )
    formatter.converter = time.gmtime
    return formatter


def _user_id(request: Any) -> int | None:
    """The signed-in user's id, if the request already knows it (never loads it for a log line)."""
    user = getattr(request, "__dict__", {}).get("user")
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is None or wrapped is empty:  # a lazy user not yet evaluated
        return None
    return getattr(wrapped, "pk", None) if getattr(wrapped, "is_authenticated", False) else None


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``user_id`` to every record ("-" outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        request = _request.get()
        record.user_id = _user_id(request) if request is not None else None
        return True


class RoutineTasksAtDebug(logging.Filter):
    """Celery's receipt, success and scheduling lines of routine periodic tasks become DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and any(name in record.getMessage() for name in ROUTINE_TASKS):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def logging_config(*, json: bool, level: str = "INFO") -> dict[str, Any]:
    """The dictConfig for the service: one console handler, its level the threshold for all."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": RequestContextFilter},
            "routine": {"()": RoutineTasksAtDebug},
            "probes": {"()": HealthProbesAtWarning},
        },
        "formatters": {
            "json": {"()": json_formatter},
            "plain": {"()": UTCFormatter},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json else "plain",
                "filters": ["context"],
                # Records lowered to DEBUG by a filter are dropped here unless LOG_LEVEL=DEBUG.
                "level": level,
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "django.request": {"filters": ["probes"]},
            **{name: {"filters": ["routine"]} for name in TASK_ANNOUNCERS},
            # gunicorn's own loggers write through the same handler (gunicorn.conf.py).
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": level, "propagate": False},
        },
    }


class RequestContextMiddleware:
    """Give each request an id (the proxy's X-Request-ID when it sends a sane one) for its logs.

    The id stays on the thread until the request is finished (``request_finished``), so
    the lines Django writes after the middleware (``django.request`` on a 4xx or 5xx)
    carry it too.
    """

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        _request_id.set(request_id)
        _request.set(request)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def request_context_end(**kwargs: Any) -> None:
    """``request_finished``: the thread's next lines are no longer this request's."""
    _request_id.set(None)
    _request.set(None)


class HealthProbesAtWarning(logging.Filter):
    """A readiness probe's 503 says the service is not ready (its body names why): a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and "/api/v1/health/" in record.getMessage():
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


request_finished.connect(request_context_end, dispatch_uid="agency.logs.request_context_end")


def task_context_start(task_id: str | None = None, **kwargs: Any) -> None:
    """Celery task_prerun: the task's records carry its id."""
    _request_id.set(f"task-{task_id}" if task_id else None)
    _request.set(None)


def task_context_end(**kwargs: Any) -> None:
    _request_id.set(None)
