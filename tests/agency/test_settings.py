"""Settings read from the environment: database, cache, broker, time zone, and production checks."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTROLLED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY")
# Variables the project reads that the developer's shell might set; cleared so each case starts bare.
ALSO_CLEARED = (
    "DJANGO_SETTINGS_MODULE",
    "TIME_ZONE",
    "SQLITE_PATH",
    "STATIC_ROOT",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "USE_X_FORWARDED_PROTO",
    "CELERY_TASK_ALWAYS_EAGER",
    "DATABASE_PREPARED_STATEMENTS",
    "DATABASE_HEALTH_CHECKS",
    "NUM_PROXIES",
)

PRINT_SETTINGS = """
import django, json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "agency.settings"
django.setup()
from django.conf import settings as s
print(json.dumps({
    "engine": s.DATABASES["default"]["ENGINE"],
    "db_name": str(s.DATABASES["default"]["NAME"]),
    "db_host": s.DATABASES["default"].get("HOST", ""),
    "db_port": s.DATABASES["default"].get("PORT", ""),
    "broker": s.CELERY_BROKER_URL,
    "broker_options": {k: str(v) for k, v in s.CELERY_BROKER_TRANSPORT_OPTIONS.items()},
    "cache": s.CACHES["default"]["BACKEND"],
    "cache_location": s.CACHES["default"].get("LOCATION", ""),
    "time_zone": s.TIME_ZONE,
    "debug": s.DEBUG,
    "secret_key": s.SECRET_KEY,
    "db_options": s.DATABASES["default"].get("OPTIONS", {}),
    "conn_max_age": s.DATABASES["default"].get("CONN_MAX_AGE"),
    "health_checks": s.DATABASES["default"].get("CONN_HEALTH_CHECKS"),
    "num_proxies": s.REST_FRAMEWORK.get("NUM_PROXIES"),
}))
"""


def base_env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in (*CONTROLLED, *ALSO_CLEARED):
        env.pop(name, None)
    env["AGENCY_VAR_DIR"] = str(var_dir)
    env.update(extra)
    return env


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def settings_under(var_dir: Path, **extra: str) -> dict[str, Any]:
    result = run_python(["-c", PRINT_SETTINGS], base_env(var_dir, **extra))
    assert result.returncode == 0, result.stderr
    # Only the JSON line: settings may log on import.
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def test_bare_development_environment(tmp_path: Path) -> None:
    s = settings_under(tmp_path, DEBUG="1")
    assert s["debug"] is True
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["db_name"] == str(tmp_path / "agency.sqlite3")
    assert s["broker"] == "filesystem://"
    assert s["broker_options"]["data_folder_in"] == str(tmp_path / "broker" / "queue")
    assert s["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert s["time_zone"] == "Asia/Shanghai"
    assert s["secret_key"].startswith("dev-only-insecure-key")
    # The broker folders are made up front so the worker and the web process agree on them.
    assert (tmp_path / "broker" / "queue").is_dir()


def test_filesystem_broker_keeps_all_its_folders_under_the_var_dir(tmp_path: Path) -> None:
    """Every folder kombu's filesystem transport writes to must be configured, or it lands in the cwd."""
    s = settings_under(tmp_path, DEBUG="1")
    options = s["broker_options"]
    for folder in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        assert folder in options, f"{folder} is not set: kombu would use a folder relative to the cwd"
        assert Path(options[folder]).is_relative_to(tmp_path)


