"""Sweep benchmark: one ``deadlines_sweep()`` run with 100 alerts due among 1,000 and among 100,000 open deadlines.

``measure_sweep`` is called by bench.run for each database. It runs this module as a child
process (``python -m bench.sweep <out.json>``) with the bench environment, on the bench
database bench.inprocess migrated and seeded, which:

1. bulk-creates cases (one per 10 deadlines, on open states, assigned like the bench's
   cases) and open deadlines with realistic fields: due times spread over the next 60 days
   and ``next_alert_at`` computed by the engine's own ``next_alert_at``; none of them due;
2. arms exactly 100 of them (75 whose 4-hour reminder just came due, 25 just past their
   due time) and times one ``deadlines_sweep()``: claiming each, writing its alert, its
   notifications and its history row, each deadline in its own transaction;
3. re-arms the same 100 with new due times (so the alerts and notifications are new ones,
   not rejected duplicates) and repeats; the figure is the median of RUNS runs;
4. grows the deadlines to 100,000 and does the same.

Figures: ``sweep_1k_open_ms`` and ``sweep_100k_open_ms``. The sweep reads only what is due
through the partial index ``deadline_next_alert_open``, so the two should be close; the
notes give each size's query plan (after ANALYZE) so a plan change shows.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1_000, 100_000)
DUE = 100
DUE_MISSED = 25  # of the DUE: past their due time; the rest have a reminder due
RUNS = 5
DEADLINES_PER_CASE = 10
HORIZON = dt.timedelta(days=60)
# Due no sooner than this, so that no seeded deadline has anything due yet.
SOONEST = dt.timedelta(hours=5)
# Seeding takes seconds: alert times are computed as of this much later, so that none
# falls due while the bench runs (a reminder point a few seconds ahead would).
SETTLE = dt.timedelta(minutes=30)
BATCH = 2000
CHILD_TIMEOUT = 600
INDEX = "deadline_next_alert_open"


@dataclass
class SweepBenchResult:
    notes: list[str] = field(default_factory=list)
    figures: list[tuple[str, str, str]] = field(default_factory=list)


# --- The child: data and timings in the bench database -------------------------------------


def _add_cases(count: int, rng: random.Random) -> list[int]:
    """Bulk-create ``count`` open, assigned cases like bench.seed does (without their orders)."""
    from django.utils import timezone

    from agency.accounts.models import Role, User
    from agency.organisations.models import Shop
    from cases.models import Case, CaseState, PlatformRuleProfile, ReferenceSequence, Severity, ViolationType

    now = timezone.now()
    year = timezone.localtime(now).year
    sequence, _created = ReferenceSequence.objects.get_or_create(year=year)
    first_number = sequence.last_number + 1
    shops = list(Shop.objects.all())
    managers = list(User.objects.filter(role=Role.CASE_MANAGER))
    intake = User.objects.filter(role=Role.INTAKE_SPECIALIST).first()
    profiles = {(p.platform, p.violation_type): p for p in PlatformRuleProfile.objects.all()}
    states = [CaseState.INTAKE, CaseState.ASSESSMENT, CaseState.EVIDENCE, CaseState.SUBMITTED]
    cases = []
    for offset in range(count):
        created = now - dt.timedelta(minutes=rng.randint(60, 60 * 24 * 30))
        notice = created - dt.timedelta(hours=rng.randint(1, 72))
        shop = rng.choice(shops)
        violation_type = rng.choice(ViolationType.values)
        cases.append(
            Case(
                reference=f"AP-{year}-{first_number + offset:06d}",
                organisation_id=shop.organisation_id,
                shop=shop,
                violation_type=violation_type,
                rule_profile=profiles.get((shop.platform, violation_type)),
                severity=rng.choice(Severity.values),
                notice_received_at=notice,
                notice_period_start=notice - dt.timedelta(days=60),
                notice_period_end=notice - dt.timedelta(days=3),
                penalty_points=rng.choice([2, 4, 6, 12, 24]),
                appeal_deadline=notice + dt.timedelta(days=7),
                assignee=rng.choice(managers),
                state=rng.choice(states),
                state_changed_at=created,
                created_by=intake,
                created_at=created,
            )
        )
    Case.objects.bulk_create(cases, batch_size=BATCH)
    sequence.last_number = first_number + count - 1
    sequence.save(update_fields=["last_number"])
    return [case.pk for case in cases]


def _insert(rows: list[dict[str, Any]]) -> None:
    """INSERT deadline rows (every column by attribute name) through the DB-API's executemany.

    bulk_create spends most of its time building model instances and preparing each value
    through the SQL compiler (and SQLite's variable limit cuts its batches to a few dozen
    rows); this adapts only the datetimes and JSON, as the backend would, and lets the
    driver do the rest: seconds instead of half a minute for 100,000 rows.
    """
    from django.core.serializers.json import DjangoJSONEncoder
    from django.db import connection, models

    from workflows.models import Deadline

    fields = [field for field in Deadline._meta.concrete_fields if not field.primary_key]

    def adapter(field: Any) -> Any:
        if isinstance(field, models.DateTimeField):
            return connection.ops.adapt_datetimefield_value
        if isinstance(field, models.JSONField):
            return lambda value: connection.ops.adapt_json_value(value, DjangoJSONEncoder)
        return lambda value: value

    adapters = [(field.attname, adapter(field)) for field in fields]
    statement = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from the model, values as parameters
        connection.ops.quote_name(Deadline._meta.db_table),
        ", ".join(connection.ops.quote_name(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(
                statement, [[adapt(row[name]) for name, adapt in adapters] for row in rows[start : start + BATCH]]
            )


def _add_deadlines(count: int, rng: random.Random) -> list[int]:
    """Add ``count`` open deadlines on new cases; none has an alert due yet."""
    from django.db import transaction
    from django.utils import timezone

    from workflows.deadlines import next_alert_at, reminder_offsets_minutes
    from workflows.models import CLIENT_FACING_KINDS, Deadline, DeadlineKind, DeadlineStatus

    # A case's clocks: its platform window, chat evidence and stage SLA (one of each at a
    # time), supplement requests from the platform, evidence asked of the client, a check-in.
    kinds = [
        DeadlineKind.PLATFORM_APPEAL_WINDOW,
        DeadlineKind.CHAT_EVIDENCE_EXPIRY,
        DeadlineKind.STAGE_SLA,
        DeadlineKind.PLATFORM_SUPPLEMENT,
        DeadlineKind.PLATFORM_SUPPLEMENT,
        DeadlineKind.CLIENT_EVIDENCE_REQUEST,
        DeadlineKind.CLIENT_EVIDENCE_REQUEST,
        DeadlineKind.CLIENT_EVIDENCE_REQUEST,
        DeadlineKind.CLIENT_EVIDENCE_REQUEST,
        DeadlineKind.RECOVERY_CHECK_IN,
    ]
    assert len(kinds) == DEADLINES_PER_CASE
    titles = {kind: str(DeadlineKind(kind).label) for kind in kinds}
    now = timezone.now()
    offsets = reminder_offsets_minutes()
    case_ids = _add_cases(count // DEADLINES_PER_CASE, rng)
    # One instance gives every column its model default and serves next_alert_at, which
    # reads only the status, the due time and the offsets.
    template = Deadline(status=DeadlineStatus.OPEN, reminder_offsets_minutes=offsets, updated_at=now)
    defaults = {field.attname: getattr(template, field.attname) for field in Deadline._meta.concrete_fields}
    defaults.pop(Deadline._meta.pk.attname)
    rows = []
    for case_id in case_ids:
        for kind in kinds:
            starts_at = now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 14))
            template.due_at = now + SOONEST + (HORIZON - SOONEST) * rng.random()
            rows.append(
                {
                    **defaults,
                    "case_id": case_id,
                    "kind": kind,
                    "title": titles[kind],
                    "client_facing": kind in CLIENT_FACING_KINDS,
                    "pausable": kind == DeadlineKind.STAGE_SLA,
                    "starts_at": starts_at,
                    "basis": {"method": "fixed", "starts_at": starts_at.isoformat(), "source": "bench"},
                    "due_at": template.due_at,
                    "next_alert_at": next_alert_at(template, now + SETTLE),
                    "created_at": starts_at,
                }
            )
    last_pk = Deadline.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with transaction.atomic():
        _insert(rows)
    added = list(Deadline.objects.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True))
    if len(added) != len(rows):
        raise RuntimeError(f"{len(added)} deadlines added, expected {len(rows)}")
    return added


def _arm(deadline_ids: list[int]) -> None:
    """Make exactly these deadlines due now: most for their 4-hour reminder, some missed."""
    from django.utils import timezone

    from workflows.models import Deadline, DeadlineStatus

    now = timezone.now()
    # New due times each run, so each run's alerts and notifications are new rows.
    missed, reminded = deadline_ids[:DUE_MISSED], deadline_ids[DUE_MISSED:]
    armed = Deadline.objects.filter(pk__in=missed).update(
        status=DeadlineStatus.OPEN,
        missed_at=None,
        due_at=now - dt.timedelta(seconds=30),
        next_alert_at=now - dt.timedelta(seconds=30),
    )
    armed += Deadline.objects.filter(pk__in=reminded).update(
        status=DeadlineStatus.OPEN,
        missed_at=None,
        due_at=now + dt.timedelta(hours=4, seconds=-30),
        next_alert_at=now - dt.timedelta(seconds=30),
    )
    if armed != DUE:
        raise RuntimeError(f"armed {armed} deadlines, expected {DUE}")


def _due_queryset(now: dt.datetime) -> Any:
    """The sweep's own read (workflows.sweep.deadlines_sweep), for its query plan."""
    from django.conf import settings

    from workflows.models import Deadline, DeadlineStatus

    return (
        Deadline.objects.filter(status=DeadlineStatus.OPEN, next_alert_at__isnull=False, next_alert_at__lte=now)
        .order_by("next_alert_at", "pk")
        .values_list("pk", "next_alert_at")[: int(settings.DEADLINE_SWEEP_BATCH)]
    )


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflows_deadline" if connection.vendor == "postgresql" else "ANALYZE")


