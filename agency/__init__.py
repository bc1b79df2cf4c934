"""The agency project: settings, URLs, the Celery app, accounts and organisations."""

from agency.celery import app as celery_app

__all__ = ["celery_app"]
