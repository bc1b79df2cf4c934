"""The comparison of a file's text with its order (evidence.comparing): each check, and how a rule combines them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from evidence.comparing import DEFAULT_RULES, OrderFacts, Rule, Text, compare, moments
from evidence.models import CheckOutcome, FindingResult

SHANGHAI = ZoneInfo("Asia/Shanghai")
ORDER = OrderFacts(
    platform_order_id="3512345678901234567",
    order_time=dt.datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI),
    amount=Decimal("128.50"),
    buyer_handle="tb_lin2024",
    courier="中通快递",
    tracking_number="75312345678901",
)
PARCEL = Rule(DEFAULT_RULES["shipping_slip"])
CHAT = Rule(DEFAULT_RULES["chat_log"])
VIRTUAL = Rule(DEFAULT_RULES["delivery_record"])


def text(*lines: str) -> Text:
    return Text([list(lines)])


def results(findings):
    return {finding.name: finding.result for finding in findings}


def test_a_clean_slip_matches_with_where_each_fact_was_found():
    slip = text(
        "中通快递 电子面单", "运单号：7531 2345 678901", "收件人：张** 138****5678", "寄件时间：2026-11-03 09:12"
    )
    outcome, findings = compare(ORDER, slip, PARCEL)
    assert outcome == CheckOutcome.MATCH
    tracking = findings[0]
    assert (tracking.name, tracking.result, tracking.found) == ("tracking_number", "match", "75312345678901")
    assert (tracking.page, tracking.line, tracking.snippet) == (1, 2, "运单号：7531 2345 678901")
    assert results(findings) == {"tracking_number": "match", "courier": "match", "delivered_after_order": "match"}
    assert findings[2].found == "2026-11-03 09:12"


def test_another_tracking_number_of_the_same_pattern_is_a_mismatch_naming_it():
    slip = text("中通快递", "运单号：75312399978901", "2026-11-03")
    outcome, findings = compare(ORDER, slip, PARCEL)
    assert outcome == CheckOutcome.MISMATCH
    assert (findings[0].result, findings[0].expected, findings[0].found) == (
        "mismatch",
        "75312345678901",
        "75312399978901",
    )


def test_the_identifier_counts_only_as_a_whole_token():
    # The right digits inside a longer number are not the tracking number.
    slip = text("中通快递", "单号 9753123456789012", "2026-11-03")
    _outcome, findings = compare(ORDER, slip, PARCEL)
    assert results(findings)["tracking_number"] == FindingResult.NOT_FOUND


def test_the_order_id_is_not_taken_for_another_tracking_number():
    order = OrderFacts(**{**ORDER.__dict__, "tracking_number": "3512345678901234568"})
    slip = text("订单号 3512345678901234567", "运单号 3512345678901234568")
    _outcome, findings = compare(order, slip, Rule([["tracking_number"]]))
    assert results(findings) == {"tracking_number": "match"}
    only_order_id = text("订单号 3512345678901234567")
    _outcome, findings = compare(order, only_order_id, Rule([["tracking_number"]]))
    assert results(findings) == {"tracking_number": "not_found"}


def test_tracking_numbers_compare_without_spaces_or_case():
    order = OrderFacts(**{**ORDER.__dict__, "tracking_number": "sf 1403527788123", "courier": "顺丰速运"})
    slip = text("顺丰速运", "SF1403 5277 88123", "2026/11/04")
    outcome, _findings = compare(order, slip, PARCEL)
    assert outcome == CheckOutcome.MATCH


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("中通快递", "match"),
        ("ZTO Express", "match"),
        ("圆通速递", "mismatch"),
        ("YTO", "mismatch"),
        ("STORE 旗舰店", "not_found"),  # a Latin name counts only as a whole word
        ("快递公司", "not_found"),
    ],
)
def test_the_courier(line, expected):
    _outcome, findings = compare(ORDER, text(line, "75312345678901", "2026-11-03"), PARCEL)
    assert results(findings)["courier"] == expected


def test_a_courier_unknown_to_the_list_is_looked_for_by_its_name():
    order = OrderFacts(**{**ORDER.__dict__, "courier": "安能物流"})
    assert results(compare(order, text("安能物流 75312345678901 2026-11-03"), PARCEL)[1])["courier"] == "match"
    assert results(compare(order, text("顺丰 75312345678901 2026-11-03"), PARCEL)[1])["courier"] == "mismatch"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("签收时间 2026-11-02 10:00", "match"),  # the order's own minute
        ("签收时间 2026年11月5日", "match"),
        ("2026.11.02", "match"),  # a date alone: the order's day counts
        ("寄件 2026/11/01 18:00", "mismatch"),
        ("2026-11-02 09:59", "mismatch"),
        ("no date here", "not_found"),
        ("2026-13-45 25:00", "not_found"),  # not a date
    ],
)
def test_delivered_on_or_after_the_order(line, expected):
    _outcome, findings = compare(ORDER, text("中通", "75312345678901", line), PARCEL)
    assert results(findings)["delivered_after_order"] == expected


def test_dates_joined_to_their_time_by_ocr_are_read():
    [moment] = moments("签收时间：2026-11-0314:22", SHANGHAI)
    assert moment.at == dt.datetime(2026, 11, 3, 14, 22, tzinfo=SHANGHAI)
    assert moment.has_time


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (("订单号：3512345678901234567",), "match"),
        (("tb_lin2024", "2026-11-01 20:15 亲，在吗"), "match"),  # buyer and a time within 72 hours
        (("TB_LIN 2024", "2026-11-05 09:00"), "match"),  # 71 hours after, handle spaced and in capitals
        (("tb_lin2024", "2026-10-20 09:00"), "mismatch"),  # the chat is from another time
        (("tb_lin2024", "亲，在吗"), "not_found"),
        (("订单号：3512345678901299999", "tb_lin2024", "2026-11-02 11:00"), "mismatch"),  # another order's id
    ],
)
def test_a_chat_log_by_order_id_or_by_buyer_and_time(lines, expected):
    outcome, _findings = compare(ORDER, text(*lines), CHAT)
    assert outcome == expected


def test_every_check_a_rule_names_is_reported_even_when_one_group_matched():
    _outcome, findings = compare(ORDER, text("订单号：3512345678901234567"), CHAT)
    assert results(findings) == {"order_id": "match", "buyer": "not_found", "time_near_order": "not_found"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("实付金额：¥128.50", "match"),
        ("128.5元", "match"),
        ("合计 128.50", "match"),
        ("实付金额：¥182.50", "mismatch"),
        ("数量 128", "not_found"),  # a bare number is no amount
    ],
)
def test_the_amount(line, expected):
    record = text("订单编号 3512345678901234567", line, "发货时间 2026-11-02 10:05")
    outcome, findings = compare(ORDER, record, VIRTUAL)
    assert results(findings)["amount"] == expected
    assert outcome == {"match": "match", "mismatch": "mismatch", "not_found": "not_found"}[expected]


def test_a_blank_order_field_gives_no_finding_and_the_rest_decides():
    order = OrderFacts(**{**ORDER.__dict__, "courier": ""})
    outcome, findings = compare(order, text("75312345678901", "2026-11-03"), PARCEL)
    assert outcome == CheckOutcome.MATCH
    assert [finding.name for finding in findings] == ["tracking_number", "delivered_after_order"]


def test_a_file_without_text_is_unreadable_in_every_check():
    outcome, findings = compare(ORDER, Text([[" ", ""]]), PARCEL)
    assert outcome == CheckOutcome.UNREADABLE
    assert {finding.result for finding in findings} == {FindingResult.UNREADABLE}
    outcome, findings = compare(ORDER, text("中通 75312345678901"), PARCEL, readable=False)
    assert (outcome, len(findings)) == (CheckOutcome.UNREADABLE, 3)


def test_a_kind_without_a_rule_is_unchecked():
    assert compare(ORDER, text("anything"), None) == (CheckOutcome.UNCHECKED, [])
    assert compare(ORDER, text("anything"), Rule([])) == (CheckOutcome.UNCHECKED, [])


def test_text_keeps_pages_and_lines_for_the_location():
    parsed = Text.parse("first page\n\nsecond line\fpage two")
    assert list(parsed.lines()) == [(1, 1, "first page"), (1, 3, "second line"), (2, 1, "page two")]
    _outcome, findings = compare(ORDER, Text.parse("中通\f\n运单号 75312345678901\n2026-11-03"), PARCEL)
    assert (findings[0].page, findings[0].line) == (2, 2)


def test_snippets_and_values_are_cut_to_their_columns():
    long_line = "中通 75312345678901 " + "很长" * 300
    _outcome, findings = compare(ORDER, text(long_line, "2026-11-03"), PARCEL)
    assert len(findings[0].snippet) == 200


def test_a_group_whose_identifier_the_order_lacks_cannot_match():
    no_buyer = OrderFacts(**{**ORDER.__dict__, "buyer_handle": ""})
    assert compare(no_buyer, text("2026-11-02 11:00 亲，在吗"), CHAT)[0] == CheckOutcome.NOT_FOUND
    no_tracking = OrderFacts(**{**ORDER.__dict__, "tracking_number": ""})
    assert compare(no_tracking, text("中通快递", "2026-11-05"), PARCEL)[0] == CheckOutcome.NOT_FOUND


def test_any_contradiction_makes_the_item_a_mismatch_even_when_a_group_matched():
    outcome, findings = compare(ORDER, text("订单号：3512345678901234567", "tb_lin2024", "2026-08-01 10:00"), CHAT)
    assert results(findings) == {"order_id": "match", "buyer": "match", "time_near_order": "mismatch"}
    assert outcome == CheckOutcome.MISMATCH


@pytest.mark.parametrize("address", ["上海市南京东路 100 号", "北京东路 8 号", "邮政编码 310000"])
def test_words_that_contain_a_couriers_name_are_not_that_courier(address):
    _outcome, findings = compare(ORDER, text("75312345678901", address, "2026-11-03"), PARCEL)
    assert results(findings)["courier"] == "not_found"


def test_numbers_side_by_side_are_not_joined_into_another_tracking_number():
    order = OrderFacts(**{**ORDER.__dict__, "tracking_number": "753123456789"})  # 12 digits
    _outcome, findings = compare(order, text("中通", "电话 13800138000 1", "2026-11-03"), PARCEL)
    assert results(findings)["tracking_number"] == "not_found"


def test_a_wrong_tracking_number_printed_in_groups_is_a_mismatch():
    _outcome, findings = compare(ORDER, text("中通", "运单号 7531 2345 678902", "2026-11-03"), PARCEL)
    assert (findings[0].result, findings[0].found) == ("mismatch", "75312345678902")


def test_a_time_given_to_the_minute_is_not_before_an_order_placed_within_that_minute():
    order = OrderFacts(**{**ORDER.__dict__, "order_time": ORDER.order_time.replace(second=30)})
    _outcome, findings = compare(order, text("中通 75312345678901", "签收 2026-11-02 10:00"), PARCEL)
    assert results(findings)["delivered_after_order"] == "match"
    _outcome, findings = compare(order, text("中通 75312345678901", "签收 2026-11-02 10:00:29"), PARCEL)
    assert results(findings)["delivered_after_order"] == "mismatch"


@pytest.mark.parametrize(
    "line",
    ["付款 2026-11-02 10:05", "重量 1.20", "重量 2.50kg", "合计 2 件", "金额：3/5"],
)
def test_dates_weights_and_counts_are_no_amounts_against_the_order(line):
    record = text("订单编号 3512345678901234567", line, "发货时间 2026-11-02 10:05")
    _outcome, findings = compare(ORDER, record, VIRTUAL)
    assert results(findings)["amount"] == "not_found"


def test_the_buyer_is_found_as_a_whole_handle():
    order = OrderFacts(**{**ORDER.__dict__, "buyer_handle": "tb_lin"})
    assert results(compare(order, text("tb_lin2024", "2026-11-02 11:00"), CHAT)[1])["buyer"] == "not_found"
    assert results(compare(order, text("买家：TB_LIN", "2026-11-02 11:00"), CHAT)[1])["buyer"] == "match"
