"""HTTP API of the evidence app: thin views and serializers over evidence.services, evidence.requests and
evidence.selectors. Staff: staff.py (items), requests.py (evidence requests), dossier.py (the appeal dossier);
the client portal: portal.py (the client's own evidence and what is asked of it); base.py: what both share."""
