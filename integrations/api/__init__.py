"""HTTP API of the integrations app."""
