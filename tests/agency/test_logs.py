"""agency.logs: request ids, the user's id, UTC in every line, JSON lines, routine work at DEBUG."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from agency.logs import RequestContextFilter, RequestContextMiddleware, logging_config, task_context_start


def _emit(config: dict, logger: str, message: str, level: int = logging.INFO) -> str:
    """Log one record through the service's handler, format and filters; the line it wrote."""
    stream = io.StringIO()
    logging.config.dictConfig(config)
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    logging.getLogger(logger).log(level, message)
    return stream.getvalue()


@pytest.fixture(autouse=True)
def _restore_logging(settings):
    yield
    logging.config.dictConfig(settings.LOGGING)


def test_a_json_line_carries_utc_time_level_logger_and_the_request_id():
    task_context_start(task_id="abc123")
    line = _emit(logging_config(json=True), "cases", "a case moved")
    record = json.loads(line)
    assert record["message"] == "a case moved"
    assert (record["level"], record["logger"], record["request_id"]) == ("INFO", "cases", "task-abc123")
    assert record["time"].endswith("+00:00")
    assert record["user_id"] is None


def test_readable_lines_are_stamped_in_utc_too():
    line = _emit(logging_config(json=False), "cases", "a case moved")
    assert "+0000 INFO cases" in line
    assert line.rstrip().endswith("a case moved")


def test_routine_periodic_work_is_logged_at_debug_and_the_rest_at_info():
    config = logging_config(json=False)
    assert _emit(config, "celery.app.trace", "Task integrations.dispatch_webhooks[1] succeeded in 0.01s") == ""
    assert _emit(config, "celery.beat", "Scheduler: Sending due task sweep (workflows.sweep_deadlines)") == ""
    assert "send_notification_email" in _emit(config, "celery.app.trace", "Task workflows.send_notification_email[2]")
    debug = logging_config(json=False, level="DEBUG")
    assert "DEBUG" in _emit(debug, "celery.app.trace", "Task integrations.dispatch_webhooks[3] succeeded in 0.01s")


def _serve(request, view):
    return RequestContextMiddleware(view)(request)


def test_each_request_gets_an_id_in_its_records_and_its_answer(alice):
    seen = {}

    def view(request):
        request.user = alice  # as authentication leaves it
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
        RequestContextFilter().filter(record)
        seen.update(request_id=record.request_id, user_id=record.user_id)
        return HttpResponse("ok")

    response = _serve(RequestFactory().get("/"), view)
    assert response["X-Request-ID"] == seen["request_id"]
    assert len(seen["request_id"]) == 32
    assert seen["user_id"] == alice.pk


def test_a_sane_request_id_from_the_proxy_is_kept_and_anything_else_replaced():
    def view(request):
        return HttpResponse("ok")

    kept = _serve(RequestFactory().get("/", HTTP_X_REQUEST_ID="proxy-id-12345678"), view)
    assert kept["X-Request-ID"] == "proxy-id-12345678"
    replaced = _serve(RequestFactory().get("/", HTTP_X_REQUEST_ID="bad id\nwith newline"), view)
    assert replaced["X-Request-ID"] != "bad id\nwith newline"
    assert len(replaced["X-Request-ID"]) == 32


def test_outside_a_request_records_say_so_and_never_load_a_user():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    task_context_start(task_id=None)
    RequestContextFilter().filter(record)
    assert (record.request_id, record.user_id) == ("-", None)


def test_a_request_s_error_line_written_after_the_middleware_carries_its_id_and_a_probe_s_503_is_a_warning(client):
    stream = io.StringIO()
    logging.config.dictConfig(logging_config(json=True))
    logging.getLogger().handlers[0].setStream(stream)
    response = client.get("/api/v1/health/ready/", HTTP_X_REQUEST_ID="probe-0123456789")

    assert response.status_code == 503  # no worker heartbeat in a test
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    probe = next(line for line in lines if line["logger"] == "django.request")
    assert (probe["level"], probe["request_id"]) == ("WARNING", "probe-0123456789")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    RequestContextFilter().filter(record)
    assert record.request_id == "-"  # the request is finished: later lines are not its own