def _scans(plan: str) -> list[str]:
    """The lines of a query plan that say how the table is read (PostgreSQL's and SQLite's wording)."""
    return [
        " ".join(line.split()) for line in plan.splitlines() if any(word in line for word in ("Scan", "SCAN", "SEARCH"))
    ]


def _time_sweeps(deadline_ids: list[int]) -> tuple[list[float], str]:
    """RUNS timed sweeps of the same DUE deadlines, re-armed before each; (ms per run, query plan)."""
    from django.utils import timezone

    from workflows.models import Deadline, DeadlineStatus
    from workflows.sweep import deadlines_sweep

    timings = []
    plan = ""
    for run in range(RUNS):
        _arm(deadline_ids)
        now = timezone.now()
        due = Deadline.objects.filter(status=DeadlineStatus.OPEN, next_alert_at__lte=now).count()
        if due != DUE:
            raise RuntimeError(f"{due} deadlines are due before the sweep, expected {DUE}")
        if run == 0:
            plan = _due_queryset(now).explain()
        started = time.perf_counter()
        result = deadlines_sweep()
        timings.append((time.perf_counter() - started) * 1000)
        fired = (result.reminders, result.missed, result.skipped, result.more)
        if fired != (DUE - DUE_MISSED, DUE_MISSED, 0, False):
            raise RuntimeError(f"the sweep fired (reminders, missed, skipped, more) = {fired}")
    return timings, plan


