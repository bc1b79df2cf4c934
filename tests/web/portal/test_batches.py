"""The client portal's bulk evidence (``web.portal.batches``): send a ZIP, check the preview, store or cancel
it; follow a large archive's progress; and the scoping that keeps one organisation's batches from another."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from agency.accounts.models import User
from cases.models import Case, CaseState
from evidence.models import BatchStatus, EvidenceBatch, EvidenceItem
from tests.evidence.zips import make_zip, proof

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def archive(case: Case) -> SimpleUploadedFile:
    """Two files for the first order (a folder named by its order id), one for the second (its tracking
    number in the name), and one nobody can place."""
    first, second = list(case.flagged_orders.order_by("platform_order_id"))[:2]
    data = make_zip(
        [
            (f"{first.platform_order_id}/chat.png", proof("chat")),
            (f"{first.platform_order_id}/面单.png", proof("slip")),
            (f"{second.tracking_number}_tracking.png", proof("track")),
            ("holiday.png", proof("holiday")),
        ]
    )
    return SimpleUploadedFile("evidence.zip", data, content_type="application/zip")


@pytest.fixture
def case(case_in: Callable[..., Case]) -> Case:
    return case_in(CaseState.EVIDENCE, with_evidence=False)


def send(client: Client, case: Case, **extra: Any) -> Any:
    return client.post(f"/portal/cases/{case.pk}/bulk/", {"files": archive(case)}, **extra)


def batch_url(case: Case, batch: EvidenceBatch) -> str:
    return f"/portal/cases/{case.pk}/bulk/{batch.pk}/"


# --- Sending and the preview ------------------------------------------------------------------


def test_the_case_page_offers_the_bulk_upload(browse: Callable[..., Client], alice: User, case: Case) -> None:
    page = browse(alice).get(f"/portal/cases/{case.pk}/").content.decode()
    assert "Send many files at once" in page
    assert f'action="/portal/cases/{case.pk}/bulk/"' in page
    assert 'name="files" multiple' in page
    assert 'accept=".zip,' in page


def test_a_closed_case_does_not_offer_it(
    browse: Callable[..., Client], alice: User, case_in: Callable[..., Case]
) -> None:
    closed = case_in(CaseState.WITHDRAWN)
    page = browse(alice).get(f"/portal/cases/{closed.pk}/").content.decode()
    assert "Send many files at once" not in page


def test_a_zip_is_read_as_a_dry_run_and_the_preview_shown(
    browse: Callable[..., Client], alice: User, case: Case
) -> None:
    client = browse(alice)
    response = send(client, case)
    batch = EvidenceBatch.objects.get(case=case)
    assert response.status_code == 302
    assert response["Location"] == batch_url(case, batch)
    assert batch.status == BatchStatus.PREVIEWED
    assert not EvidenceItem.objects.filter(case=case).exists()

    page = client.get(batch_url(case, batch)).content.decode()
    first, second = list(case.flagged_orders.order_by("platform_order_id"))[:2]
    assert "Check where each file goes" in page
    assert "Store 3 files" in page
    assert f'action="/portal/cases/{case.pk}/bulk/{batch.pk}/commit/"' in page
    assert f'action="/portal/cases/{case.pk}/bulk/{batch.pk}/cancel/"' in page
    assert "holiday.png" in page
    assert "No order found" in page
    assert "Chat log with the buyer" in page
    assert "Courier&#x27;s shipping slip" in page
    assert first.platform_order_id in page
    assert second.platform_order_id in page
    assert "Still missing after it" in page
    assert "Required evidence it completes" in page
    assert '<th scope="col">' in page
    assert '<th scope="row"' in page
    assert "every 2s" not in page  # nothing to wait for


def test_an_htmx_upload_is_sent_to_the_batch_page(browse: Callable[..., Client], alice: User, case: Case) -> None:
    response = send(browse(alice), case, headers=HTMX)
    batch = EvidenceBatch.objects.get(case=case)
    assert response.status_code == 200
    assert response["HX-Redirect"] == batch_url(case, batch)


def test_nothing_chosen_or_not_a_zip_comes_back_with_a_message(
    browse: Callable[..., Client], alice: User, case: Case
) -> None:
    client = browse(alice)
    response = client.post(f"/portal/cases/{case.pk}/bulk/", {}, follow=True)
    assert response.redirect_chain[-1][0] == f"/portal/cases/{case.pk}/#needed"
    assert "Choose a ZIP archive or the files to send." in response.content.decode()

    fake = SimpleUploadedFile("evidence.zip", b"not a zip at all", content_type="application/zip")
    response = client.post(f"/portal/cases/{case.pk}/bulk/", {"files": fake}, follow=True)
    assert "is not a ZIP archive" in response.content.decode()
    assert not EvidenceBatch.objects.filter(case=case).exists()


def test_an_htmx_upload_refused_answers_with_the_reason_beside_the_form(
    browse: Callable[..., Client], alice: User, case: Case
) -> None:
    client = browse(alice)
    response = client.post(f"/portal/cases/{case.pk}/bulk/", {}, headers=HTMX)
    assert response.status_code == 200
    assert (
        response.content.decode().strip()
        == '<p class="alert" role="alert">Choose a ZIP archive or the files to send.</p>'
    )
    fake = SimpleUploadedFile("evidence.zip", b"not a zip at all", content_type="application/zip")
    response = client.post(f"/portal/cases/{case.pk}/bulk/", {"files": fake}, headers=HTMX)
    assert "is not a ZIP archive" in response.content.decode()
    assert "HX-Redirect" not in response
    assert not EvidenceBatch.objects.filter(case=case).exists()
    page = client.get(f"/portal/cases/{case.pk}/").content.decode()
    assert 'hx-target="#bulk-result"' in page
    assert "is not a ZIP archive" not in page  # no message left over for the next page


def test_several_loose_files_are_one_batch(browse: Callable[..., Client], alice: User, case: Case) -> None:
    order = case.flagged_orders.order_by("platform_order_id").first()
    assert order is not None
    chosen = [
        SimpleUploadedFile(f"{order.platform_order_id}_chat.png", proof("a"), content_type="image/png"),
        SimpleUploadedFile(f"{order.tracking_number}_面单.png", proof("b"), content_type="image/png"),
    ]
    client = browse(alice)
    response = client.post(f"/portal/cases/{case.pk}/bulk/", {"files": chosen})
    batch = EvidenceBatch.objects.get(case=case)
    assert response["Location"] == batch_url(case, batch)
    assert batch.preview is not None
    assert batch.preview["totals"]["ready"] == 2
    assert "Store 2 files" in client.get(batch_url(case, batch)).content.decode()


# --- Commit and cancel --------------------------------------------------------------------------


def test_commit_stores_the_matched_files(browse: Callable[..., Client], alice: User, case: Case) -> None:
    client = browse(alice)
    send(client, case)
    batch = EvidenceBatch.objects.get(case=case)
    response = client.post(f"{batch_url(case, batch)}commit/", follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == batch_url(case, batch)
    assert "3 files stored" in page
    assert f'href="/portal/cases/{case.pk}/#needed"' in page
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED
    items = EvidenceItem.objects.filter(case=case, batch=batch)
    assert sorted(items.values_list("kind", flat=True)) == ["chat_log", "courier_tracking", "shipping_slip"]
    assert {item.uploaded_by_id for item in items} == {alice.pk}

    # The same archive again: read, but storing it twice is refused with a message, and nothing changes.
    send(client, case)
    again = EvidenceBatch.objects.filter(case=case).exclude(pk=batch.pk).get()
    response = client.post(f"{batch_url(case, again)}commit/", follow=True)
    assert "already stored on this case" in response.content.decode()
    assert EvidenceItem.objects.filter(case=case).count() == 3


def test_cancel_gives_the_batch_up(browse: Callable[..., Client], alice: User, case: Case) -> None:
    client = browse(alice)
    send(client, case)
    batch = EvidenceBatch.objects.get(case=case)
    response = client.post(f"{batch_url(case, batch)}cancel/", follow=True)
    assert response.redirect_chain[-1][0] == f"/portal/cases/{case.pk}/#needed"
    assert "the batch is cancelled" in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELLED
    page = client.get(batch_url(case, batch)).content.decode()
    assert "none of its files were stored" in page
    assert "Store 3 files" not in page

    # Committing it now is refused, as a message.
    response = client.post(f"{batch_url(case, batch)}commit/", follow=True)
    assert "send the archive again" in response.content.decode()
    assert not EvidenceItem.objects.filter(case=case).exists()


# --- Who may ----------------------------------------------------------------------------------


def test_another_organisations_client_gets_404_everywhere(
    browse: Callable[..., Client], alice: User, charlie: User, case: Case
) -> None:
    send(browse(alice), case)
    batch = EvidenceBatch.objects.get(case=case)
    client = browse(charlie)
    assert send(client, case).status_code == 404
    assert client.get(batch_url(case, batch)).status_code == 404
    assert client.get(batch_url(case, batch), headers=HTMX).status_code == 404
    assert client.post(f"{batch_url(case, batch)}commit/").status_code == 404
    assert client.post(f"{batch_url(case, batch)}cancel/").status_code == 404
    assert EvidenceBatch.objects.filter(case=case).count() == 1
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PREVIEWED


def test_a_batch_under_another_case_of_the_same_client_is_404(
    browse: Callable[..., Client], alice: User, case: Case, case_in: Callable[..., Case]
) -> None:
    client = browse(alice)
    send(client, case)
    batch = EvidenceBatch.objects.get(case=case)
    other = case_in(CaseState.EVIDENCE, with_evidence=False)
    assert client.get(batch_url(other, batch)).status_code == 404
    assert client.post(f"{batch_url(other, batch)}commit/").status_code == 404
    assert client.get(f"/portal/cases/{case.pk}/bulk/999999999/").status_code == 404


def test_staff_are_refused(browse: Callable[..., Client], alice: User, supervisor: User, case: Case) -> None:
    send(browse(alice), case)
    batch = EvidenceBatch.objects.get(case=case)
    client = browse(supervisor)
    assert send(client, case).status_code == 403
    assert client.get(batch_url(case, batch)).status_code == 403
    assert client.post(f"{batch_url(case, batch)}commit/").status_code == 403
    assert client.post(f"{batch_url(case, batch)}cancel/").status_code == 403


def test_signed_out_visitors_sign_in_first(browse: Callable[..., Client], alice: User, case: Case) -> None:
    send(browse(alice), case)
    batch = EvidenceBatch.objects.get(case=case)
    response = browse().get(batch_url(case, batch))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/sign-in/")


# --- A large archive: read by a worker, with progress -----------------------------------------------


@pytest.fixture
def queued(settings: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every archive is "large"; the batches handed to the worker are recorded instead of queued."""
    settings.EVIDENCE_BULK_INLINE_MAX_BYTES = 10
    handed: list[int] = []
    monkeypatch.setattr("evidence.batches._queue", handed.append)
    return handed


