"""The Celery application: configured from Django settings, tasks found in every app."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

from agency.logs import task_context_end, task_context_start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agency.settings")

app = Celery("agency")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A task's log records carry its id as their request id (agency.logs).
task_prerun.connect(task_context_start, weak=False)
task_postrun.connect(task_context_end, weak=False)
