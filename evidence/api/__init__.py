"""Staff evidence API: thin views and serializers over evidence.services and evidence.selectors."""