def test_a_large_archive_shows_progress_with_a_refresh_link(
    browse: Callable[..., Client],
    alice: User,
    case: Case,
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = browse(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, case)
    batch = EvidenceBatch.objects.get(case=case)
    assert queued == [batch.pk]
    assert response["Location"] == batch_url(case, batch)
    assert batch.status == BatchStatus.RECEIVED

    page = client.get(batch_url(case, batch)).content.decode()
    assert "Waiting to be read" in page
    assert 'role="status"' in page
    assert f'hx-get="{batch_url(case, batch)}" hx-trigger="every 2s"' in page
    assert f'<a class="button" href="{batch_url(case, batch)}">Refresh</a>' in page
    assert "<progress" in page

    EvidenceBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.PREVIEWING, progress_done=2, progress_total=4)
    page = client.get(batch_url(case, batch)).content.decode()
    assert 'max="4" value="2"' in page
    assert "2 of 4 files" in page


def test_htmx_polls_the_fragment_until_the_batch_is_read(
    browse: Callable[..., Client],
    alice: User,
    case: Case,
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    from evidence.batches import batch_work

    client = browse(alice)
    with django_capture_on_commit_callbacks(execute=True):
        send(client, case)
    batch = EvidenceBatch.objects.get(case=case)

    fragment = client.get(batch_url(case, batch), headers=HTMX)
    text = fragment.content.decode()
    assert fragment.status_code == 200
    assert "HX-Request" in fragment["Vary"]
    assert text.lstrip().startswith('<div id="bulk"')
    assert "<html" not in text
    assert 'hx-trigger="every 2s"' in text
    assert "<h2" not in text  # no heading while polling: the focus stays where the reader left it

    batch_work(batch.pk)  # the worker reads it
    text = client.get(batch_url(case, batch), headers=HTMX).content.decode()
    assert "every 2s" not in text  # polling stops
    assert "Store 3 files" in text

    # Storing a large batch is the worker's too: the page shows that it is being stored.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{batch_url(case, batch)}commit/")
    assert queued == [batch.pk, batch.pk]
    text = client.get(batch_url(case, batch), headers=HTMX).content.decode()
    assert "Storing the files now" in text
    assert 'hx-trigger="every 2s"' in text
    batch_work(batch.pk)
    text = client.get(batch_url(case, batch), headers=HTMX).content.decode()
    assert "every 2s" not in text
    assert "3 files stored" in text
    assert EvidenceItem.objects.filter(case=case).count() == 3


def test_the_pages_read_in_chinese(browse: Callable[..., Client], alice: User, case: Case) -> None:
    client = browse(alice, language="zh-hans")
    send(client, case)
    batch = EvidenceBatch.objects.get(case=case)
    page = client.get(batch_url(case, batch)).content.decode()
    assert "请核对每个文件的归属" in page
    assert "保存 3 个文件" in page
    assert "未找到对应订单" in page
    assert "Check where each file goes" not in page


def test_the_forms_need_their_csrf_token_and_the_page_has_no_inline_style(
    browse: Callable[..., Client], alice: User, case: Case
) -> None:
    send(browse(alice), case)
    batch = EvidenceBatch.objects.get(case=case)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert send(client, case).status_code == 403
    assert client.post(f"{batch_url(case, batch)}commit/").status_code == 403
    assert client.post(f"{batch_url(case, batch)}cancel/").status_code == 403
    assert EvidenceBatch.objects.filter(case=case).count() == 1
    assert not EvidenceItem.objects.filter(case=case).exists()
    page = client.get(batch_url(case, batch)).content.decode()
    assert "style=" not in page
    assert "<script>" not in page


def test_a_case_closed_after_the_preview_refuses_the_commit_with_a_message(
    browse: Callable[..., Client], alice: User, supervisor: User, case: Case
) -> None:
    from casework.services import case_transition

    client = browse(alice)
    send(client, case)
    batch = EvidenceBatch.objects.get(case=case)
    case_transition(case_id=case.pk, name="withdraw", actor=supervisor, reason="The client settled.")
    page = client.get(batch_url(case, batch)).content.decode()
    assert "The case is closed; these files can no longer be stored." in page
    assert "Store 3 files" not in page
    response = client.post(f"{batch_url(case, batch)}commit/", follow=True)
    assert response.redirect_chain[-1][0] == batch_url(case, batch)
    assert "Evidence cannot change while the case is" in response.content.decode()
    assert not EvidenceItem.objects.filter(case=case).exists()
