"""Snapshots as the analysis before issue 8 stored them: snapshots are immutable, so they stay."""

import copy
import json

from diary import db as dbmod


def earlier_report(report):
    """Return a copy of a report without the keys issue 8 added."""
    old = copy.deepcopy(report)
    del old["medications"]
    if old["regimen"] is not None:
        del old["regimen"]["substances"]
    comparison = old["baseline_comparison"]
    del comparison["comparable"], comparison["reason"]
    comparison["current"].pop("mixed_steps", None)
    for name, change in comparison["measures"].items():
        if name not in ("pain", "pain_worst"):  # the earlier analysis classified pain only
            change.pop("classification", None)
            change.pop("two_point_change", None)
    adherence = old["doses"]["adherence"]
    for key in ("on_plan_days", "off_plan_days", "extra_dose_days", "skipped_days", "unrecorded_days"):
        del adherence[key]
    del adherence["recorded_fraction"]
    for level in old["doses"]["levels"]:
        del level["n_days"], level["insufficient_data"]
    for item in old["side_effects"].values():
        del item["episodes"], item["present_at_baseline"]
    return old


def earlier_days(days):
    """Return a copy of a snapshot's per-day rows without the keys issue 8 added."""
    old = copy.deepcopy(days)
    for row in old:
        for key in ("dose_status", "window", "comparable", "doses_taken"):
            del row[key]
        for effect in row["side_effects"]:
            del effect["episode"]
    return old


def store_snapshot_row(conn, snapshot_id, patient_id, report, days):
    """Store a snapshot row as it stands, made on 2026-01-01."""
    with dbmod.write(conn):
        conn.execute(
            "INSERT INTO report_snapshots (id, patient_id, created_at, period_from, period_to, report)"
            " VALUES (?, ?, '2026-01-01T00:00:00.000000+00:00', ?, ?, ?)",
            (
                snapshot_id,
                patient_id,
                report["period"]["from"],
                report["period"]["to"],
                json.dumps({"report": report, "days": days}),
            ),
        )
