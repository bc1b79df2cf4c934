"""Workflow endpoints: the working calendar, stage SLAs and notifications."""