def child(out: Path) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Value
    from django.db.models.functions import Concat

    from agency.accounts.models import User
    from workflows.models import Deadline, DeadlineAlert, DeadlineStatus, Notification
    from workflows.tasks import send_notification_email

    # The e-mails the sweep queues on commit are not sent to a broker: publishing a message
    # per notification is the broker's cost, not the sweep's. The figure includes everything
    # up to queueing them (alerts, notifications, history rows, the commits).
    queued: list[int] = []
    send_notification_email.delay = queued.append  # type: ignore[method-assign, assignment]
    # The bench's users have no addresses; with them, each notification is e-mailed as in production.
    User.objects.filter(email="").update(email=Concat("username", Value("@bench.example")))

    rng = random.Random(2026)
    notes: list[str] = []
    figures: list[tuple[str, str, str]] = []
    seeded_ids: list[int] = []
    for size in SIZES:
        started = time.perf_counter()
        seeded_ids += _add_deadlines(size - len(seeded_ids), rng)
        _analyze()
        seeded = time.perf_counter() - started
        open_count = Deadline.objects.filter(status=DeadlineStatus.OPEN).count()
        armed = rng.sample(seeded_ids, DUE)
        alerts_before, notifications_before = DeadlineAlert.objects.count(), Notification.objects.count()
        timings, plan = _time_sweeps(armed)
        alerts = DeadlineAlert.objects.count() - alerts_before
        notifications = Notification.objects.count() - notifications_before
        if alerts != DUE * RUNS:
            raise RuntimeError(f"{alerts} alerts written in {RUNS} runs, expected {DUE * RUNS}")
        label = f"{size // 1000}k"
        figures.append((f"sweep_{label}_open_ms", f"{statistics.median(timings):.1f}", "ms"))
        uses_index = INDEX in plan
        notes += [
            f"sweep {label}: {open_count:,} open deadlines on {len(seeded_ids) // DEADLINES_PER_CASE:,} bench cases "
            f"(added in {seeded:.1f} s), {DUE} due ({DUE - DUE_MISSED} reminders, {DUE_MISSED} missed); "
            f"median of {RUNS} deadlines_sweep() runs ({min(timings):.1f}-{max(timings):.1f} ms), each writing "
            f"{DUE} alerts, {notifications // RUNS} notifications and {DUE} history rows "
            f"({len(queued)} e-mails queued so far, not sent)",
            f"sweep {label} plan ({connection.vendor}, after ANALYZE): "
            f"{'uses' if uses_index else 'does NOT use'} {INDEX}: {' | '.join(_scans(plan))}",
        ]
    out.write_text(json.dumps({"vendor": connection.vendor, "notes": notes, "figures": figures}))


# --- The parent: run the child, collect its figures ----------------------------------------


def measure_sweep(env: dict[str, str], work: Path) -> SweepBenchResult:
    """Add the sweep data to the bench database in ``env`` and time the sweep at both sizes."""
    out = work / "sweep.json"
    command = [sys.executable, "-m", "bench.sweep", str(out)]
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=CHILD_TIMEOUT)
    data = json.loads(out.read_text())
    result = SweepBenchResult(notes=data["notes"], figures=[tuple(figure) for figure in data["figures"]])
    times = {name: float(value) for name, value, _unit in result.figures}
    small, large = times.get("sweep_1k_open_ms"), times.get("sweep_100k_open_ms")
    if small and large:
        result.notes.append(f"sweep: 100k / 1k open deadlines = {large / small:.2f} (goal: within a factor of 2)")
    return result


if __name__ == "__main__":
    child(Path(sys.argv[1]))
