"""Importing flagged orders from a platform export: headers, encodings, XLSX, all or nothing, access."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook  # type: ignore[import-untyped]

from agency.errors import NotFound
from cases.models import Case, CaseEvent, FlaggedOrder
from casework import importing

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
CHINESE_HEADERS = ["订单编号", "下单时间", "实付金额", "买家昵称", "商品类型", "物流公司", "运单号", "备注"]
# Excel cells hold wall-clock times without a zone; the importer reads them in Asia/Shanghai.
EXCEL_TIME = dt.datetime(2026, 3, 1, 12, 30)  # noqa: DTZ001
ENGLISH_HEADERS = ["Order ID", "Order Time", "Amount", "Currency", "Buyer", "Goods Type", "Courier", "Tracking Number"]


def order_id(index: int) -> str:
    return f"48{index:017d}"


def chinese_row(index: int, **overrides: str) -> list[str]:
    row = {
        "订单编号": f'="{order_id(index)}"',  # how Taobao keeps 19 digits away from scientific notation
        "下单时间": f"2026/03/01 {index % 24:02d}:30",
        "实付金额": "￥1,299.00",
        "买家昵称": f"买家{index}",
        "商品类型": "实物",
        "物流公司": "顺丰速运",
        "运单号": f"SF{index:010d}",
        "备注": "",
    }
    row.update(overrides)
    return [row[header] for header in CHINESE_HEADERS]


def csv_bytes(headers: list[str], rows: list[list[str]], encoding: str = "utf-8-sig", delimiter: str = ",") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter)
    writer.writerow(headers)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def chinese_csv(count: int, *, start: int = 0, encoding: str = "utf-8-sig") -> bytes:
    return csv_bytes(CHINESE_HEADERS, [chinese_row(i) for i in range(start, start + count)], encoding)


def upload(content: bytes, name: str = "orders.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def post_import(client, case, content: bytes, name: str = "orders.csv", **fields):
    return client.post(
        f"/api/v1/cases/{case.pk}/orders/import/", {"file": upload(content, name), **fields}, format="multipart"
    )


def row_errors(response):
    assert response.status_code == 400, response.data
    return response.data["error"]["details"]["rows"]


def file_errors(response):
    assert response.status_code == 400, response.data
    return response.data["error"]["details"]["fields"]["file"]


# --- Headers, encodings and formats -----------------------------------------------------------


def test_chinese_headers_are_understood(api, manager, case_in):
    case = case_in("intake")
    content = chinese_csv(5)

    response = post_import(api(manager), case, content)

    assert response.status_code == 201, response.data
    assert response.data["imported"] == 5
    assert response.data["dry_run"] is False
    assert response.data["columns"] == {
        "订单编号": "platform_order_id",
        "下单时间": "order_time",
        "实付金额": "amount",
        "买家昵称": "buyer_handle",
        "商品类型": "goods_type",
        "物流公司": "courier",
        "运单号": "tracking_number",
    }
    assert response.data["ignored_columns"] == ["备注"]
    order = FlaggedOrder.objects.get(case=case, platform_order_id=order_id(3))
    # 03:30 in Shanghai, the agency's time zone, since the export gives no offset.
    assert order.order_time == dt.datetime(2026, 3, 1, 3, 30, tzinfo=SHANGHAI)
    assert order.amount == Decimal("1299.00")
    assert (order.currency, order.buyer_handle, order.goods_type) == ("CNY", "买家3", "physical")
    assert (order.courier, order.tracking_number) == ("顺丰速运", "SF0000000003")


def test_english_headers_are_understood(api, manager, case_in):
    case = case_in("intake")
    rows = [
        [order_id(1), "2026-03-01T04:30:00Z", "15.5", "usd", "buyer_one", "virtual", "", ""],
        [order_id(2), "2026-03-02 09:05:07+08:00", "0", "", "buyer_two", "Physical", "YTO", "'YT123"],
    ]

    response = post_import(api(manager), case, csv_bytes(ENGLISH_HEADERS, rows, encoding="utf-8"))

    assert response.status_code == 201, response.data
    assert response.data["ignored_columns"] == []
    first, second = FlaggedOrder.objects.filter(case=case, platform_order_id__in=[order_id(1), order_id(2)])
    assert first.order_time == dt.datetime(2026, 3, 1, 4, 30, tzinfo=dt.UTC)
    assert (first.amount, first.currency, first.goods_type) == (Decimal("15.50"), "USD", "virtual")
    assert second.order_time == dt.datetime(2026, 3, 2, 9, 5, 7, tzinfo=SHANGHAI)
    assert (second.amount, second.currency, second.goods_type) == (Decimal("0.00"), "CNY", "physical")
    assert second.tracking_number == "YT123"


def test_user_mapping_overrides_the_guesses(api, manager, case_in):
    case = case_in("intake")
    headers = ["单号", "时间", "付款", "订单金额", "类型"]
    rows = [[order_id(1), "2026-03-01 12:00:00", "88.80", "100.00", ""]]
    mapping = {"单号": "platform_order_id", "时间": "order_time", "付款": "amount", "订单金额": None}

    response = post_import(
        api(manager), case, csv_bytes(headers, rows), mapping=json.dumps(mapping), default_goods_type="virtual"
    )

    assert response.status_code == 201, response.data
    assert response.data["columns"] == {"单号": "platform_order_id", "时间": "order_time", "付款": "amount"}
    assert response.data["ignored_columns"] == ["订单金额", "类型"]
    order = FlaggedOrder.objects.get(case=case, platform_order_id=order_id(1))
    assert (order.amount, order.goods_type) == (Decimal("88.80"), "virtual")


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        ('{"订单编号": "order_number"}', "is not a field"),
        ('{"Order": "platform_order_id"}', "no column"),
        ('{"订单编号": "amount", "实付金额": "amount"}', "both mapped"),
        ('["订单编号"]', "JSON object"),
        ("{not json", "Not valid JSON"),
    ],
)
def test_a_bad_mapping_is_refused(api, manager, case_in, mapping, expected):
    case = case_in("intake")

    response = post_import(api(manager), case, chinese_csv(2), mapping=mapping)

    assert response.status_code == 400, response.data
    assert expected in " ".join(response.data["error"]["details"]["fields"]["mapping"])
    assert case.flagged_orders.count() == 3


def test_a_split_amount_in_a_row_without_its_trailing_empty_cell_is_a_row_error(api, manager, case_in):
    # The writer left out the empty note: the split row has exactly the header's width, and
    # read as it stands it would be amount 1.00, buyer "234.50", note "买家2".
    case = case_in("intake")
    header = "订单编号,下单时间,实付金额,买家昵称,备注"
    content = raw_csv(header, f"{order_id(1)},2026-03-01 12:00,¥1,234.50,买家2")

    response = post_import(api(manager), case, content)

    [error] = row_errors(response)
    assert (error["row"], error["column"], error["field"]) == (2, "实付金额", "amount")
    assert "an amount with an unquoted thousands separator?" in error["message"]
    assert case.flagged_orders.count() == 3


def test_xlsx_first_sheet_is_read(api, manager, case_in):
    case = case_in("intake")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["订单号", "创建时间", "订单金额", "买家", "快递公司", "物流单号", "商品类型"])
    sheet.append([order_id(1), EXCEL_TIME, 99.9, "张三", "中通快递", 73100012345678, "虚拟"])
    sheet.append([order_id(2), "2026-03-02 08:00", 120, "李四", "", "", ""])
    sheet.append([])  # a blank row in the middle is skipped, and row numbers keep counting
    sheet.append([order_id(3), dt.date(2026, 3, 3), "12.34", "王五", "", "", ""])
    workbook.create_sheet("Notes").append(["not", "read"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    response = post_import(api(manager), case, buffer.getvalue(), name="export.xlsx")

    assert response.status_code == 201, response.data
    assert response.data["imported"] == 3
    orders = {order.platform_order_id: order for order in case.flagged_orders.all()}
    assert orders[order_id(1)].order_time == dt.datetime(2026, 3, 1, 12, 30, tzinfo=SHANGHAI)
    assert orders[order_id(1)].amount == Decimal("99.90")
    assert orders[order_id(1)].tracking_number == "73100012345678"
    assert orders[order_id(1)].goods_type == "virtual"
    assert orders[order_id(2)].amount == Decimal("120.00")
    # A date alone is the start of that day, the earliest the order can have been placed.
    assert orders[order_id(3)].order_time == dt.datetime(2026, 3, 3, 0, 0, tzinfo=SHANGHAI)


def test_xlsx_bad_row_is_reported_by_its_sheet_row(api, manager, case_in):
    case = case_in("intake")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["订单号", "下单时间", "实付金额"])
    sheet.append([order_id(1), EXCEL_TIME, 10])
    sheet.append([])
    sheet.append([3.9e18, EXCEL_TIME, 10])  # a 19-digit id typed as a number
    buffer = io.BytesIO()
    workbook.save(buffer)

    response = post_import(api(manager), case, buffer.getvalue(), name="export.xlsx")

    [error] = row_errors(response)
    assert (error["row"], error["column"], error["field"]) == (4, "订单号", "platform_order_id")
    assert "lost digits" in error["message"]


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("gbk", ","), ("gb18030", ","), ("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t")],
)
def test_csv_encodings_and_delimiters(api, manager, case_in, encoding, delimiter):
    case = case_in("intake")
    rows = [chinese_row(i, 买家昵称=f"张三{i}") for i in range(3)]
    content = csv_bytes(CHINESE_HEADERS, rows, encoding=encoding, delimiter=delimiter)

    response = post_import(api(manager), case, content)

    assert response.status_code == 201, response.data
    assert case.flagged_orders.get(platform_order_id=order_id(2)).buyer_handle == "张三2"


def test_gbk_encoded_csv_from_excel(api, manager, case_in):
    case = case_in("intake")
    content = chinese_csv(20, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")

    response = post_import(api(manager), case, content)

    assert response.status_code == 201, response.data
    assert response.data["columns"]["订单编号"] == "platform_order_id"
    assert case.flagged_orders.get(platform_order_id=order_id(7)).courier == "顺丰速运"


# --- All or nothing -------------------------------------------------------------------------


def test_a_bad_row_at_the_end_of_10000_rows_imports_nothing(api, manager, case_in):
    case = case_in("intake")
    rows = [chinese_row(i) for i in range(9_999)]
    rows.append(chinese_row(9_999, 实付金额="-5.00"))

    response = post_import(api(manager), case, csv_bytes(CHINESE_HEADERS, rows))

    errors = row_errors(response)
    message = "An amount cannot be negative."
    assert errors == [{"row": 10_001, "column": "实付金额", "field": "amount", "message": message}]
    assert response.data["error"]["details"]["error_count"] == 1
    assert response.data["error"]["code"] == "invalid"
    case.refresh_from_db()
    assert case.flagged_orders.count() == case.flagged_order_count == 3
    assert not CaseEvent.objects.filter(case=case, kind="flagged_orders_imported").exists()


@pytest.mark.parametrize(
    ("overrides", "column", "field", "message"),
    [
        ({"订单编号": ""}, "订单编号", "platform_order_id", "Required."),
        ({"订单编号": "9" * 65}, "订单编号", "platform_order_id", "Longer than 64 characters."),
        ({"下单时间": "yesterday"}, "下单时间", "order_time", "is not a date and time"),
        ({"下单时间": "2026-02-30 10:00"}, "下单时间", "order_time", "is not a real date"),
        ({"下单时间": "1900-01-01 10:00"}, "下单时间", "order_time", "Must not be before 2000-01-01."),
        ({"下单时间": "9999-12-31 23:59"}, "下单时间", "order_time", "Must not be in the future."),
        ({"实付金额": ""}, "实付金额", "amount", "Required."),
        ({"实付金额": "12.345"}, "实付金额", "amount", "at most two decimal places"),
        ({"实付金额": "-0.01"}, "实付金额", "amount", "cannot be negative"),
        ({"实付金额": "abc"}, "实付金额", "amount", "is not an amount"),
        ({"商品类型": "服务"}, "商品类型", "goods_type", "is not a goods type"),
        ({"运单号": "S" * 101}, "运单号", "tracking_number", "Longer than 100 characters."),
    ],
)
def test_each_bad_cell_is_named(api, manager, case_in, overrides, column, field, message):
    case = case_in("intake")
    rows = [chinese_row(0), chinese_row(1, **overrides), chinese_row(2)]

    response = post_import(api(manager), case, csv_bytes(CHINESE_HEADERS, rows))

    [error] = row_errors(response)
    assert (error["row"], error["column"], error["field"]) == (3, column, field)
    assert message in error["message"]
    assert case.flagged_orders.count() == 3


def test_amounts_drop_currency_signs_and_thousands_separators(api, manager, case_in):
    case = case_in("intake")
    amounts = ["￥12,345.6", "¥ 7", "1,000,000.00元", "0.10"]
    rows = [chinese_row(i, 实付金额=amount) for i, amount in enumerate(amounts)]

    response = post_import(api(manager), case, csv_bytes(CHINESE_HEADERS, rows))

    assert response.status_code == 201, response.data
    stored = dict(case.flagged_orders.values_list("platform_order_id", "amount"))
    assert [stored[order_id(i)] for i in range(4)] == [
        Decimal("12345.60"),
        Decimal("7.00"),
        Decimal("1000000.00"),
        Decimal("0.10"),
    ]


def test_every_problem_is_counted_and_the_first_500_listed(api, manager, case_in):
    case = case_in("intake")
    rows = [chinese_row(i, 下单时间="soon") for i in range(600)]

    response = post_import(api(manager), case, csv_bytes(CHINESE_HEADERS, rows))

    errors = row_errors(response)
    assert len(errors) == 500
    assert [error["row"] for error in errors[:3]] == [2, 3, 4]
    assert response.data["error"]["details"]["error_count"] == 600
    assert "600" in response.data["error"]["message"]


def test_duplicates_within_the_file_name_the_earlier_row(api, manager, case_in):
    case = case_in("intake")
    rows = [chinese_row(0), chinese_row(1), chinese_row(2), chinese_row(1)]

    response = post_import(api(manager), case, csv_bytes(CHINESE_HEADERS, rows))

    [error] = row_errors(response)
    assert (error["row"], error["column"], error["field"]) == (5, "订单编号", "platform_order_id")
    assert error["message"] == f"Order {order_id(1)} is already in row 3."
    assert case.flagged_orders.count() == 3


def test_duplicates_of_the_cases_orders_are_reported_with_the_other_problems(api, manager, case_in):
    case = case_in("intake")
    existing = case.flagged_orders.order_by("platform_order_id").first().platform_order_id
    rows = [chinese_row(0), chinese_row(1, 实付金额="x"), chinese_row(2, 订单编号=existing)]

    response = post_import(api(manager), case, csv_bytes(CHINESE_HEADERS, rows))

    errors = row_errors(response)
    assert [(error["row"], error["field"]) for error in errors] == [(3, "amount"), (4, "platform_order_id")]
    assert errors[1]["message"] == f"Order {existing} is already on the case."
    assert response.data["error"]["details"]["error_count"] == 2
    assert case.flagged_orders.count() == 3


# --- Whole-file problems --------------------------------------------------------------------


def test_a_missing_required_column_is_named(api, manager, case_in):
    case = case_in("intake")
    content = csv_bytes(["订单编号", "买家昵称", "备注"], [[order_id(1), "买家", ""]])

    response = post_import(api(manager), case, content)

    [message] = file_errors(response)
    assert "order_time, amount" in message
    details = response.data["error"]["details"]
    assert set(details["missing_fields"]) == {"order_time", "amount"}
    assert "下单时间" in details["missing_fields"]["order_time"]
    assert details["columns"] == {"订单编号": "platform_order_id", "买家昵称": "buyer_handle"}
    assert details["ignored_columns"] == ["备注"]


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"", "orders.csv", "The file is empty."),
        (b"\r\n\r\n,,,\r\n", "orders.csv", "The file is empty."),
        (",".join(CHINESE_HEADERS).encode() + b"\r\n,,,,\r\n", "orders.csv", "a header row but no orders"),
        (b"\x80\x81\xff\xfe\x00binary", "orders.csv", "neither an XLSX workbook nor a CSV file"),
        (b"PK\x03\x04 broken archive", "orders.xlsx", "cannot be read"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "orders.xls", "Old .xls"),
    ],
)
def test_files_that_cannot_be_imported_are_refused_on_the_file_field(api, manager, case_in, content, name, expected):
    case = case_in("intake")

    response = post_import(api(manager), case, content, name=name)

    [message] = file_errors(response)
    assert expected in message
    assert response.data["error"]["message"] == message


def test_too_many_rows_are_refused(api, manager, case_in, monkeypatch):
    monkeypatch.setattr(importing, "MAX_IMPORT_ROWS", 10)
    case = case_in("intake")

    response = post_import(api(manager), case, chinese_csv(11))

    [message] = file_errors(response)
    assert "more than 10 orders" in message
    assert post_import(api(manager), case, chinese_csv(10)).status_code == 201


def test_a_file_larger_than_the_limit_is_refused(api, manager, case_in, monkeypatch):
    monkeypatch.setattr(importing, "MAX_IMPORT_BYTES", 1024)
    case = case_in("intake")

    [message] = file_errors(post_import(api(manager), case, chinese_csv(50)))

    assert "larger than" in message


def test_request_without_a_file(api, manager, case_in):
    case = case_in("intake")

    response = api(manager).post(f"/api/v1/cases/{case.pk}/orders/import/", {}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.data["error"]["details"]["fields"]


# --- State, dry run, history ------------------------------------------------------------------


# States reached without submitting an appeal, so that this test does not depend on the evidence rules.
@pytest.mark.parametrize("state", ["evidence", "declined", "withdrawn"])
def test_orders_cannot_be_imported_once_the_case_is_past_assessment(api, supervisor, case_in, state):
    case = case_in(state)

    response = post_import(api(supervisor), case, chinese_csv(3))

    assert response.status_code == 409
    assert response.data["error"]["code"] == "invalid_state"
    assert case.flagged_orders.count() == 3


def test_import_in_assessment_is_allowed(api, manager, case_in):
    case = case_in("assessment")

    assert post_import(api(manager), case, chinese_csv(3)).status_code == 201


def test_dry_run_answers_what_would_be_imported_and_writes_nothing(api, manager, case_in):
    case = case_in("intake")
    events_before = CaseEvent.objects.filter(case=case).count()

    response = post_import(api(manager), case, chinese_csv(7), dry_run="true")

    assert response.status_code == 200, response.data
    assert response.data["imported"] == 7
    assert response.data["dry_run"] is True
    assert response.data["ignored_columns"] == ["备注"]
    case.refresh_from_db()
    assert case.flagged_orders.count() == case.flagged_order_count == 3
    assert CaseEvent.objects.filter(case=case).count() == events_before


def test_dry_run_reports_bad_rows_too(api, manager, case_in):
    case = case_in("intake")
    rows = [chinese_row(0), chinese_row(1, 下单时间="")]

    response = post_import(api(manager), case, csv_bytes(CHINESE_HEADERS, rows), dry_run="true")

    assert [error["row"] for error in row_errors(response)] == [3]


def test_one_history_event_with_the_count_file_name_and_hash(api, manager, case_in):
    case = case_in("intake")
    content = chinese_csv(250)
    events_before = CaseEvent.objects.filter(case=case).count()

    response = post_import(api(manager), case, content, name="淘宝订单导出.csv")

    assert response.status_code == 201, response.data
    assert response.data["sha256"] == hashlib.sha256(content).hexdigest()
    [event] = CaseEvent.objects.filter(case=case, kind="flagged_orders_imported")
    assert event.actor == manager
    assert event.new_value["count"] == 250
    assert event.new_value["file_name"] == "淘宝订单导出.csv"
    assert event.new_value["sha256"] == hashlib.sha256(content).hexdigest()
    assert len(event.new_value["order_ids"]) == 20
    assert CaseEvent.objects.filter(case=case).count() == events_before + 1


def test_flagged_order_count_follows_imports(api, manager, case_in):
    case = case_in("intake")

    post_import(api(manager), case, chinese_csv(40))
    post_import(api(manager), case, chinese_csv(60, start=40))

    case.refresh_from_db()
    assert case.flagged_order_count == case.flagged_orders.count() == 103
    detail = api(manager).get(f"/api/v1/cases/{case.pk}/")
    assert detail.data["flagged_order_count"] == 103


def test_intake_specialist_imports_into_the_intake_queue(api, intake, case_in):
    case = case_in("intake")

    assert post_import(api(intake), case, chinese_csv(2)).status_code == 201


# --- Who may import ---------------------------------------------------------------------------


def test_anonymous_gets_401(api, case_in):
    case = case_in("intake")

    response = post_import(api(), case, chinese_csv(2))

    assert response.status_code == 401
    assert response.data["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("client_user", ["alice", "charlie"])
def test_client_users_get_403_whether_or_not_the_case_is_theirs(api, request, case_in, client_user):
    # The staff API answers every client 403, on a case of theirs, another's or none:
    # which cases exist is not revealed (clients import nothing; the portal has no import).
    case = case_in("intake")
    client = api(request.getfixturevalue(client_user))

    real = post_import(client, case, chinese_csv(2))
    missing = client.post("/api/v1/cases/999999/orders/import/", {"file": upload(chinese_csv(2))}, format="multipart")

    assert real.status_code == missing.status_code == 403
    assert real.data == missing.data
    assert case.flagged_orders.count() == 3


def test_evidence_reviewer_gets_403(api, reviewer, case_in):
    case = case_in("assessment")

    response = post_import(api(reviewer), case, chinese_csv(2))

    assert response.status_code == 403
    assert case.flagged_orders.count() == 3


def test_staff_of_another_team_gets_404(api, outsider_manager, case_in):
    case = case_in("assessment")

    response = post_import(api(outsider_manager), case, chinese_csv(2))

    assert response.status_code == 404
    assert response.data["error"]["code"] == "not_found"
    assert case.flagged_orders.count() == 3


def test_the_service_checks_access_before_reading_the_file(manager, outsider_manager, case_in):
    case = case_in("assessment")

    with pytest.raises(NotFound):
        importing.flagged_orders_import(case_id=case.pk, actor=outsider_manager, upload=upload(b"not a valid file"))


# --- Cost -----------------------------------------------------------------------------------


def _import_queries(case, manager, rows: int) -> list[str]:
    content = chinese_csv(rows, start=100_000)
    with CaptureQueriesContext(connection) as captured:
        result = importing.flagged_orders_import(case_id=case.pk, actor=manager, upload=upload(content))
    assert result.imported == rows
    return [query["sql"] for query in captured.captured_queries]


def test_query_count_does_not_grow_with_the_rows(manager, case_in):
    small = _import_queries(case_in("intake"), manager, 1_000)
    large = _import_queries(case_in("intake"), manager, 10_000)

    def inserts(queries: list[str]) -> int:
        return sum(query.startswith('INSERT INTO "cases_flaggedorder"') for query in queries)

    fields = [f for f in FlaggedOrder._meta.concrete_fields if not f.primary_key]
    batch = min(1000, connection.ops.bulk_batch_size(fields, [None] * 1000))
    assert inserts(small) == math.ceil(1_000 / batch)
    assert inserts(large) == math.ceil(10_000 / batch)
    # Everything else (the case, its lock, the existing ids, the count, the event, and
    # keeping the chat-evidence deadline in step with the new orders) is fixed.
    assert len(small) - inserts(small) == len(large) - inserts(large) <= 20, large
    assert Case.objects.filter(flagged_order_count=10_003).count() == 1


# --- Schema ---------------------------------------------------------------------------------


def test_endpoint_is_documented_as_multipart(api):
    response = api().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    operation = json.loads(response.content)["paths"]["/api/v1/cases/{id}/orders/import/"]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["$ref"].endswith("/FlaggedOrderImportInputRequest")
    assert {"200", "201", "400", "401", "403", "404", "409"} <= set(operation["responses"])


# --- Nothing truncated or dropped (issue 12, point 5) -------------------------------------------


def raw_csv(*lines: str) -> bytes:
    """A CSV written by hand, so that a row can be as broken as a real export's."""
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