def test_sqlite_path_overrides_the_file(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.sqlite3"
    s = settings_under(tmp_path / "var", DEBUG="1", SQLITE_PATH=str(target))
    assert s["db_name"] == str(target)


def test_postgres_and_redis_from_urls(tmp_path: Path) -> None:
    s = settings_under(
        tmp_path,
        DEBUG="1",
        DATABASE_URL="postgres://u:p@db:5432/agency",
        REDIS_URL="redis://r:6379/0",
    )
    assert s["engine"] == "django.db.backends.postgresql"
    assert (s["db_name"], s["db_host"], s["db_port"]) == ("agency", "db", 5432)
    assert s["broker"] == "redis://r:6379/0"
    assert s["broker_options"] == {}
    assert s["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert s["cache_location"] == "redis://r:6379/0"


def test_celery_broker_url_overrides_redis_url_for_the_broker_only(tmp_path: Path) -> None:
    s = settings_under(
        tmp_path,
        DEBUG="1",
        REDIS_URL="redis://r:6379/0",
        CELERY_BROKER_URL="redis://broker:6379/3",
    )
    assert s["broker"] == "redis://broker:6379/3"
    assert s["cache_location"] == "redis://r:6379/0"


def test_time_zone_from_the_environment(tmp_path: Path) -> None:
    s = settings_under(tmp_path, DEBUG="1", TIME_ZONE="Europe/London")
    assert s["time_zone"] == "Europe/London"


@pytest.mark.parametrize("debug", [None, "0", "false"])
def test_production_without_secret_key_refuses_to_start(tmp_path: Path, debug: str | None) -> None:
    extra = {} if debug is None else {"DEBUG": debug}
    result = run_python(["-c", PRINT_SETTINGS], base_env(tmp_path, **extra))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr
    assert result.stdout == ""


def test_production_with_secret_key_starts_without_debug(tmp_path: Path) -> None:
    key = secrets.token_urlsafe(45)
    s = settings_under(tmp_path, DEBUG="0", SECRET_KEY=key)
    assert s["debug"] is False
    assert s["secret_key"] == key


def test_deploy_checks_pass_with_production_environment(tmp_path: Path) -> None:
    env = base_env(
        tmp_path,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(45)[:60],
        ALLOWED_HOSTS="agency.example.com",
        DJANGO_SETTINGS_MODULE="agency.settings",
    )
    assert len(env["SECRET_KEY"]) == 60
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_checks_catch_a_weak_production_setting(tmp_path: Path) -> None:
    """The check above can fail: relaxing HSTS in production is reported."""
    env = base_env(
        tmp_path,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(45)[:60],
        ALLOWED_HOSTS="agency.example.com",
        SECURE_HSTS_SECONDS="0",
    )
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


def test_postgres_connections_are_kept_and_statements_prepared(tmp_path: Path) -> None:
    s = settings_under(tmp_path, DEBUG="1", DATABASE_URL="postgres://u:p@db:5432/agency")

    assert s["db_options"] == {"server_side_binding": True, "prepare_threshold": 5}
    assert (s["conn_max_age"], s["health_checks"]) == (60, False)


def test_database_tuning_can_be_switched_for_a_pooler(tmp_path: Path) -> None:
    s = settings_under(
        tmp_path,
        DEBUG="1",
        DATABASE_URL="postgres://u:p@db:5432/agency",
        DATABASE_PREPARED_STATEMENTS="0",
        DATABASE_HEALTH_CHECKS="1",
        NUM_PROXIES="1",
    )

    assert "server_side_binding" not in s["db_options"]
    assert s["health_checks"] is True
    assert s["num_proxies"] == 1


def test_sqlite_keeps_its_connection_too(tmp_path: Path) -> None:
    s = settings_under(tmp_path, DEBUG="1")

    assert s["conn_max_age"] == 60
    assert s["num_proxies"] is None


def test_the_embedded_sqlite_database_writes_ahead(tmp_path: Path) -> None:
    """Web, worker and beat share one file: WAL lets readers go on while one of them writes."""
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'agency.settings'; django.setup()\n"
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])\n"
        "    c.execute('PRAGMA synchronous'); print(c.fetchone()[0])\n"
    )
    result = run_python(["-c", script], base_env(tmp_path, DEBUG="1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["wal", "1"]  # synchronous=NORMAL is 1


def test_sentry_reports_errors_only_when_a_dsn_is_given_and_sends_no_personal_data(tmp_path: Path) -> None:
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'agency.settings'; django.setup()\n"
        "import sentry_sdk\n"
        "client = sentry_sdk.get_client()\n"
        "names = sorted(client.integrations) if client.is_active() else []\n"
        "print(client.is_active(), client.options.get('send_default_pii'), 'django' in names, 'celery' in names)\n"
    )
    off = run_python(["-c", script], base_env(tmp_path, DEBUG="1"))
    assert off.returncode == 0, off.stderr
    assert off.stdout.split()[0] == "False"
    on = run_python(["-c", script], base_env(tmp_path, DEBUG="1", SENTRY_DSN="https://public@sentry.example.com/1"))
    assert on.returncode == 0, on.stderr
    assert on.stdout.split() == ["True", "False", "True", "True"]


def test_logs_are_json_lines_in_utc_with_log_format_json(tmp_path: Path) -> None:
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'agency.settings'; django.setup()\n"
        "import logging; logging.getLogger('cases').warning('a line')\n"
    )
    result = run_python(["-c", script], base_env(tmp_path, DEBUG="1", LOG_FORMAT="json"))
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "cases", "a line")
    assert line["time"].endswith("+00:00")
