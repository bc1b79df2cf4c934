"""The evidence checks on the labelled set the tests draw themselves (tests/evidence/labelled.py).

Slips, signed slips, courier tracking and chat screenshots and delivery records, as images
(clean and degraded) and PDFs, and chat exports, some carrying a planted wrong tracking
number, order id or amount. The goals: at least 98 % of findings right on clean images,
90 % on degraded ones, every document read right, and every planted mismatch caught.
`python3 dev.py bench` prints the same figures (evidence_check_accuracy_*).
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.evidence.accuracy import score
from tests.evidence.labelled import labelled_set


@pytest.fixture(scope="module")
def samples():
    return labelled_set()


def test_the_set_covers_every_kind_degradation_and_planted_value(samples):
    kinds = Counter(sample.kind for sample in samples)
    assert set(kinds) == {
        "shipping_slip",
        "signed_delivery",
        "courier_tracking",
        "chat_log",
        "delivery_record",
        "customer_confirmation",
    }
    degradations = Counter(sample.degradation for sample in samples if sample.is_image)
    assert degradations[""] >= 24
    assert all(degradations[name] >= 6 for name in ("rotated", "blurred", "low_contrast", "photographed"))
    planted = Counter(name for sample in samples for name in sample.planted)
    assert min(planted["tracking_number"], planted["order_id"], planted["amount"]) >= 1
    assert {sample.content_type for sample in samples} >= {"image/png", "image/jpeg", "application/pdf", "text/plain"}
    assert all(sample.expected[name] == "mismatch" for sample in samples for name in sample.planted)
    assert labelled_set() == samples  # the same bytes every time


GOALS = {"clean images": 0.98, "degraded images": 0.90, "documents": 1.0}


def group(sample) -> str:
    if not sample.is_image:
        return "documents"
    return "degraded images" if sample.degraded else "clean images"


# One test per group, so that pytest-xdist reads the groups' images in parallel.
@pytest.mark.parametrize("name", GOALS)
def test_the_checks_meet_their_goals_on_the_labelled_set(samples, name):
    scores = score([sample for sample in samples if group(sample) == name])
    accuracy = {
        "clean images": scores.accuracy_clean,
        "degraded images": scores.accuracy_degraded,
        "documents": scores.accuracy_documents,
    }[name]
    assert accuracy >= GOALS[name], scores.report()
    assert scores.caught == scores.planted > 0, scores.report()  # every planted mismatch caught
