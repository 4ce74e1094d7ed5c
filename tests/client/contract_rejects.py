"""What the generated Python client must refuse or promise; mypy --strict checks this file, never runs it.

Each ``type: ignore`` marks a line that must be a type error: --strict reports an
unused ignore, so a loosened document (untyped sync items, optional answers) fails.
"""

import datetime

from diary_client.models import DoseConflictOut, EntryOut, ReportOut, SyncEntryIn, SyncIn

junk_entries = SyncIn(entries=[42, "nonsense", None])  # type: ignore[list-item]
undated = SyncEntryIn(recorded_at=datetime.datetime.now(datetime.UTC), pain=3)  # type: ignore[call-arg]


def pain_of(entry: EntryOut) -> int | None:
    """An answer's keys are always there: no Unset to handle."""
    return entry.pain


def stored_amount(conflict: DoseConflictOut) -> float:
    """A 409 says which version was kept, typed."""
    return conflict.errors.stored.amount_mg


def baseline_source(report: ReportOut) -> str:
    """The report's sections are typed to the leaf."""
    return str(report.baseline_comparison.baseline.source)


def pain_class(report: ReportOut) -> str:
    """Every report classifies pain (a directed measure): no Unset to handle."""
    return report.baseline_comparison.measures.pain.classification.value


def sleep_class(report: ReportOut) -> object:
    """Sleep hours have no good direction, so their change has no class."""
    return report.baseline_comparison.measures.sleep_hours.classification  # type: ignore[attr-defined]
