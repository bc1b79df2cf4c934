"""Project settings, read from the environment so one code base serves dev, CI and production."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from agency.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("AGENCY_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

# A fixed key is acceptable only for local development; production must bring its own.
_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rest_framework_api_key",
    "agency.api",
    "agency.accounts",
    "agency.organisations",
    "cases",
    "evidence",
    "workflows",
    "integrations",
    "billing",
    "recovery",
    "casework",
    "reports",
    # The web pages (client portal, sign-in): on top of every app above, imported by none.
    "django_htmx",
    "csp",
    "web",
]

MIDDLEWARE = [
    # Each request's id (and, once known, its user's) on every log line it causes.
    "agency.logs.RequestContextMiddleware",
    # Outermost but one, so that it sees every answer: errors under /api/ keep the one JSON shape.
    "agency.api.middleware.ApiErrorShapeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Pages speak Simplified Chinese unless the browser or the remembered switch asks for English.
    "web.middleware.PageLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # request.htmx: a page answers an htmx request with the fragment it replaces.
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "agency.urls"
WSGI_APPLICATION = "agency.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context_processors.page",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# Without DATABASE_URL the project runs on a SQLite file under var/ so that a fresh
# machine needs nothing but Python. Production and CI set DATABASE_URL to PostgreSQL.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Connections are kept for a minute. Django's health check would cost one more round
    # trip per request; without it, a connection broken by a database restart fails one
    # request and is then replaced (Django's default). DATABASE_HEALTH_CHECKS=1 turns it on.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=60, conn_health_checks=env_bool("DATABASE_HEALTH_CHECKS", False)
        )
    }
    # Server-side binding lets psycopg prepare a statement after five runs on a
    # connection, so the hot reads (token, portal case) skip parsing and planning: about
    # half their round trip. Turn it off behind a pooler that cannot keep prepared statements.
    postgres = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    if postgres and env_bool("DATABASE_PREPARED_STATEMENTS", True):
        DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "agency.sqlite3")),
            # Several processes (web, worker, beat) share the file: wait for locks rather
            # than failing at once, and take the write lock at the start of a transaction.
            # Write-ahead logging lets readers go on while one process writes, and commits
            # cost one fsync of the log instead of several of the database file.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # Opening a SQLite connection registers Django's SQL functions each time;
            # keeping it for a minute spares every request that cost, as on PostgreSQL.
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker -----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "agency"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: a folder of message files, no server to run.
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Without it kombu writes a relative ./control folder wherever a process starts.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The pages' sign-in; "/" then sends clients to their cases and staff to their tools.
LOGIN_URL = "web:sign-in"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:sign-in"
# Links in e-mails (notifications, password reset) start with this address.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# A password-reset link works for this long (Django's default is three days).
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT", str(24 * 3600)))
# Failed sign-ins per (username, client address) before every way in (the token endpoint,
# the sign-in page, the admin's and the browsable API's login) answers 429.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))
# Sign-in attempts per client address (every way in together), any outcome.
LOGIN_RATE: str | None = os.environ.get("LOGIN_RATE", "30/min") or None

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
# WhiteNoise expects the folder to exist even before collectstatic has filled it.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES: dict[str, dict[str, object]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Evidence is private: a folder outside STATIC_ROOT with no URL (see evidence/storage.py).
    "evidence": {"BACKEND": "evidence.storage.PrivateFileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# With EVIDENCE_S3_BUCKET set, evidence goes to that S3-compatible bucket instead (AWS S3;
# Aliyun OSS, Tencent COS or MinIO through EVIDENCE_S3_ENDPOINT_URL). The objects stay
# private: no ACL, no URL; downloads still go through the application (evidence/storage.py).
# Empty keys leave boto3 to find credentials itself (instance role, ~/.aws).
EVIDENCE_S3_BUCKET = os.environ.get("EVIDENCE_S3_BUCKET", "")
if EVIDENCE_S3_BUCKET:
    EVIDENCE_S3_OPTIONS: dict[str, object] = {
        "bucket_name": EVIDENCE_S3_BUCKET,
        "endpoint_url": os.environ.get("EVIDENCE_S3_ENDPOINT_URL") or None,
        "region_name": os.environ.get("EVIDENCE_S3_REGION") or None,
        "access_key": os.environ.get("EVIDENCE_S3_ACCESS_KEY_ID") or None,
        "secret_key": os.environ.get("EVIDENCE_S3_SECRET_ACCESS_KEY") or None,
        "location": os.environ.get("EVIDENCE_S3_PREFIX", "").strip("/"),
        # "path" for MinIO; "virtual" (bucket in the host name) for OSS and COS; empty: boto3 decides.
        "addressing_style": os.environ.get("EVIDENCE_S3_ADDRESSING_STYLE") or None,
    }
    # Optional server-side encryption of every object written: "AES256" or "aws:kms".
    if os.environ.get("EVIDENCE_S3_SERVER_SIDE_ENCRYPTION"):
        EVIDENCE_S3_OPTIONS["object_parameters"] = {
            "ServerSideEncryption": os.environ["EVIDENCE_S3_SERVER_SIDE_ENCRYPTION"]
        }
    STORAGES["evidence"] = {"BACKEND": "evidence.storage.PrivateS3Storage", "OPTIONS": EVIDENCE_S3_OPTIONS}

# --- Security (production) --------------------------------------------------------------
# Secure by default whenever DEBUG is off; each can be relaxed explicitly, for example
# SECURE_SSL_REDIRECT=0 behind a proxy that already redirects, or for a local benchmark.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
# Probes from load balancers and container health checks speak plain HTTP inside the network.
# Probes speak plain HTTP inside the network: health (live, ready) and ping are exempt.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/(health|health/live|health/ready|ping)/$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The pages run no inline script or style and load nothing from another site (no CDN:
# public CDNs are slow or blocked for many users in mainland China). The API's own pages
# (Swagger, the browsable API) and the admin keep their defaults.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/", "/admin/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST framework ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agency.accounts.authentication.TokenAuthentication",
        # Other programs: ``Authorization: Api-Key <key>`` (integrations.ApiKey).
        "integrations.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Per-key and per-user request limits (API_KEY_RATE_LIMIT, USER_RATE_LIMIT below),
    # counted in the default cache: Redis when REDIS_URL is set, so shared by every worker.
    "DEFAULT_THROTTLE_CLASSES": [
        "integrations.throttling.ApiKeyRateThrottle",
        "integrations.throttling.UserRateThrottle",
    ],
    "DEFAULT_PAGINATION_CLASS": "agency.api.pagination.PageNumberPagination",
    # An unknown ?format= is 406 (not acceptable), not DRF's 404.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "agency.api.negotiation.AgencyContentNegotiation",
    # OPTIONS and the browsable API for views that load their rows through a selector.
    "DEFAULT_METADATA_CLASS": "agency.api.introspection.AgencyMetadata",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "agency.api.introspection.AgencyBrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "agency.api.filters.AgencyFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "agency.api.schema.AgencyAutoSchema",
    "EXCEPTION_HANDLER": "agency.api.errors.exception_handler",
    "DEFAULT_VERSIONING_CLASS": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # How many proxies sit in front of the app; throttles and the sign-in failure counter
    # then take the client's address from X-Forwarded-For instead of the proxy's.
    "NUM_PROXIES": int(os.environ["NUM_PROXIES"]) if os.environ.get("NUM_PROXIES") else None,
}

# Request limits as "<count>/<s|min|hour|day>", from the environment; an empty value turns
# a limit off. API_KEY_RATE_LIMIT counts each API key's requests, USER_RATE_LIMIT each
# signed-in person's. Past the limit the answer is 429 with Retry-After.
API_KEY_RATE_LIMIT = os.environ.get("API_KEY_RATE_LIMIT", "600/min") or None
USER_RATE_LIMIT = os.environ.get("USER_RATE_LIMIT", "1200/min") or None

SPECTACULAR_SETTINGS = {
    "TITLE": "Appeals agency case management API",
    "DESCRIPTION": (
        "Case management for appeals against e-commerce platform penalties. "
        "Staff endpoints live under /api/v1/, the client portal under /api/v1/portal/. "
        'Every error has the shape {"error": {"code", "message", "details"}}.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CaseStateEnum": "cases.models.CaseState",
        "EvidenceKindEnum": "cases.kinds.EvidenceKind",
        "EventKindEnum": "cases.models.EventKind",
        "DeadlineKindEnum": "workflows.models.DeadlineKind",
        "DeadlineStatusEnum": "workflows.models.DeadlineStatus",
        "WaitSourceEnum": "workflows.models.WaitSource",
        # These keep the names they had before deadlines brought a second "status" and "source".
        "StatusEnum": "evidence.models.RequestStatus",
        "SourceEnum": "evidence.models.UploadSource",
        # The appeal window and the follow-up silence (profile and cadence) share these units.
        "WindowUnitEnum": "cases.models.WindowUnit",
        "WebhookEventTypeEnum": "integrations.models.EventType",
        "WebhookDeliveryStatusEnum": "integrations.models.DeliveryStatus",
        "QuoteStatusEnum": "billing.models.QuoteStatus",
        "RecoveryTaskStatusEnum": "recovery.models.TaskStatus",
        "RecoveryTaskOwnerEnum": "recovery.models.TaskOwner",
        "PlatformEnum": "agency.organisations.models.Platform",
        # The system's reasons: history (reason_code) and deadlines (closing_reason_code) share one enum.
        "ReasonCodeEnum": "cases.reasons.ReasonCode",
        "EvidenceBatchStatusEnum": "evidence.models.BatchStatus",
        # Evidence checks: an item's outcome and each finding's result share their field names with the
        # case's outcome and an order's result, which keep the names they had.
        "OutcomeEnum": "cases.models.Outcome",
        "ResultEnum": "cases.models.OrderResult",
        "CheckNameEnum": "evidence.models.CheckName",
        "CheckOutcomeEnum": "evidence.models.CheckOutcome",
        "CheckStateEnum": "evidence.models.CheckState",
        "FindingResultEnum": "evidence.models.FindingResult",
        "ReadMethodEnum": "evidence.models.ReadMethod",
    },
}

# One handler; JSON lines with LOG_FORMAT=json, readable lines otherwise; UTC in both;
# request id and user id on every record (agency.logs). Celery keeps this configuration.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
LOGGING = logging_config(json=LOG_FORMAT == "json", level=os.environ.get("LOG_LEVEL", "INFO"))
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Errors in requests and tasks go to Sentry (or a compatible service) when a DSN is given.
# No personal data is sent by default (no user names, addresses, cookies or bodies).
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
    )

# --- Domain defaults --------------------------------------------------------------------
# How many appeal attempts a case gets when nothing more specific is known. Platform rule
# profiles (evidence work) replace this per platform and violation type.
DEFAULT_APPEAL_ATTEMPT_LIMIT = int(os.environ.get("DEFAULT_APPEAL_ATTEMPT_LIMIT", "2"))

# Automatic assignment at intake (casework.assignment): a case goes to the eligible case
# manager with the least open work, where work = CASE_WEIGHT x open cases + ORDER_WEIGHT
# x open flagged orders, so one 200-order case counts for more than a 3-order one.
AUTO_ASSIGN_AT_INTAKE = os.environ.get("AUTO_ASSIGN_AT_INTAKE", "1") == "1"
ASSIGNMENT_CASE_WEIGHT = int(os.environ.get("ASSIGNMENT_CASE_WEIGHT", "10"))
ASSIGNMENT_ORDER_WEIGHT = int(os.environ.get("ASSIGNMENT_ORDER_WEIGHT", "1"))
# A supplement request entered without the platform's due time is due this many hours after it arrived.
SUPPLEMENT_DEFAULT_HOURS = int(os.environ.get("SUPPLEMENT_DEFAULT_HOURS", "48"))

# --- Evidence -------------------------------------------------------------------------
EVIDENCE_ROOT = Path(os.environ.get("EVIDENCE_ROOT", VAR_DIR / "evidence"))
# The largest evidence file accepted, in bytes (default 20 MB); larger uploads are refused
# while they stream in, before they fill a disk.
EVIDENCE_MAX_UPLOAD_BYTES = int(os.environ.get("EVIDENCE_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
# Bulk uploads (evidence.batches): the largest archive accepted (default 2 GB), and the limits
# read from its directory before anything is unpacked: files in it (ZIPs inside included),
# bytes it unpacks to (default 8 GB), and how many times its packed size one file may unpack
# to (default 100; photos, PDFs and chat exports compress far less, a "ZIP bomb" far more).
EVIDENCE_BULK_MAX_ARCHIVE_BYTES = int(os.environ.get("EVIDENCE_BULK_MAX_ARCHIVE_BYTES", str(2 * 1024**3)))
EVIDENCE_BULK_MAX_ENTRIES = int(os.environ.get("EVIDENCE_BULK_MAX_ENTRIES", "5000"))
EVIDENCE_BULK_MAX_UNPACKED_BYTES = int(os.environ.get("EVIDENCE_BULK_MAX_UNPACKED_BYTES", str(8 * 1024**3)))
EVIDENCE_BULK_MAX_COMPRESSION_RATIO = int(os.environ.get("EVIDENCE_BULK_MAX_COMPRESSION_RATIO", "100"))
# Archives up to this size (default 20 MB) are read, and stored, within the request; larger
# ones by a Celery task, the request answering 202 with the batch to follow.
EVIDENCE_BULK_INLINE_MAX_BYTES = int(os.environ.get("EVIDENCE_BULK_INLINE_MAX_BYTES", str(20 * 1024 * 1024)))
# How long a worker holds a batch without reporting progress before another takes it over.
EVIDENCE_BATCH_LEASE_SECONDS = int(os.environ.get("EVIDENCE_BATCH_LEASE_SECONDS", "120"))
# How long a read batch waits for its commit before it expires and its archive is deleted.
EVIDENCE_BATCH_KEEP_HOURS = int(os.environ.get("EVIDENCE_BATCH_KEEP_HOURS", "72"))
# Evidence checks (evidence.checks): every file is read (text layer, text, OCR) and compared
# with its order by a Celery task on the queue below, so that OCR never holds up e-mail and
# webhooks. OCR threads per worker process (0: ONNX Runtime's default, one per core); how
# many pages of a PDF are read; how long a worker holds a check before another takes it
# over; how often a file whose reading kills or fails every worker is tried.
EVIDENCE_CHECK_QUEUE = os.environ.get("EVIDENCE_CHECK_QUEUE", "evidence-checks")
EVIDENCE_OCR_THREADS = int(os.environ.get("EVIDENCE_OCR_THREADS", "0"))
EVIDENCE_CHECK_MAX_PAGES = int(os.environ.get("EVIDENCE_CHECK_MAX_PAGES", "20"))
EVIDENCE_CHECK_LEASE_SECONDS = int(os.environ.get("EVIDENCE_CHECK_LEASE_SECONDS", "300"))
EVIDENCE_CHECK_MAX_ATTEMPTS = int(os.environ.get("EVIDENCE_CHECK_MAX_ATTEMPTS", "3"))
CELERY_TASK_ROUTES = {"evidence.check_item": {"queue": EVIDENCE_CHECK_QUEUE}}

# --- Flagged-order imports (casework.importing) ----------------------------------------------
# An XLSX workbook is a ZIP archive. Before openpyxl reads one, the sizes in its central
# directory are checked: it may unpack to at most this many bytes in all (default 50 MB; a
# sheet of 50,000 orders with 12 columns unpacks to about 30 MB, with 40 columns to about
# 90 MB), and to at most RATIO times its packed size (default 100; workbooks of 3 to 50,000
# rows measured 4 to 14). A "ZIP bomb" of 200 KB that inflates to 200 MB is refused (400)
# before anything is unpacked.
IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = int(os.environ.get("IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES", str(50 * 1024 * 1024)))
IMPORT_XLSX_MAX_COMPRESSION_RATIO = int(os.environ.get("IMPORT_XLSX_MAX_COMPRESSION_RATIO", "100"))

# --- Integrations -------------------------------------------------------------------------
# How long the first answer to a POST with an Idempotency-Key is kept and replayed.
IDEMPOTENCY_TTL_HOURS = int(os.environ.get("IDEMPOTENCY_TTL_HOURS", "24"))

# --- Working calendar, deadlines and notifications ----------------------------------------
# Deadlines are computed in the agency's business time zone, on its working hours and
# weekdays (ISO numbers, Monday = 1). Public holidays and make-up working days are data
# (workflows.CalendarDay), seeded from chinese-calendar and edited by administrators.
BUSINESS_TIME_ZONE = os.environ.get("BUSINESS_TIME_ZONE", TIME_ZONE)
WORKING_HOURS_START = os.environ.get("WORKING_HOURS_START", "09:00")
WORKING_HOURS_END = os.environ.get("WORKING_HOURS_END", "18:00")
WORKING_WEEKDAYS = os.environ.get("WORKING_WEEKDAYS", "1,2,3,4,5")
# From this day of the year (MM-DD), administrators are told (once) while next year's official
# holiday arrangement is not loaded; until it is, that year runs on statutory holidays only.
CALENDAR_MISSING_NOTICE_FROM = os.environ.get("CALENDAR_MISSING_NOTICE_FROM", "11-01")
# Reminders before a due time, in hours; a missed deadline escalates to the supervisors.
DEADLINE_REMINDER_OFFSETS_HOURS = os.environ.get("DEADLINE_REMINDER_OFFSETS_HOURS", "72,24,4")
# How many due deadlines one sweep run handles before it queues the next run.
DEADLINE_SWEEP_BATCH = int(os.environ.get("DEADLINE_SWEEP_BATCH", "500"))
# E-mail: logged in words (agency.mail, INFO) unless an SMTP host is configured.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "agency.mail.LoggingEmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "appeals@agency.example")

CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "workflows.record_heartbeat", "schedule": 60.0},
    "deadline-sweep": {"task": "workflows.sweep_deadlines", "schedule": 60.0},
    "calendar-missing-notice": {"task": "workflows.calendar_missing_notice", "schedule": 3600.0},
    # Events are also dispatched as they commit; this run catches any whose task was lost.
    "webhook-dispatch": {"task": "integrations.dispatch_webhooks", "schedule": 10.0},
    "idempotency-purge": {"task": "integrations.purge_idempotency_records", "schedule": 3600.0},
    # Bulk evidence: a batch whose worker died is handed to another; unused previews expire.
    "evidence-batches-resume": {"task": "evidence.batches_resume", "schedule": 60.0},
    "evidence-batches-expire": {"task": "evidence.batches_expire", "schedule": 3600.0},
    # Evidence checks whose task was lost or whose worker died are queued again.
    "evidence-checks-resume": {"task": "evidence.checks_resume", "schedule": 60.0},
}

# --- Webhooks ---------------------------------------------------------------------------
# Only for tests and the demo: lets webhook URLs be plain http and point at local addresses.
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", False)
WEBHOOK_TIMEOUT_SECONDS = int(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
# How long a worker holds a delivery it took (well above the timeout); a worker killed mid-send
# leaves its claim to run out, and the next dispatcher run sends the delivery again.
WEBHOOK_CLAIM_SECONDS = int(os.environ.get("WEBHOOK_CLAIM_SECONDS", "60"))
# How long a failing delivery is retried before it is marked failed.
WEBHOOK_RETRY_WINDOW_HOURS = int(os.environ.get("WEBHOOK_RETRY_WINDOW_HOURS", "24"))
