"""How well the evidence checks do on the labelled set (tests/evidence/labelled.py): shared by its test and the bench.

Each sample is read as a worker reads a stored file (evidence.reading) and compared with
its order by the kind's default rule (evidence.comparing). A finding is correct when its
result is the label's. The figures:

- accuracy on clean images, on degraded ones (rotated, blurred, low contrast,
  photographed), and on documents (PDFs, chat exports): correct findings / labelled ones;
- mismatch recall: planted wrong values caught, i.e. that check's finding is ``mismatch``
  and so is the item's outcome;
- OCR throughput: images read per second of reading, in this one process.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

from evidence import comparing, reading
from evidence.models import CheckOutcome, FindingResult
from tests.evidence.labelled import Sample


@dataclass
class Result:
    sample: Sample
    outcome: str
    found: dict[str, str]
    seconds: float

    @property
    def wrong(self) -> dict[str, tuple[str, str]]:
        """Check -> (label, what the checks found), for each finding that is not the label's."""
        return {
            name: (label, self.found.get(name, "none"))
            for name, label in self.sample.expected.items()
            if self.found.get(name) != label
        }


@dataclass
class Scores:
    results: list[Result] = field(default_factory=list)

    def _share(self, results: list[Result]) -> float:
        labelled = sum(len(result.sample.expected) for result in results)
        correct = labelled - sum(len(result.wrong) for result in results)
        return correct / labelled if labelled else 0.0

    @property
    def clean_images(self) -> list[Result]:
        return [result for result in self.results if result.sample.is_image and not result.sample.degraded]

    @property
    def degraded_images(self) -> list[Result]:
        return [result for result in self.results if result.sample.is_image and result.sample.degraded]

    @property
    def documents(self) -> list[Result]:
        return [result for result in self.results if not result.sample.is_image]

    @property
    def accuracy_clean(self) -> float:
        return self._share(self.clean_images)

    @property
    def accuracy_degraded(self) -> float:
        return self._share(self.degraded_images)

    @property
    def accuracy_documents(self) -> float:
        return self._share(self.documents)

    @property
    def planted(self) -> int:
        return sum(len(result.sample.planted) for result in self.results)

    @property
    def caught(self) -> int:
        return sum(
            1
            for result in self.results
            for name in result.sample.planted
            if result.found.get(name) == FindingResult.MISMATCH and result.outcome == CheckOutcome.MISMATCH
        )

    @property
    def mismatch_recall(self) -> float:
        return self.caught / self.planted if self.planted else 0.0

    @property
    def images_per_second(self) -> float:
        images = [result for result in self.results if result.sample.is_image]
        return len(images) / sum(result.seconds for result in images)

    def report(self) -> str:
        """The findings that missed their label, one line each, for an assertion message."""
        return "\n".join(
            f"{result.sample.name}: {name} labelled {label}, found {found}"
            for result in self.results
            for name, (label, found) in result.wrong.items()
        )


def facts(sample: Sample) -> comparing.OrderFacts:
    order = sample.order
    return comparing.OrderFacts(
        platform_order_id=order.platform_order_id,
        order_time=order.order_time,
        amount=order.amount,
        buyer_handle=order.buyer_handle,
        courier=order.courier,
        tracking_number=order.tracking_number,
    )


def check(sample: Sample) -> Result:
    started = time.perf_counter()
    read = reading.read_file(io.BytesIO(sample.data), sample.content_type)
    seconds = time.perf_counter() - started
    rule = comparing.Rule(comparing.DEFAULT_RULES[sample.kind])
    outcome, findings = comparing.compare(facts(sample), comparing.Text(read.pages), rule, readable=not read.error)
    return Result(sample, outcome, {finding.name: finding.result for finding in findings}, seconds)


def score(samples: list[Sample]) -> Scores:
    reading.engine()  # loaded before the clock starts: a worker loads it once
    return Scores([check(sample) for sample in samples])
