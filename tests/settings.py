"""Settings for the test suite: the project's own, with a throwaway key and fast hashing."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")

from agency.settings import *  # noqa: F403

# Tests talk plain HTTP to the test client; production keeps the redirect on.
SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405

# Evidence files go to a throwaway folder per test process, never into var/.
EVIDENCE_ROOT = Path(tempfile.mkdtemp(prefix="agency-evidence-tests-"))

# One OCR thread per test process: pytest-xdist runs a process per core already.
EVIDENCE_OCR_THREADS = 1

# The webhook tests' receiver (pytest-httpserver) listens on plain http on 127.0.0.1.
WEBHOOK_ALLOW_PRIVATE_URLS = True

# Request rate limits are off for the suite: ids repeat across tests and the local-memory
# cache outlives each test, so counts would leak. tests/integrations/test_throttling.py
# switches them on with tiny rates.
API_KEY_RATE_LIMIT = None
USER_RATE_LIMIT = None
LOGIN_RATE = None

# With REDIS_URL (as CI runs), each pytest-xdist worker caches in a Redis database of its
# own: sign-in failure counts one worker's tests build up must not lock another worker's
# browser tests out, and a test's cache.clear() (FLUSHDB) must not empty the other's.
if REDIS_URL:  # noqa: F405
    from urllib.parse import urlsplit, urlunsplit

    # Database 0 stays the Celery broker's; a run without workers uses 1, worker gwN uses 2 + N.
    _worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    _database = 2 + int(_worker.removeprefix("gw")) % 14 if _worker.startswith("gw") else 1
    CACHES["default"]["LOCATION"] = urlunsplit(urlsplit(REDIS_URL)._replace(path=f"/{_database}"))  # noqa: F405

# With EVIDENCE_S3_BUCKET (as CI runs, against moto's S3 server), each test run and each
# pytest-xdist worker keeps its evidence under a key prefix of its own, so no test sees
# another's objects; tests/conftest.py creates the bucket when it is missing.
if EVIDENCE_S3_BUCKET:  # noqa: F405
    import uuid

    _worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    _prefix = f"tests-{_worker}-{uuid.uuid4().hex[:12]}"
    _location = EVIDENCE_S3_OPTIONS["location"]  # noqa: F405
    # The same dict STORAGES["evidence"]["OPTIONS"] holds.
    EVIDENCE_S3_OPTIONS["location"] = f"{_location}/{_prefix}" if _location else _prefix  # noqa: F405