@pytest.mark.parametrize(
    ("header", "row", "column", "message", "hint"),
    [
        ("订单编号,下单时间,实付金额,买家昵称", "2026-03-01 12:00,10.00,买家2,VIP客户", "E", "5 cells", False),
        # A cell under a blank header (the header row ends with a comma) belongs to no column either.
        ("订单编号,下单时间,实付金额,买家昵称,", "2026-03-01 12:00,10.00,买家2,VIP客户", "E", "5 cells", False),
        ("订单编号,下单时间,实付金额", "2026-03-01 12:00,10.00,,,多出来的", "F", "6 cells", False),
        # Three digits past the header look like the rest of a split amount, wherever it was.
        ("订单编号,下单时间,实付金额,买家昵称", "2026-03-01 12:00,10.00,买家2,500.00", "E", "5 cells", True),
    ],
)
def test_a_row_with_more_cells_than_the_header_is_a_row_error(
    api, manager, case_in, header, row, column, message, hint
):
    case = case_in("intake")
    content = raw_csv(header, f"{order_id(1)},2026-03-01 12:00,10.00", f"{order_id(2)},{row}")

    response = post_import(api(manager), case, content)

    [error] = row_errors(response)
    assert (error["row"], error["column"], error["field"]) == (3, column, None)
    assert f"{message}, more than the header's" in error["message"]
    assert ("an amount with an unquoted thousands separator?" in error["message"]) is hint
    assert case.flagged_orders.count() == 3


