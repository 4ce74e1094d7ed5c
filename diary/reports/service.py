"""Fetch, analyse, serialise: the one path every rendering of a report takes."""

import orjson

from diary.clock import local_date
from diary.reports import analysis, fetch, fhir, questionnaire_summary


def make_report(
    conn, patient, period_from, period_to, lag_days=analysis.DEFAULT_LAG_DAYS, now=None, series=True
):
    """Return (report, inputs) for a patient row and an inclusive period, as seen at ``now``."""
    inputs = fetch.load_inputs(conn, patient, period_from, period_to)
    inputs["today"] = local_date(now, patient["timezone"]) if now is not None else None
    report = analysis.build_report(
        inputs["patient"],
        inputs["regimen"],
        inputs["entries"],
        inputs["doses"],
        period_from,
        period_to,
        lag_days=lag_days,
        today=inputs["today"],
        series=series,
        record_start=inputs["record_start"],
        appointments=inputs["appointments"],
        responses=inputs["responses"],
    )
    # The per-day rows follow this report's own windows, episodes and planned days.
    inputs["report"] = report
    return report, inputs


def days_of(inputs):
    """Return the per-day rows of the report made from these inputs (CSV, charts)."""
    days = analysis.daily_rows(
        inputs["report"], inputs["regimen"], inputs["entries"], inputs["doses"], inputs["today"]
    )
    return questionnaire_summary.add_to_days(days, inputs["responses"])


def fhir_bundle(conn, inputs, generated_at_text):
    """Return the FHIR Bundle of the report made from these inputs."""
    report = inputs["report"]
    period = report["period"]
    diary = analysis.prepare(
        inputs["patient"], inputs["regimen"], inputs["entries"], inputs["doses"], period["from"], period["to"]
    )
    return fhir.render_bundle(
        report,
        diary.doses,
        days_of(inputs),
        generated_at_text,
        external_ref=inputs["patient"].get("external_ref"),
        issued=fetch.entry_versions(conn, inputs["patient"]["id"], period["from"], period["to"]),
        responses=[r for r in inputs["responses"] if period["from"] <= r["date"] <= period["to"]],
    )


def to_json(obj):
    """Serialise a report to JSON bytes.

    orjson, not the json module: DESIGN.md measured json.dumps at most of a
    730-day report's time (about 20x the SQL fetch); orjson came to 5.8x.
    """
    return orjson.dumps(obj)
