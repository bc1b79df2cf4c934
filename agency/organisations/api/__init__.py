"""HTTP API of the organisations app: client organisations and their shops, for staff."""
