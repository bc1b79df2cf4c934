"""Evidence checks as a service (evidence.checks): queued with each item, run once under a lease, re-checked, resumed.

These tests read chat exports (text files), which need no OCR; tests/evidence/test_reading.py
reads images and PDFs, and tests/evidence/test_labelled_set.py measures the whole on them.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from agency.errors import InvalidInput, InvalidState, NotAllowed
from cases.models import CaseEvent, EventKind
from evidence import checks, reading, services
from evidence.models import (
    CheckOutcome,
    CheckState,
    EvidenceCheck,
    EvidenceCheckRule,
    EvidenceFinding,
    EvidenceItem,
    ReadMethod,
    ReviewState,
)
from tests.factories import evidence_item


def chat_about(order, *, order_id=None, when=None) -> bytes:
    when = timezone.localtime(when or order.order_time + dt.timedelta(hours=1))
    lines = [f"{when:%Y-%m-%d %H:%M:%S} {order.buyer_handle}: 亲，什么时候发货？"]
    if order_id is not None:
        lines.append(f"{when:%Y-%m-%d %H:%M:%S} 掌柜: 订单号 {order_id} 今天发")
    return "\n".join(lines).encode("gb18030")


def upload_chat(case, order, actor, content: bytes, name="chat.txt") -> EvidenceItem:
    upload = SimpleUploadedFile(name, content, content_type="text/plain")
    return services.evidence_upload(case_id=case.pk, actor=actor, file=upload, kind="chat_log", order_id=order.pk)


@pytest.fixture
def sent(monkeypatch):
    """The check ids handed to Celery, instead of a broker."""
    ids: list[int] = []
    monkeypatch.setattr(checks, "_send", lambda check_ids: ids.extend(check_ids))
    return ids


def test_an_upload_is_queued_for_checking_when_it_commits(
    case, order, supervisor, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        item = upload_chat(case, order, supervisor, chat_about(order))
    check = item.evidence_check
    assert (check.state, check.outcome, check.generation) == (CheckState.QUEUED, "", 1)
    assert sent == [check.pk]


def test_a_check_reads_the_file_compares_it_and_keeps_the_text(case, order, supervisor, sent):
    item = upload_chat(case, order, supervisor, chat_about(order))
    assert checks.check_run(item.evidence_check.pk) is True
    check = EvidenceCheck.objects.get(item=item)
    assert (check.state, check.outcome, check.method) == (CheckState.DONE, CheckOutcome.MATCH, ReadMethod.TEXT)
    assert order.buyer_handle in check.text  # decoded from GB18030
    assert (check.pages_read, check.pages_total, check.attempts, check.lease_token) == (1, 1, 0, "")
    findings = {finding.name: finding for finding in check.findings.all()}
    assert {name: finding.result for name, finding in findings.items()} == {
        "order_id": "not_found",
        "buyer": "match",
        "time_near_order": "match",
    }
    assert (findings["buyer"].page, findings["buyer"].line) == (1, 1)


def test_a_chat_with_another_orders_id_contradicts_it(case, order, supervisor, sent):
    other = case.flagged_orders.exclude(pk=order.pk).first()
    item = upload_chat(case, order, supervisor, chat_about(order, order_id=other.platform_order_id))
    checks.check_run(item.evidence_check.pk)
    check = EvidenceCheck.objects.get(item=item)
    assert check.outcome == CheckOutcome.MISMATCH
    finding = check.findings.get(name="order_id")
    assert (finding.expected, finding.found, finding.line) == (order.platform_order_id, other.platform_order_id, 2)


def test_a_check_runs_once(case, order, supervisor, sent, monkeypatch):
    item = upload_chat(case, order, supervisor, chat_about(order))
    assert checks.check_run(item.evidence_check.pk) is True
    monkeypatch.setattr(reading, "read_file", pytest.fail)
    assert checks.check_run(item.evidence_check.pk) is False
    assert EvidenceFinding.objects.filter(evidence_check__item=item).count() == 3


def test_a_check_another_worker_holds_is_left_to_it(case, order, supervisor, sent):
    item = upload_chat(case, order, supervisor, chat_about(order))
    held_until = timezone.now() + dt.timedelta(minutes=2)
    EvidenceCheck.objects.filter(item=item).update(lease_until=held_until, lease_token="other")
    assert checks.check_run(item.evidence_check.pk) is False
    check = EvidenceCheck.objects.get(item=item)
    assert (check.state, check.lease_token, check.findings.count()) == (CheckState.QUEUED, "other", 0)


def test_a_worker_that_lost_its_lease_while_reading_writes_nothing(case, order, supervisor, sent, monkeypatch):
    item = upload_chat(case, order, supervisor, chat_about(order))
    read_file = reading.read_file

    def slow_read(file, content_type, **options):
        # Meanwhile the lease ran out and another worker took the check over.
        EvidenceCheck.objects.filter(item=item).update(lease_token="the-other-worker")
        return read_file(file, content_type, **options)

    monkeypatch.setattr(reading, "read_file", slow_read)
    assert checks.check_run(item.evidence_check.pk) is False
    check = EvidenceCheck.objects.get(item=item)
    assert (check.state, check.text, check.findings.count()) == (CheckState.QUEUED, "", 0)


def test_a_change_while_reading_is_compared_again_without_reading_again(case, order, supervisor, sent, monkeypatch):
    item = upload_chat(case, order, supervisor, chat_about(order))
    read_file = reading.read_file

    def read_while_the_buyer_changes(file, content_type, **options):
        type(order).objects.filter(pk=order.pk).update(buyer_handle="someone_else")
        checks.checks_recheck_orders([order.pk])
        return read_file(file, content_type, **options)

    monkeypatch.setattr(reading, "read_file", read_while_the_buyer_changes)
    assert checks.check_run(item.evidence_check.pk) is True
    check = EvidenceCheck.objects.get(item=item)
    assert (check.state, check.generation, check.outcome) == (CheckState.QUEUED, 2, CheckOutcome.MATCH)
    assert check.text  # the reading is kept
    monkeypatch.setattr(reading, "read_file", pytest.fail)
    assert checks.check_run(check.pk) is True
    check.refresh_from_db()
    assert (check.state, check.outcome) == (CheckState.DONE, CheckOutcome.NOT_FOUND)
    assert check.findings.get(name="buyer").expected == "someone_else"


def test_an_order_correction_compares_its_items_again(
    case, order, supervisor, sent, django_capture_on_commit_callbacks
):
    item = upload_chat(case, order, supervisor, chat_about(order))
    other = upload_chat(case, case.flagged_orders.exclude(pk=order.pk).first(), supervisor, b"2026-01-01 hello")
    checks.check_run(item.evidence_check.pk)
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert checks.checks_recheck_orders([order.pk]) == 1
    check = EvidenceCheck.objects.get(item=item)
    assert (check.state, check.generation) == (CheckState.QUEUED, 2)
    assert sent == [check.pk]
    assert EvidenceCheck.objects.get(item=other).generation == 1


def test_case_level_evidence_is_not_checked(case, supervisor, sent):
    upload = SimpleUploadedFile("notes.txt", b"2026-11-02 case notes", content_type="text/plain")
    item = services.evidence_upload(case_id=case.pk, actor=supervisor, file=upload, kind="other")
    checks.check_run(item.evidence_check.pk)
    check = EvidenceCheck.objects.get(item=item)
    assert (check.state, check.outcome, check.findings.count()) == (CheckState.DONE, CheckOutcome.UNCHECKED, 0)


def test_a_kind_without_a_rule_is_read_but_unchecked(case, order, supervisor, sent):
    EvidenceCheckRule.objects.filter(kind="chat_log").delete()
    item = upload_chat(case, order, supervisor, chat_about(order))
    checks.check_run(item.evidence_check.pk)
    check = EvidenceCheck.objects.get(item=item)
    assert (check.outcome, check.method, check.findings.count()) == (CheckOutcome.UNCHECKED, ReadMethod.TEXT, 0)


def test_a_file_that_cannot_be_read_is_unreadable_and_says_why(case, order, supervisor, sent):
    item = evidence_item(case, order=order, kind="shipping_slip", uploaded_by=supervisor, review_state="pending")
    check = EvidenceCheck.objects.create(item=item)
    checks.check_run(check.pk)
    check.refresh_from_db()
    assert (check.outcome, check.method) == (CheckOutcome.UNREADABLE, ReadMethod.NONE)
    assert check.read_error.startswith("the image cannot be decoded")
    assert set(check.findings.values_list("result", flat=True)) == {"unreadable"}


def test_the_sweep_queues_again_what_a_dead_worker_held_and_gives_up_after_the_attempts(
    case, order, supervisor, sent, settings
):
    now = timezone.now()
    dead = EvidenceCheck.objects.create(
        item=evidence_item(case, order=order, kind="shipping_slip", uploaded_by=supervisor, review_state="pending"),
        lease_until=now - dt.timedelta(seconds=1),
        lease_token="dead",
        attempts=1,
    )
    lost = EvidenceCheck.objects.create(
        item=evidence_item(case, order=order, kind="signed_delivery", uploaded_by=supervisor, review_state="pending"),
        requested_at=now - dt.timedelta(hours=1),
    )
    waiting = EvidenceCheck.objects.create(
        item=evidence_item(case, order=order, kind="courier_tracking", uploaded_by=supervisor, review_state="pending")
    )
    hopeless = EvidenceCheck.objects.create(
        item=evidence_item(case, order=order, kind="chat_log", uploaded_by=supervisor, review_state="pending"),
        lease_until=now - dt.timedelta(seconds=1),
        attempts=settings.EVIDENCE_CHECK_MAX_ATTEMPTS,
    )
    resent: list[int] = []
    assert sorted(checks.checks_resume(send=resent.extend)) == sorted([dead.pk, lost.pk])
    assert sorted(resent) == sorted([dead.pk, lost.pk])
    assert waiting.pk not in resent  # its task is still on its way
    hopeless.refresh_from_db()
    assert (hopeless.state, hopeless.outcome) == (CheckState.DONE, CheckOutcome.UNREADABLE)
    assert "3 times" in hopeless.read_error
    # Each is marked sent: the next sweep leaves them to the queue, until they are lost again.
    assert checks.checks_resume(send=resent.extend) == []
    assert EvidenceCheck.objects.get(pk=dead.pk).lease_until is None


def test_rules_are_changed_by_administrators_and_recheck_their_kind(
    case, order, supervisor, administrator, sent, make_case, blossom_shop
):
    item = upload_chat(case, order, supervisor, chat_about(order))
    checks.check_run(item.evidence_check.pk)
    with pytest.raises(NotAllowed):
        checks.rule_update(actor=supervisor, kind="chat_log", groups=[["buyer"]], window_hours=24)
    rule = checks.rule_update(actor=administrator, kind="chat_log", groups=[["order_id"]], window_hours=24)
    assert (rule.groups, rule.window_hours, rule.updated_by) == ([["order_id"]], 24, administrator)
    check = EvidenceCheck.objects.get(item=item)
    assert (check.state, check.generation) == (CheckState.QUEUED, 2)
    checks.check_run(check.pk)
    check.refresh_from_db()
    assert (check.outcome, list(check.findings.values_list("name", flat=True))) == ("not_found", ["order_id"])


@pytest.mark.parametrize(
    ("groups", "window_hours", "field", "message"),
    [
        ([["order_id", "colour"]], 72, "groups", "Unknown checks: colour."),
        ([[]], 72, "groups", "A group names no check; leave it out."),
        ([["buyer", "buyer"]], 72, "groups", "A group names a check twice."),
        ("order_id", 72, "groups", "Give a list of groups, each a list of check names."),
        ([["buyer"]], 0, "window_hours", "Give a whole number of hours from 1 to 8784."),
        ([["buyer"]], True, "window_hours", "Give a whole number of hours from 1 to 8784."),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(administrator, db, groups, window_hours, field, message):
    before = list(EvidenceCheckRule.objects.values_list("kind", "groups", "window_hours"))
    with pytest.raises(InvalidInput) as refused:
        checks.rule_update(actor=administrator, kind="chat_log", groups=groups, window_hours=window_hours)
    assert refused.value.details["fields"][field] == [message]
    assert list(EvidenceCheckRule.objects.values_list("kind", "groups", "window_hours")) == before


def done(item, outcome):
    return EvidenceCheck.objects.create(item=item, state=CheckState.DONE, outcome=outcome)


def test_accepting_every_matching_item_in_one_action(case, order, supervisor, reviewer, sent):
    matching = [
        evidence_item(case, order=order, kind=kind, uploaded_by=supervisor, review_state="pending")
        for kind in ("shipping_slip", "signed_delivery")
    ]
    for item in matching:
        done(item, CheckOutcome.MATCH)
    contradicting = evidence_item(case, order=order, kind="chat_log", uploaded_by=supervisor, review_state="pending")
    done(contradicting, CheckOutcome.MISMATCH)
    waiting = evidence_item(case, order=order, kind="courier_tracking", uploaded_by=supervisor, review_state="pending")
    EvidenceCheck.objects.create(item=waiting, outcome=CheckOutcome.MATCH)  # compared again, not done
    rejected = evidence_item(case, order=order, kind="payment_record", uploaded_by=supervisor, review_state="rejected")
    done(rejected, CheckOutcome.MATCH)

    accepted = services.evidence_accept_matching(case_id=case.pk, actor=reviewer)

    assert sorted(item.pk for item in accepted) == sorted(item.pk for item in matching)
    states = dict(EvidenceItem.objects.filter(case=case).values_list("pk", "review_state"))
    assert [states[item.pk] for item in matching] == [ReviewState.ACCEPTED] * 2
    assert states[contradicting.pk] == states[waiting.pk] == ReviewState.PENDING  # people decide those
    assert states[rejected.pk] == ReviewState.REJECTED
    events = CaseEvent.objects.filter(case=case, kind=EventKind.EVIDENCE_REVIEWED).order_by("id")
    assert [(event.new_value["item"], event.actor, event.reason_code) for event in events] == [
        (item.pk, reviewer, "checks_matched") for item in sorted(matching, key=lambda item: item.pk)
    ]
    assert services.evidence_accept_matching(case_id=case.pk, actor=reviewer) == []


def test_accepting_matching_items_of_one_kind(case, order, supervisor, reviewer, sent):
    slip, signed = (
        evidence_item(case, order=order, kind=kind, uploaded_by=supervisor, review_state="pending")
        for kind in ("shipping_slip", "signed_delivery")
    )
    done(slip, CheckOutcome.MATCH)
    done(signed, CheckOutcome.MATCH)
    assert [
        item.pk for item in services.evidence_accept_matching(case_id=case.pk, actor=reviewer, kind="signed_delivery")
    ] == [signed.pk]
    with pytest.raises(InvalidInput) as refused:
        services.evidence_accept_matching(case_id=case.pk, actor=reviewer, kind="parcel")
    assert list(refused.value.details["fields"]) == ["kind"]


def test_only_reviewers_accept_and_only_on_open_cases(case, case_in, order, supervisor, intake, alice, sent):
    done(
        evidence_item(case, order=order, kind="shipping_slip", uploaded_by=supervisor, review_state="pending"), "match"
    )
    with pytest.raises(NotAllowed):
        services.evidence_accept_matching(case_id=case.pk, actor=intake)
    closed = case_in("closed")
    with pytest.raises(InvalidState):
        services.evidence_accept_matching(case_id=closed.pk, actor=supervisor)
    assert not EvidenceItem.objects.filter(case=case, review_state="accepted").exists()


def test_a_failure_while_reading_lets_go_of_the_check_at_once(case, order, supervisor, sent, monkeypatch):
    item = upload_chat(case, order, supervisor, chat_about(order))

    def broken(file, content_type, **options):
        raise MemoryError("the worker ran out of memory")

    monkeypatch.setattr(reading, "read_file", broken)
    with pytest.raises(MemoryError):
        checks.check_run(item.evidence_check.pk)
    check = EvidenceCheck.objects.get(item=item)
    assert (check.state, check.attempts) == (CheckState.QUEUED, 1)
    assert check.lease_until <= timezone.now()  # the retry or the next sweep takes it up
    monkeypatch.undo()
    assert checks.check_run(check.pk) is True


def test_a_long_reading_renews_its_hold_page_by_page(case, order, supervisor, sent, monkeypatch, settings):
    item = upload_chat(case, order, supervisor, chat_about(order))
    held: list[dt.datetime] = []
    read_file = reading.read_file

    def paged_read(file, content_type, *, on_page):
        for _page in range(3):
            EvidenceCheck.objects.filter(item=item).update(lease_until=timezone.now())  # nearly run out
            on_page()
            held.append(EvidenceCheck.objects.get(item=item).lease_until)
        return read_file(file, content_type)

    monkeypatch.setattr(reading, "read_file", paged_read)
    before = timezone.now()
    assert checks.check_run(item.evidence_check.pk) is True
    assert all(until >= before + dt.timedelta(seconds=settings.EVIDENCE_CHECK_LEASE_SECONDS) for until in held)


def test_giving_up_keeps_a_text_read_before_and_leaves_an_unread_file_to_be_read_again(
    case, order, supervisor, sent, settings
):
    read_before = upload_chat(case, order, supervisor, chat_about(order))
    checks.check_run(read_before.evidence_check.pk)
    checks.checks_recheck_orders([order.pk])
    never_read = evidence_item(case, order=order, kind="shipping_slip", uploaded_by=supervisor, review_state="pending")
    EvidenceCheck.objects.create(item=never_read)
    expired = timezone.now() - dt.timedelta(seconds=1)
    EvidenceCheck.objects.update(lease_until=expired, attempts=settings.EVIDENCE_CHECK_MAX_ATTEMPTS)

    checks.checks_resume(send=lambda ids: None)

    kept = EvidenceCheck.objects.get(item=read_before)
    assert (kept.state, kept.outcome, kept.method) == (CheckState.DONE, CheckOutcome.MATCH, ReadMethod.TEXT)
    assert kept.read_at is not None
    assert order.buyer_handle in kept.text
    unread = EvidenceCheck.objects.get(item=never_read)
    assert (unread.state, unread.outcome, unread.read_at) == (CheckState.DONE, CheckOutcome.UNREADABLE, None)
    checks.checks_recheck_orders([order.pk])  # the order changes: the file is read again
    checks.check_run(unread.pk)
    unread.refresh_from_db()
    assert unread.read_error.startswith("the image cannot be decoded")
    assert unread.read_at is not None


def test_a_check_taken_up_meanwhile_is_not_given_up(case, order, supervisor, sent, settings):
    item = evidence_item(case, order=order, kind="shipping_slip", uploaded_by=supervisor, review_state="pending")
    check = EvidenceCheck.objects.create(
        item=item, attempts=settings.EVIDENCE_CHECK_MAX_ATTEMPTS, lease_until=timezone.now() + dt.timedelta(minutes=1)
    )
    checks._give_up(check.pk)
    check.refresh_from_db()
    assert (check.state, check.outcome) == (CheckState.QUEUED, "")


def test_a_broker_that_is_down_does_not_fail_the_upload(
    case, order, supervisor, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(check_ids):
        raise ConnectionError("the broker is down")

    monkeypatch.setattr(checks, "_send", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        item = upload_chat(case, order, supervisor, chat_about(order))
    assert EvidenceCheck.objects.get(item=item).state == CheckState.QUEUED  # the sweep sends it later
