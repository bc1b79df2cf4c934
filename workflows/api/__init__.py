"""Workflow endpoints: the working calendar and stage SLAs, deadlines and waits, platform contacts, notifications,
and the client's deadlines (portal.py)."""