@pytest.mark.parametrize(
    ("header", "row"),
    [
        # The amount is the last column: "234.50" would be dropped and 1.00 imported.
        ("订单编号,下单时间,实付金额", "2026-03-01 12:00,¥1,234.50"),
        # The amount in the middle and an empty last column: every later cell moves one to the
        # right, 234.50 becomes the buyer, and the row still looks like a trailing comma.
        ("订单编号,下单时间,实付金额,买家昵称,备注", "2026-03-01 12:00,¥1,234.50,买家2,"),
        ("订单编号,下单时间,实付金额,买家昵称", "2026-03-01 12:00,￥1,234,567.00,买家2"),
        ("订单编号,下单时间,实付金额,买家昵称,备注", "2026-03-01 12:00,12,345元,买家2,加急"),
    ],
)
def test_an_amount_split_by_an_unquoted_thousands_separator_is_a_row_error(api, manager, case_in, header, row):
    case = case_in("intake")
    content = raw_csv(header, f'{order_id(1)},2026-03-01 12:00,"¥1,234.50"', f"{order_id(2)},{row}")

    response = post_import(api(manager), case, content)

    [error] = row_errors(response)
    assert (error["row"], error["column"], error["field"]) == (3, "实付金额", "amount")
    assert "more than the header's" in error["message"]
    assert "an amount with an unquoted thousands separator?" in error["message"]
    assert case.flagged_orders.count() == 3


