"""Time spent in each state, for cases opened before spans were written: replayed from the history."""

from django.db import migrations


def backfill(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    CaseEvent = apps.get_model("cases", "CaseEvent")
    Span = apps.get_model("cases", "CaseStateSpan")
    for case in Case.objects.filter(state_spans__isnull=True).iterator():
        state, entered = "intake", case.created_at
        spans = []
        changes = CaseEvent.objects.filter(case_id=case.pk, kind="state_changed").order_by("created_at", "id")
        for event in changes:
            new_state = (event.new_value or {}).get("state")
            if not new_state:
                continue
            seconds = max(0, int((event.created_at - entered).total_seconds()))
            spans.append(
                Span(case_id=case.pk, state=state, entered_at=entered, left_at=event.created_at, seconds=seconds)
            )
            state, entered = new_state, event.created_at
        spans.append(Span(case_id=case.pk, state=state, entered_at=entered))
        Span.objects.bulk_create(spans)


class Migration(migrations.Migration):
    dependencies = [("cases", "0008_assessment_casemessage_casenote_casestatespan_and_more")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
