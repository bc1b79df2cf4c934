"""Who may reach the endpoints for running the agency, in one sweep over all of them.

A project-wide check, so it lives under tests/agency/ and is named for what it checks, not for a module.
Each feature's own tests check its rules in depth; this file makes sure no endpoint was
left open: anonymous callers get 401, clients get 403 on staff endpoints and 404 for another
organisation's case, staff who cannot see a case get 404, staff get 403 in the portal, and
roles below supervisor get 403 on management endpoints.
"""

from __future__ import annotations

import pytest

from reports.api.urls import urlpatterns as report_patterns

pytestmark = pytest.mark.django_db

# Staff endpoints on one case, with the methods they answer.
CASE_STAFF = [
    ("get", "cases/{id}/assessment/"),
    ("patch", "cases/{id}/assessment/"),
    ("post", "cases/{id}/assessment/order-causes/"),
    ("get", "cases/{id}/quotes/"),
    ("post", "cases/{id}/quotes/"),
    ("get", "cases/{id}/notes/"),
    ("post", "cases/{id}/notes/"),
    ("get", "cases/{id}/messages/"),
    ("post", "cases/{id}/messages/"),
    ("get", "cases/{id}/attempts/"),
    ("get", "cases/{id}/supplements/"),
    ("post", "cases/{id}/supplements/"),
    ("get", "cases/{id}/outcome/"),
    ("post", "cases/{id}/outcome/"),
    ("get", "cases/{id}/recovery-plan/"),
    ("post", "cases/{id}/recovery-plan/tasks/"),
    ("post", "cases/{id}/recovery-plan/waive/"),
]
CASE_PORTAL = [
    ("get", "portal/cases/{id}/quotes/"),
    ("get", "portal/cases/{id}/messages/"),
    ("post", "portal/cases/{id}/messages/"),
    ("get", "portal/cases/{id}/outcome/"),
    ("get", "portal/cases/{id}/recovery-plan/"),
]
REPORTS = [("get", str(pattern.pattern)) for pattern in report_patterns]
MANAGEMENT = [("get", "staff/"), *REPORTS]


def _call(client, method, path, case):
    return getattr(client, method)("/api/v1/" + path.format(id=case.pk), {}, format="json")


@pytest.fixture
def case(case_in):
    return case_in("assessment")


def test_the_sweep_covers_every_report():
    assert len(REPORTS) == 6


@pytest.mark.parametrize(
    ("method", "path"), [*CASE_STAFF, *CASE_PORTAL, *MANAGEMENT, ("get", "workload/"), ("get", "recovery-templates/")]
)
def test_anonymous_callers_are_asked_to_sign_in(api, case, method, path):
    assert _call(api(), method, path, case).status_code == 401


@pytest.mark.parametrize(("method", "path"), [*CASE_STAFF, *MANAGEMENT, ("get", "workload/")])
def test_clients_cannot_use_staff_endpoints(api, alice, case, method, path):
    assert _call(api(alice), method, path, case).status_code == 403


class Missing:
    pk = 999_999_999


def _looks_missing(client, method, path, case):
    """The case answers exactly as a case that does not exist: reads 404, writes the same as for no case.

    A write with an empty body may be refused for its input (400) before the case is looked
    up; it is then refused the same way for any id, so it reveals nothing either.
    """
    seen = _call(client, method, path, case)
    missing = _call(client, method, path, Missing)
    assert (seen.status_code, seen.data) == (missing.status_code, missing.data)
    assert seen.status_code == 404 if method == "get" else seen.status_code in (400, 403, 404)


@pytest.mark.parametrize(("method", "path"), CASE_PORTAL)
def test_another_organisations_case_looks_missing_to_a_client(api, charlie, case, method, path):
    _looks_missing(api(charlie), method, path, case)


@pytest.mark.parametrize(("method", "path"), CASE_STAFF)
def test_a_case_staff_cannot_see_looks_missing(api, outsider_manager, case, method, path):
    _looks_missing(api(outsider_manager), method, path, case)


@pytest.mark.parametrize(("method", "path"), CASE_PORTAL)
def test_staff_cannot_use_the_portal(api, manager, case, method, path):
    assert _call(api(manager), method, path, case).status_code == 403


@pytest.mark.parametrize(("method", "path"), MANAGEMENT)
@pytest.mark.parametrize("who", ["manager", "reviewer", "intake"])
def test_roles_below_supervisor_cannot_use_management_endpoints(api, request, case, who, method, path):
    assert _call(api(request.getfixturevalue(who)), method, path, case).status_code == 403
