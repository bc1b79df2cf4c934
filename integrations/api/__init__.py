"""HTTP API of the integrations app: API keys (api_keys.py) and webhooks (webhooks.py), for administrators."""
