"""manage.py evidence_verify: every stored file read back and compared with its record (folder or bucket)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.evidence.samples import png, tamper
from tests.factories import evidence_item

pytestmark = pytest.mark.django_db


def verify(*args: str) -> str:
    out = io.StringIO()
    call_command("evidence_verify", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def items(case, manager):
    orders = list(case.flagged_orders.order_by("id"))
    return [
        evidence_item(case, order=orders[0], kind="shipping_slip", uploaded_by=manager, content=png(f"verify-{n}"))
        for n in range(3)
    ]


def test_files_that_match_their_records_pass(items):
    assert verify().strip().endswith("3 evidence files checked, 0 missing or changed")


def test_a_changed_and_a_missing_file_are_named_and_fail_the_command(items):
    changed, missing, intact = items
    tamper(changed, png("verify-X"))  # the same length, other bytes
    missing.file.storage.delete(missing.file.name)
    out = io.StringIO()

    with pytest.raises(CommandError, match="2 evidence files"):
        call_command("evidence_verify", stdout=out)

    lines = out.getvalue().splitlines()
    assert any(line.startswith(f"evidence item {changed.pk} ") and "SHA-256" in line for line in lines)
    assert any(line.startswith(f"evidence item {missing.pk} ") and "missing from storage" in line for line in lines)
    assert not any(line.startswith(f"evidence item {intact.pk} ") for line in lines)
    assert lines[-1] == "3 evidence files checked, 2 missing or changed"


def test_a_case_can_be_checked_alone(items, case, case_in, manager):
    other = case_in("evidence", with_evidence=False)
    evidence_item(other, order=None, kind="malicious_brushing", uploaded_by=manager, content=png("other"))

    assert verify("--case", str(other.pk)).strip().endswith("1 evidence files checked, 0 missing or changed")
