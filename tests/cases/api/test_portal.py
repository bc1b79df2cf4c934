"""The client portal's case endpoints (``cases.api.portal``): own organisation only, client-safe fields,
timeline, withdrawal."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import CaseEvent
from casework import services

INTERNAL_FIELDS = {
    "assignee",
    "closing_reason",
    "created_by",
    "organisation",
    "appeal_attempt_limit",
    "restrictions_note",
}


def test_list_shows_only_own_organisation(api, alice, bob, charlie, case_in, make_case, star_shop):
    mine = case_in("evidence")
    theirs = make_case(star_shop)

    for user, expected in [(alice, [mine.reference]), (bob, [mine.reference]), (charlie, [theirs.reference])]:
        response = api(user).get("/api/v1/portal/cases/")
        assert response.status_code == 200
        assert [row["reference"] for row in response.data["results"]] == expected


def test_detail_has_client_safe_fields_only(api, alice, case_in):
    case = case_in("submitted")

    response = api(alice).get(f"/api/v1/portal/cases/{case.pk}/")

    assert response.status_code == 200
    body = response.data
    assert body["reference"] == case.reference
    assert body["state"] == "submitted"
    assert body["state_display"] == "Submitted to the platform"
    assert body["shop"] == {"name": "Blossom Home Tmall Store", "platform": "tmall", "platform_display": "Tmall"}
    assert body["flagged_order_count"] == 3
    assert body["can_withdraw"] is True
    assert not INTERNAL_FIELDS & set(body)


def test_timeline_is_plain_language_and_hides_internal_events(api, alice, supervisor, manager, case_in):
    case = case_in("submitted")
    internal = CaseEvent.objects.create(case=case, actor=supervisor, kind="details_updated", reason="Secret note")

    response = api(alice).get(f"/api/v1/portal/cases/{case.pk}/timeline/")

    assert response.status_code == 200
    texts = [entry["text"] for entry in response.data["results"]]
    chat_due = timezone.localtime(case.deadlines.get(kind="chat_evidence_expiry").due_at)
    assert texts == [
        f"Your case {case.reference} was opened.",
        "Flagged orders recorded on your case: 3.",
        f"Chat records for your orders must be saved by {chat_due:%Y-%m-%d %H:%M}.",
        "A case manager is now looking after your case.",
        "We have started assessing your case.",
        "We proposed a flat fee of 8000.00 CNY.",
        "The fee quote was accepted.",
        "We have taken on your case and are collecting evidence for each flagged order.",
        "The appeal was submitted to the platform (attempt 1).",
        "Chat records are no longer needed at this stage.",
    ]
    assert internal.pk not in [entry["id"] for entry in response.data["results"]]
    assert "Secret note" not in str(response.data)
    assert manager.label not in str(response.data)  # no staff names in the client's view


def test_timeline_reports_outcome_and_reappeal(api, alice, supervisor, case_in):
    case = case_in("resolved")
    services.case_transition(case_id=case.pk, name="reappeal", actor=supervisor)

    texts = [e["text"] for e in api(alice).get(f"/api/v1/portal/cases/{case.pk}/timeline/").data["results"]]

    assert texts[-4:] == [
        "The platform rejected the appeal.",
        "The platform's decision per order: 0 cleared, 3 upheld.",
        "The fee due for your case is 8000.00 CNY.",  # a flat fee, not refundable
        "We are preparing a further appeal with more evidence.",
    ]


def test_client_withdraws_with_reason(api, alice, case_in):
    case = case_in("evidence")

    response = api(alice).post(f"/api/v1/portal/cases/{case.pk}/withdraw/", {"reason": "We settled."})

    assert response.status_code == 200, response.data
    assert response.data["state"] == "withdrawn"
    assert response.data["can_withdraw"] is False
    event = CaseEvent.objects.filter(case=case, kind="state_changed").latest("id")
    assert (event.kind, event.actor, event.reason) == ("state_changed", alice, "We settled.")


def test_withdraw_needs_a_reason(api, alice, case_in):
    case = case_in("evidence")

    response = api(alice).post(f"/api/v1/portal/cases/{case.pk}/withdraw/", {"reason": ""})

    assert response.status_code == 400
    assert response.data["error"]["details"]["unmet_conditions"][0]["code"] == "reason_required"
    case.refresh_from_db()
    assert case.state == "evidence"


@pytest.mark.parametrize("state", ["closed", "declined", "withdrawn"])
def test_withdraw_finished_case_is_a_conflict(api, alice, case_in, state):
    case = case_in(state)

    response = api(alice).post(f"/api/v1/portal/cases/{case.pk}/withdraw/", {"reason": "Changed our mind."})

    assert response.status_code == 409
    case.refresh_from_db()
    assert case.state == state


PORTAL_ENDPOINTS = [
    ("get", "/api/v1/portal/cases/{id}/"),
    ("get", "/api/v1/portal/cases/{id}/timeline/"),
    ("post", "/api/v1/portal/cases/{id}/withdraw/"),
]


@pytest.mark.parametrize(("method", "path"), PORTAL_ENDPOINTS)
def test_another_organisation_gets_404_exactly_like_a_missing_case(api, charlie, case_in, method, path):
    case = case_in("evidence")
    client = api(charlie)

    theirs = getattr(client, method)(path.format(id=case.pk), {"reason": "x"})
    missing = getattr(client, method)(path.format(id=999999), {"reason": "x"})

    assert theirs.status_code == missing.status_code == 404
    assert theirs.data == missing.data
    case.refresh_from_db()
    assert case.state == "evidence"


@pytest.mark.parametrize(("method", "path"), [*PORTAL_ENDPOINTS, ("get", "/api/v1/portal/cases/")])
def test_anonymous_gets_401(api, case_in, method, path):
    case = case_in("evidence")

    response = getattr(api(), method)(path.format(id=case.pk), {"reason": "x"})

    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path"), [*PORTAL_ENDPOINTS, ("get", "/api/v1/portal/cases/")])
@pytest.mark.parametrize("staff", ["supervisor", "manager"])
def test_staff_are_not_portal_users(api, request, case_in, staff, method, path):
    case = case_in("evidence")

    response = getattr(api(request.getfixturevalue(staff)), method)(path.format(id=case.pk), {"reason": "x"})

    assert response.status_code == 403
    case.refresh_from_db()
    assert case.state == "evidence"


@pytest.mark.parametrize("page_size", [10, 100])
def test_portal_list_query_count_does_not_grow(api, alice, make_case, blossom_shop, page_size):
    for _ in range(101):
        make_case(blossom_shop, orders=1)
    client = api(alice)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/portal/cases/?page_size={page_size}")

    assert len(response.data["results"]) == page_size
    # The paginator's COUNT and the page itself, each scoped by the membership subquery.
    assert len(queries) == 2, [q["sql"] for q in queries]


@pytest.mark.parametrize("page_size", [10, 100])
def test_timeline_query_count_does_not_grow(api, alice, case_in, supervisor, page_size):
    case = case_in("intake")
    for _ in range(60):
        services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=None, reason="Rebalancing.")
        services.case_assign(case_id=case.pk, actor=supervisor, assignee_id=case.assignee_id)
    client = api(alice)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/portal/cases/{case.pk}/timeline/?page_size={page_size}")

    assert len(response.data["results"]) == page_size
    # The case (scoped), the paginator's COUNT, and the page.
    assert len(queries) == 3, [q["sql"] for q in queries]


@pytest.mark.parametrize("state", ["intake", "resolved", "withdrawn"])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_fast_portal_representation_matches_drf(case_in, state, language):
    """The hand-written to_representation must say exactly what the declared fields say."""
    from django.utils import translation
    from rest_framework import serializers

    from cases.api.portal import PortalCaseSerializer

    case = case_in(state)
    with translation.override(language):
        fast = PortalCaseSerializer(case).data
        generic = serializers.ModelSerializer.to_representation(PortalCaseSerializer(case), case)

    assert fast == generic
    assert list(fast) == list(generic)


def test_portal_case_get_has_the_same_scope_as_the_list(alice, bob, charlie, case_in, make_case, star_shop):
    """The detail's fixed SQL and the list's ORM query must agree on who sees what."""
    from agency.errors import NotFound
    from cases import selectors

    cases = [case_in("intake"), make_case(star_shop)]
    for user in (alice, bob, charlie):
        listed = set(selectors.portal_case_list(user=user).values_list("pk", flat=True))
        for case in cases:
            if case.pk in listed:
                found = selectors.portal_case_get(user=user, case_id=case.pk)
                assert (found.pk, found.shop.name, found.shop.platform) == (case.pk, case.shop.name, case.shop.platform)
            else:
                with pytest.raises(NotFound):
                    selectors.portal_case_get(user=user, case_id=case.pk)
    assert listed  # charlie sees the Star case; the loop above covered both branches


# --- Restrictions in words (issue 12) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", ["Search demotion", "Ban from marketing events"]), ("zh-hans", ["搜索降权", "限制参加营销活动"])],
)
def test_the_portal_names_restrictions_in_the_readers_language(api, alice, make_case, blossom_shop, language, words):
    case = make_case(blossom_shop, restrictions=["search_demotion", "marketing_ban"])

    detail = api(alice).get(f"/api/v1/portal/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE=language).data
    listed = api(alice).get("/api/v1/portal/cases/", HTTP_ACCEPT_LANGUAGE=language).data["results"][0]

    for body in (detail, listed):
        # The codes stay as they were, for programs; the words sit beside them, in the same order.
        assert body["restrictions"] == ["search_demotion", "marketing_ban"]
        assert body["restrictions_display"] == words


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_fast_portal_representation_matches_drf_with_restrictions(make_case, blossom_shop, language):
    from django.utils import translation
    from rest_framework import serializers

    from cases.api.portal import PortalCaseSerializer

    case = make_case(blossom_shop, restrictions=["store_closure", "fine"])
    with translation.override(language):
        fast = PortalCaseSerializer(case).data
        generic = serializers.ModelSerializer.to_representation(PortalCaseSerializer(case), case)

    assert fast == generic
    assert fast["restrictions_display"]
    assert fast["restrictions_display"] != fast["restrictions"]


def test_the_schema_gives_restrictions_as_codes_and_their_words_as_text(api):
    schema = api().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    properties = schema["components"]["schemas"]["PortalCase"]["properties"]

    codes = properties["restrictions"]["items"]["$ref"].rsplit("/", 1)[-1]
    assert schema["components"]["schemas"][codes]["enum"] == [
        "search_demotion",
        "marketing_ban",
        "listing_removal",
        "fine",
        "sales_restriction",
        "funds_frozen",
        "store_closure",
        "other",
    ]
    assert properties["restrictions_display"]["items"] == {"type": "string"}
