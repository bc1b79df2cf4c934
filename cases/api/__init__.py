"""HTTP API of the cases app: staff endpoints (staff.py for cases and their orders, and one module per topic:
appeals, assignment, conversation, rule_profiles), the client portal's (portal.py), and urls.py."""
