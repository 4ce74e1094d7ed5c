"""Fetch, analyse, serialise: the one path every rendering of a report takes."""

import orjson

from diary.clock import local_date
from diary.reports import analysis, fetch
from diary.reports.opioids import opioid_terms


def make_report(
    conn, patient, period_from, period_to, lag_days=analysis.DEFAULT_LAG_DAYS, now=None, series=True
):
    """Return (report, inputs) for a patient row and an inclusive period, as seen at ``now``."""
    inputs = fetch.load_inputs(conn, patient, period_from, period_to)
    today = local_date(now, patient["timezone"]) if now is not None else None
    report = analysis.build_report(
        inputs["patient"],
        inputs["regimen"],
        inputs["entries"],
        inputs["doses"],
        period_from,
        period_to,
        lag_days=lag_days,
        opioids=opioid_terms(),
        today=today,
        series=series,
    )
    return report, inputs


def days_of(inputs, period_from, period_to):
    """Return the per-day rows of the same inputs (CSV, charts)."""
    return analysis.daily_rows(inputs["regimen"], inputs["entries"], inputs["doses"], period_from, period_to)


def to_json(obj):
    """Serialise a report to JSON bytes.

    orjson, not the json module: DESIGN.md measured json.dumps at most of a
    730-day report's time (about 20x the SQL fetch); orjson came to 5.8x.
    """
    return orjson.dumps(obj)
