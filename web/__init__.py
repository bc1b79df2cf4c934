"""The web pages: sign-in, the client portal, and the staff landing page.

The top layer: pages call the same services and selectors as the API and are imported by
no other app. Templates are server-rendered; htmx (django-htmx) swaps fragments in place,
and every page also works without JavaScript.
"""
