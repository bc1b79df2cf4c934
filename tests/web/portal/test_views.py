"""The client portal's pages (``web.portal.views``): each task a merchant performs, the scoping that keeps
cases apart, and what every page carries (a content security policy without inline scripts, CSRF on its
forms)."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from agency.accounts.models import User
from agency.organisations.models import Shop
from billing.models import FeeQuote, QuoteStatus
from billing.services import quote_propose
from cases.assessment import assessment_record
from cases.models import Case, CaseMessage, CaseState
from evidence.models import EvidenceItem, RequestStatus
from recovery.models import RecoveryTask, TaskOwner, TaskStatus
from tests.conftest import ask_for_chat_log
from tests.evidence.samples import EXE, png
from tests.factories import evidence_item
from workflows.models import Notification

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def propose(case: Case, supervisor: User) -> FeeQuote:
    assessment_record(case_id=case.pk, actor=supervisor, recommendation="take", merit_score=70)
    return quote_propose(case_id=case.pk, actor=supervisor, fee_model="flat", amount=Decimal("6000"))


def files(*pairs: tuple[str, bytes]) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(name, content, content_type="application/octet-stream") for name, content in pairs]


# --- My cases ---------------------------------------------------------------------------


def test_my_cases_lists_only_my_organisations_cases_with_what_is_asked(
    browse: Callable[..., Client],
    alice: User,
    supervisor: User,
    case_in: Callable[..., Case],
    make_case: Callable[..., Case],
    star_shop: Shop,
) -> None:
    mine = case_in(CaseState.EVIDENCE, with_evidence=False)
    ask_for_chat_log(mine, supervisor)
    theirs = make_case(star_shop)
    page = browse(alice).get("/portal/").content.decode()
    assert mine.reference in page
    assert theirs.reference not in page
    assert "Send the evidence we asked for (1 request)" in page
    assert f'href="/portal/cases/{mine.pk}/#needed"' in page
    assert "We are preparing the appeal and gathering the evidence for it." in page
    assert "Next deadline: Evidence requested from the client" in page


def test_my_cases_costs_the_same_queries_for_one_case_or_many(
    browse: Callable[..., Client],
    alice: User,
    make_case: Callable[..., Case],
    blossom_shop: Shop,
    django_assert_max_num_queries: Any,
) -> None:
    make_case(blossom_shop, orders=1)
    client = browse(alice)
    with django_assert_max_num_queries(12) as one:
        client.get("/portal/")
    for _ in range(4):
        make_case(blossom_shop, orders=1)
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get("/portal/")


# --- Another organisation's case, and staff --------------------------------------------------


def test_another_organisations_case_answers_404_on_every_page(
    browse: Callable[..., Client], charlie: User, alice: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.ASSESSMENT)
    request = ask_for_chat_log(case, supervisor)
    quote = propose(case, supervisor)
    item = evidence_item(case, order=None, kind="other", uploaded_by=alice)
    item_id = request.items.get().pk
    client = browse(charlie)
    gets = [
        f"/portal/cases/{case.pk}/",
        f"/portal/cases/{case.pk}/withdraw/",
        f"/portal/cases/{case.pk}/quotes/{quote.pk}/accept/",
        f"/portal/evidence/{item.pk}/download/",
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = {
        f"/portal/cases/{case.pk}/messages/": {"body": "hello"},
        f"/portal/cases/{case.pk}/uploads/": {"item": item_id, "files": files(("a.png", png("x")))},
        f"/portal/cases/{case.pk}/quotes/{quote.pk}/accept/": {"version": 1},
        f"/portal/cases/{case.pk}/withdraw/": {"reason": ""},
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 404, url
    case.refresh_from_db()
    assert case.state == CaseState.ASSESSMENT
    assert not CaseMessage.objects.filter(case=case).exists()
    assert EvidenceItem.objects.filter(case=case).count() == 1
    assert FeeQuote.objects.get(pk=quote.pk).status == QuoteStatus.PROPOSED


def test_a_missing_case_and_a_foreign_one_look_the_same(
    browse: Callable[..., Client], charlie: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.INTAKE)
    client = browse(charlie)
    foreign = client.get(f"/portal/cases/{case.pk}/")
    missing = client.get("/portal/cases/999999999/")
    assert foreign.status_code == missing.status_code == 404

    def without_tokens(page: bytes) -> str:
        # The header's language form carries a CSRF token masked anew on every answer, and
        # the address to come back to.
        return re.sub(r'name="(csrfmiddlewaretoken|next)" value="[^"]+"', "", page.decode())

    assert without_tokens(foreign.content) == without_tokens(missing.content)


# --- The case page ---------------------------------------------------------------------------


def test_case_page_shows_the_seven_steps_and_where_the_case_stands(
    browse: Callable[..., Client], alice: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.SUBMITTED)
    page = browse(alice).get(f"/portal/cases/{case.pk}/").content.decode()
    assert page.count('class="step ') == 7
    assert page.count("step-done") == 3
    assert 'aria-current="step"' in page
    assert "Your appeal is with the platform. We are waiting for its decision." in page
    assert "What has happened" in page


def test_case_page_never_shows_internal_notes_or_staff_usernames(
    browse: Callable[..., Client], alice: User, manager: User, case_in: Callable[..., Case]
) -> None:
    from casework.conversation import message_post, note_add

    manager.username = "zhang.wei.staff"
    manager.display_name = "Zhang Wei"
    manager.save()
    case = case_in(CaseState.EVIDENCE)
    note_add(case_id=case.pk, actor=manager, body="INTERNAL-MARKER the client may be difficult")
    message_post(case_id=case.pk, actor=manager, body="Please send the slips.")
    page = browse(alice).get(f"/portal/cases/{case.pk}/").content.decode()
    assert "Please send the slips." in page
    assert "INTERNAL-MARKER" not in page
    assert "zhang.wei.staff" not in page
    assert "Zhang Wei" in page  # staff are known to clients by their display name


def test_case_page_in_chinese_by_default(
    browse: Callable[..., Client], alice: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE)
    page = browse(alice, language="").get(f"/portal/cases/{case.pk}/").content.decode()
    assert '<html lang="zh-Hans">' in page
    assert "证据收集" in page  # the state's name, from the model's translations


# --- Evidence uploads -------------------------------------------------------------------------


def test_two_files_at_once_one_received_one_refused_and_the_request_fulfilled(
    browse: Callable[..., Client], alice: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE, with_evidence=False)
    request = ask_for_chat_log(case, supervisor)
    item = request.items.get()
    response = browse(alice).post(
        f"/portal/cases/{case.pk}/uploads/",
        {"item": item.pk, "files": files(("chat.png", png("chat")), ("setup.exe.png", EXE))},
        follow=True,
    )
    page = response.content.decode()
    assert "“chat.png” was received." in page
    assert "“setup.exe.png” was refused:" in page
    request.refresh_from_db()
    assert request.status == RequestStatus.FULFILLED
    uploaded = EvidenceItem.objects.get(case=case)
    assert uploaded.original_name == "chat.png"
    assert uploaded.order_id == item.order_id
    assert uploaded.kind == "chat_log"


def test_an_htmx_upload_answers_with_the_section_and_each_files_fate(
    browse: Callable[..., Client], alice: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE, with_evidence=False)
    item = ask_for_chat_log(case, supervisor).items.get()
    client = browse(alice)
    first = client.post(
        f"/portal/cases/{case.pk}/uploads/", {"item": item.pk, "files": files(("a.png", png("a")))}, headers=HTMX
    )
    assert first.status_code == 200
    fragment = first.content.decode()
    assert fragment.lstrip().startswith('<section id="needed"')
    assert "<html" not in fragment
    again = client.post(
        f"/portal/cases/{case.pk}/uploads/", {"item": item.pk, "files": files(("a-again.png", png("a")))}, headers=HTMX
    ).content.decode()
    assert "a-again.png" in again
    assert "already" in again  # the duplicate's reason
    assert EvidenceItem.objects.filter(case=case).count() == 1


def test_a_file_over_the_size_limit_is_refused_and_the_others_kept(
    browse: Callable[..., Client], alice: User, supervisor: User, case_in: Callable[..., Case], settings: Any
) -> None:
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 4096
    case = case_in(CaseState.EVIDENCE, with_evidence=False)
    item = ask_for_chat_log(case, supervisor).items.get()
    page = (
        browse(alice)
        .post(
            f"/portal/cases/{case.pk}/uploads/",
            {"item": item.pk, "files": files(("big.png", png("b") + b"\0" * 9000), ("small.png", png("s")))},
            follow=True,
        )
        .content.decode()
    )
    assert "“big.png” was refused: The file is larger than the limit of 4.0" in page
    assert "“small.png” was received." in page
    assert list(EvidenceItem.objects.filter(case=case).values_list("original_name", flat=True)) == ["small.png"]


def test_an_upload_without_files_says_so_and_changes_nothing(
    browse: Callable[..., Client], alice: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE, with_evidence=False)
    item = ask_for_chat_log(case, supervisor).items.get()
    page = browse(alice).post(f"/portal/cases/{case.pk}/uploads/", {"item": item.pk}, follow=True).content.decode()
    assert "Choose at least one file." in page
    assert not EvidenceItem.objects.filter(case=case).exists()


def test_an_upload_for_an_item_of_another_case_is_404(
    browse: Callable[..., Client], alice: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE, with_evidence=False)
    other = case_in(CaseState.EVIDENCE, with_evidence=False)
    item = ask_for_chat_log(other, supervisor).items.get()
    response = browse(alice).post(
        f"/portal/cases/{case.pk}/uploads/", {"item": item.pk, "files": files(("a.png", png("a")))}
    )
    assert response.status_code == 404
    assert not EvidenceItem.objects.exists()


def test_the_clients_files_can_be_downloaded_and_show_a_rejection_reason(
    browse: Callable[..., Client], alice: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE, with_evidence=False)
    item = evidence_item(case, order=None, kind="other", uploaded_by=alice, review_state="rejected")
    EvidenceItem.objects.filter(pk=item.pk).update(review_reason="The photo is blurred.")
    client = browse(alice)
    page = client.get(f"/portal/cases/{case.pk}/").content.decode()
    assert "The photo is blurred." in page
    download = client.get(f"/portal/evidence/{item.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")


# --- Fee quote --------------------------------------------------------------------------------


def test_accepting_the_quote_asks_for_confirmation_first(
    browse: Callable[..., Client], alice: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.ASSESSMENT)
    quote = propose(case, supervisor)
    client = browse(alice)
    page = client.get(f"/portal/cases/{case.pk}/").content.decode()
    assert "A flat fee of 6000.00 CNY" in page
    confirm = client.get(f"/portal/cases/{case.pk}/quotes/{quote.pk}/accept/").content.decode()
    assert "Yes, accept the quote" in confirm
    assert FeeQuote.objects.get(pk=quote.pk).status == QuoteStatus.PROPOSED
    done = client.post(f"/portal/cases/{case.pk}/quotes/{quote.pk}/accept/", {"version": 1}, follow=True)
    assert "You accepted the quote." in done.content.decode()
    assert FeeQuote.objects.get(pk=quote.pk).status == QuoteStatus.ACCEPTED


def test_declining_through_htmx_answers_with_the_quote_section(
    browse: Callable[..., Client], alice: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.ASSESSMENT)
    quote = propose(case, supervisor)
    client = browse(alice)
    confirm = client.get(f"/portal/cases/{case.pk}/quotes/{quote.pk}/reject/", headers=HTMX).content.decode()
    assert confirm.lstrip().startswith('<div class="confirm" id="quote-actions">')
    done = client.post(
        f"/portal/cases/{case.pk}/quotes/{quote.pk}/reject/", {"version": 1, "note": "Too dear."}, headers=HTMX
    ).content.decode()
    assert done.lstrip().startswith('<section id="quote"')
    assert "You declined the quote." in done
    assert FeeQuote.objects.get(pk=quote.pk).status == QuoteStatus.REJECTED


def test_a_quote_replaced_since_it_was_shown_is_not_accepted(
    browse: Callable[..., Client], alice: User, supervisor: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.ASSESSMENT)
    first = propose(case, supervisor)
    second = quote_propose(case_id=case.pk, actor=supervisor, fee_model="flat", amount=Decimal("5000"))
    response = browse(alice).post(f"/portal/cases/{case.pk}/quotes/{second.pk}/accept/", {"version": first.version})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert FeeQuote.objects.get(pk=second.pk).status == QuoteStatus.PROPOSED


# --- Messages ----------------------------------------------------------------------------------


def test_sending_a_message(browse: Callable[..., Client], alice: User, case_in: Callable[..., Case]) -> None:
    case = case_in(CaseState.EVIDENCE)
    client = browse(alice)
    sent = client.post(f"/portal/cases/{case.pk}/messages/", {"body": "When will you submit?"}, follow=True)
    assert "Your message was sent." in sent.content.decode()
    message = CaseMessage.objects.get(case=case)
    assert message.body == "When will you submit?"
    assert message.from_client
    fragment = client.post(
        f"/portal/cases/{case.pk}/messages/", {"body": "And the fee?"}, headers=HTMX
    ).content.decode()
    assert fragment.lstrip().startswith('<section id="messages"')
    assert "And the fee?" in fragment


def test_an_empty_message_is_refused_beside_the_field_and_nothing_is_sent(
    browse: Callable[..., Client], alice: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE)
    response = browse(alice).post(f"/portal/cases/{case.pk}/messages/", {"body": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not CaseMessage.objects.exists()


def test_a_message_that_is_too_long_is_refused_and_kept_in_the_form(
    browse: Callable[..., Client], alice: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE)
    text = "长" * 10_001
    response = browse(alice).post(f"/portal/cases/{case.pk}/messages/", {"body": text})
    assert response.status_code == 400
    assert text in response.content.decode()
    assert not CaseMessage.objects.exists()


# --- Recovery tasks ------------------------------------------------------------------------------


def test_ticking_off_a_recovery_task(browse: Callable[..., Client], alice: User, case_in: Callable[..., Case]) -> None:
    case = case_in(CaseState.REPUTATION_RECOVERY)
    task = RecoveryTask.objects.filter(plan__case=case, owner=TaskOwner.CLIENT).first()
    assert task is not None, "the default template gives the client tasks"
    client = browse(alice)
    page = client.get(f"/portal/cases/{case.pk}/").content.decode()
    assert f'Mark as done<span class="visually-hidden"> — {task.title}</span>' in page
    fragment = client.post(
        f"/portal/cases/{case.pk}/tasks/{task.pk}/", {"status": "done"}, headers=HTMX
    ).content.decode()
    assert fragment.lstrip().startswith('<section id="recovery"')
    assert f"“{task.title}” is marked as done." in fragment
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_an_agency_task_cannot_be_ticked_by_the_client(
    browse: Callable[..., Client], alice: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.REPUTATION_RECOVERY)
    task = RecoveryTask.objects.filter(plan__case=case).exclude(owner=TaskOwner.CLIENT).first()
    assert task is not None
    page = browse(alice).post(f"/portal/cases/{case.pk}/tasks/{task.pk}/", {"status": "done"}, follow=True)
    assert "only the agency can change it" in page.content.decode()
    task.refresh_from_db()
    assert task.status != TaskStatus.DONE


# --- Outcome -----------------------------------------------------------------------------------


def test_the_outcome_shows_each_order_and_the_points(
    browse: Callable[..., Client], alice: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.RESOLVED)
    page = browse(alice).get(f"/portal/cases/{case.pk}/").content.decode()
    assert "The platform&#x27;s decision" in page or "The platform's decision" in page
    assert "Penalty points restored" in page
    for order in case.flagged_orders.all():
        assert order.platform_order_id in page


# --- Withdrawal ----------------------------------------------------------------------------------


def test_withdrawing_asks_for_confirmation_then_withdraws(
    browse: Callable[..., Client], alice: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE)
    client = browse(alice)
    confirm = client.get(f"/portal/cases/{case.pk}/withdraw/").content.decode()
    assert "Yes, withdraw the case" in confirm
    case.refresh_from_db()
    assert case.state == CaseState.EVIDENCE
    done = client.post(f"/portal/cases/{case.pk}/withdraw/", {"reason": "Settled.", "expected_state": "evidence"})
    assert done["Location"] == f"/portal/cases/{case.pk}/"
    case.refresh_from_db()
    assert case.state == CaseState.WITHDRAWN
    assert "Withdraw the case…" not in client.get(f"/portal/cases/{case.pk}/").content.decode()


def test_a_withdrawal_after_the_case_moved_on_is_refused(
    browse: Callable[..., Client], alice: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE)
    response = browse(alice).post(f"/portal/cases/{case.pk}/withdraw/", {"expected_state": "assessment"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.EVIDENCE


# --- Notifications --------------------------------------------------------------------------


def _notification(user: User, case: Case | None) -> Notification:
    return Notification.objects.create(
        recipient=user,
        kind="message_posted",
        case=case,
        params={"reference": case.reference if case else ""},
        dedupe_key=f"test:{user.pk}:{case.pk if case else 0}",
    )


def test_notifications_list_unread_count_and_mark_read(
    browse: Callable[..., Client], alice: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE)
    Notification.objects.filter(recipient=alice).delete()
    row = _notification(alice, case)
    client = browse(alice)
    page = client.get("/portal/").content.decode()
    assert '<span class="badge">1<span class="visually-hidden"> unread</span></span>' in page
    listing = client.get("/portal/notifications/").content.decode()
    assert case.reference in listing
    opened = client.post(f"/portal/notifications/{row.pk}/read/", {"open": "1"})
    assert opened["Location"] == f"/portal/cases/{case.pk}/"
    row.refresh_from_db()
    assert row.read_at is not None
    assert 'class="badge"' not in client.get("/portal/").content.decode()


def test_mark_all_read(browse: Callable[..., Client], alice: User, case_in: Callable[..., Case]) -> None:
    case = case_in(CaseState.EVIDENCE)
    _notification(alice, case)
    browse(alice).post("/portal/notifications/read-all/")
    assert not Notification.objects.filter(recipient=alice, read_at__isnull=True).exists()


def test_the_email_link_signs_in_marks_read_and_opens_the_case(
    browse: Callable[..., Client], alice: User, charlie: User, case_in: Callable[..., Case]
) -> None:
    case = case_in(CaseState.EVIDENCE)
    row = _notification(alice, case)
    anonymous = browse().get(f"/notifications/{row.pk}/")
    assert anonymous["Location"] == f"/accounts/sign-in/?next=/notifications/{row.pk}/"
    assert browse(charlie).get(f"/notifications/{row.pk}/").status_code == 404
    response = browse(alice).get(f"/notifications/{row.pk}/")
    assert response["Location"] == f"/portal/cases/{case.pk}/"
    row.refresh_from_db()
    assert row.read_at is not None


def test_a_staff_members_email_link_opens_the_staff_page(browse: Callable[..., Client], manager: User) -> None:
    row = _notification(manager, None)
    assert browse(manager).get(f"/notifications/{row.pk}/")["Location"] == "/staff/"


def test_my_cases_pages_open_cases_first(
    browse: Callable[..., Client],
    alice: User,
    make_case: Callable[..., Case],
    case_in: Callable[..., Case],
    blossom_shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from web.portal import presenters

    monkeypatch.setattr(presenters, "CASES_PER_PAGE", 2)
    older_open = make_case(blossom_shop, orders=1)
    newer_open = make_case(blossom_shop, orders=1)
    newest_withdrawn = case_in(CaseState.WITHDRAWN)  # the newest, yet after the open ones
    client = browse(alice)
    first = client.get("/portal/").content.decode()
    assert first.index(newer_open.reference) < first.index(older_open.reference)
    assert newest_withdrawn.reference not in first
    assert 'href="?page=2"' in first
    second = client.get("/portal/?page=2").content.decode()
    assert newest_withdrawn.reference in second
    assert older_open.reference not in second
    assert client.get("/portal/?page=abc").status_code == 200  # a bad page number shows the first page


def test_pages_carry_a_content_security_policy_without_inline_scripts(
    browse: Callable[..., Client], alice: User
) -> None:
    response = browse(alice).get("/portal/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    page = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts, "the page loads htmx and its own script"
    assert all("src=" in attributes for attributes in scripts)
    assert "style=" not in page
    assert "/static/django_htmx/htmx" in page


def test_a_form_without_its_csrf_token_is_refused(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/portal/cases/1/messages/", {"body": "hello"}).status_code == 403
    assert client.post("/portal/cases/1/uploads/", {"item": "1"}).status_code == 403
