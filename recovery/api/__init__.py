"""HTTP API of the recovery app: templates and a case's plan for staff (staff.py), the client's plan (portal.py)."""
