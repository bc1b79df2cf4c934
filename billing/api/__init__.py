"""HTTP API of the billing app: the assessment and fee quotes for staff (staff.py), the client's quotes (portal.py)."""
