"""HTTP API of the reports app: one GET endpoint per report, for supervisors and administrators (staff.py)."""
