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