def test_the_split_amount_hint_is_in_chinese_too(api, manager, case_in):
    case = case_in("intake")
    content = raw_csv("订单编号,下单时间,实付金额", f"{order_id(1)},2026-03-01 12:00,¥1,234.50")

    response = api(manager).post(
        f"/api/v1/cases/{case.pk}/orders/import/",
        {"file": upload(content)},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    [error] = row_errors(response)
    assert "千位分隔符" in error["message"]


def test_empty_trailing_cells_are_harmless(api, manager, case_in):
    # Exports that end every line with a delimiter, and Excel, which leaves trailing empty
    # cells out of some lines, both produce rows whose length differs from the header's
    # only by empty cells; nothing is lost in them.
    case = case_in("intake")
    content = raw_csv(
        "订单编号,下单时间,实付金额,买家昵称,备注",
        f"{order_id(1)},2026-03-01 12:00,10.00,买家1,",
        f"{order_id(2)},2026-03-01 12:00,1234.50,,,,",
        f"{order_id(3)},2026-03-01 12:00,7",
    )

    response = post_import(api(manager), case, content)

    assert response.status_code == 201, response.data
    stored = dict(case.flagged_orders.values_list("platform_order_id", "amount"))
    assert [stored[order_id(i)] for i in (1, 2, 3)] == [Decimal("10.00"), Decimal("1234.50"), Decimal("7.00")]


def test_a_short_row_missing_a_required_cell_names_the_row_and_column(api, manager, case_in):
    case = case_in("intake")
    content = raw_csv(
        ",".join(CHINESE_HEADERS),
        f"{order_id(1)},2026-03-01 12:00,10.00,买家1,实物,顺丰速运,SF1",  # no 备注: harmless
        f"{order_id(2)},2026-03-01 12:00",
    )

    response = post_import(api(manager), case, content)

    [error] = row_errors(response)
    assert (error["row"], error["column"], error["field"]) == (3, "实付金额", "amount")
    assert error["message"] == "Missing: this row has only 2 cells, fewer than the header's 8."
    assert case.flagged_orders.count() == 3


@pytest.mark.parametrize(
    ("overrides", "column", "field", "message"),
    [
        # A comma that is not a thousands separator: a decimal comma would make 12.50 into 1250.
        ({"实付金额": "12,50"}, "实付金额", "amount", "is not an amount"),
        ({"实付金额": "1,2345.00"}, "实付金额", "amount", "is not an amount"),
        ({"买家昵称": "买" * 151}, "买家昵称", "buyer_handle", "Longer than 150 characters."),
        ({"物流公司": "顺" * 101}, "物流公司", "courier", "Longer than 100 characters."),
    ],
)
def test_cells_are_refused_rather_than_misread_or_cut(api, manager, case_in, overrides, column, field, message):
    case = case_in("intake")
    rows = [chinese_row(0), chinese_row(1, **overrides)]

    response = post_import(api(manager), case, csv_bytes(CHINESE_HEADERS, rows))

    [error] = row_errors(response)
    assert (error["row"], error["column"], error["field"]) == (3, column, field)
    assert message in error["message"]


def test_an_empty_xlsx_time_cell_is_required(api, manager, case_in):
    case = case_in("intake")
    content = xlsx_bytes([["订单号", "下单时间", "实付金额"], [order_id(1), EXCEL_TIME, 10], [order_id(2), None, 10]])

    response = post_import(api(manager), case, content, name="export.xlsx")

    [error] = row_errors(response)
    assert (error["row"], error["column"], error["message"]) == (3, "下单时间", "Required.")


def xlsx_bytes(rows: list[list[object]], *, padding: int = 0) -> bytes:
    """A real workbook; ``padding`` zero bytes in one more, highly compressible member make it a ZIP bomb."""
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    if padding:
        with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("xl/media/padding.bin", bytes(padding))
    return buffer.getvalue()


def small_xlsx() -> bytes:
    return xlsx_bytes([["订单号", "下单时间", "实付金额"], [order_id(1), EXCEL_TIME, 10]])


@pytest.fixture
def openpyxl_must_not_parse(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("openpyxl was asked to parse a workbook that should have been refused")

    monkeypatch.setattr("openpyxl.load_workbook", refuse)


def test_an_xlsx_that_unpacks_past_the_size_limit_is_refused_before_parsing(
    api, manager, case_in, settings, openpyxl_must_not_parse
):
    settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = 512 * 1024
    settings.IMPORT_XLSX_MAX_COMPRESSION_RATIO = 1_000_000
    case = case_in("intake")
    # Highly compressible text in the sheet's own cells: a few KB that unpack to over 600 KB.
    rows = [["订单号", "下单时间", "实付金额", "备注"]]
    rows += [[order_id(i), EXCEL_TIME, 10, f"{i}" + "0" * 30_000] for i in range(20)]
    content = xlsx_bytes(rows)
    assert len(content) < 64 * 1024

    response = post_import(api(manager), case, content, name="export.xlsx")

    [message] = file_errors(response)
    assert "unpacks to more than 512" in message
    assert response.data["error"]["code"] == "invalid"
    assert case.flagged_orders.count() == 3


def test_an_xlsx_compressed_past_the_ratio_limit_is_refused_before_parsing(
    api, manager, case_in, settings, openpyxl_must_not_parse
):
    settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024
    settings.IMPORT_XLSX_MAX_COMPRESSION_RATIO = 100
    case = case_in("intake")

    response = post_import(api(manager), case, xlsx_bytes([["订单号"]], padding=2 * 1024 * 1024), name="export.xlsx")

    [message] = file_errors(response)
    assert "more than 100 times" in message
    assert case.flagged_orders.count() == 3


def test_an_ordinary_xlsx_passes_small_limits(api, manager, case_in, settings):
    settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = 64 * 1024
    settings.IMPORT_XLSX_MAX_COMPRESSION_RATIO = 20
    case = case_in("intake")

    response = post_import(api(manager), case, small_xlsx(), name="export.xlsx")

    assert response.status_code == 201, response.data
