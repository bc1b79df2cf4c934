"""HTTP API of the accounts app: token sign-in and the caller's profile (auth), staff settings (staff)."""
