"""Immutable report snapshots: what the clinician saw, kept as it was."""

import json
import uuid
from datetime import timedelta

from diary.clock import local_date, parse_utc_text, to_utc_text
from diary.db import write
from diary.reports import analysis, fetch, notes, service

SUMMARY_COLUMNS = "id, patient_id, created_at, created_by, appointment_id, period_from, period_to"
UPCOMING_HOURS = 24


def build_document(conn, patient, period_from, period_to, lag_days, now):
    """Return the stored form of a snapshot: the report, as seen at ``now``, its per-day rows and page header."""
    report, inputs = service.make_report(conn, patient, period_from, period_to, lag_days, now)
    return {
        "report": report,
        "days": service.days_of(inputs),
        "header": notes.header(inputs["regimen"], inputs["patient"]),
    }


def store_snapshot(conn, patient_id, document, now, created_by=None, appointment_id=None):
    """Insert a snapshot document (inside the caller's write transaction); return its summary."""
    snapshot_id = str(uuid.uuid4())
    period = document["report"]["period"]
    conn.execute(
        "INSERT INTO report_snapshots (id, patient_id, created_at, created_by, appointment_id, "
        "period_from, period_to, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            snapshot_id,
            patient_id,
            to_utc_text(now),
            created_by,
            appointment_id,
            period["from"],
            period["to"],
            service.to_json(document).decode(),
        ),
    )
    if appointment_id is not None:
        conn.execute(
            "UPDATE appointments SET snapshot_id = ? WHERE id = ? AND snapshot_id IS NULL",
            (snapshot_id, appointment_id),
        )
    return get_summary(conn, patient_id, snapshot_id)


def get_summary(conn, patient_id, snapshot_id):
    """Return a snapshot's metadata, or None."""
    row = conn.execute(
        f"SELECT {SUMMARY_COLUMNS} FROM report_snapshots WHERE id = ? AND patient_id = ?",
        (snapshot_id, patient_id),
    ).fetchone()
    return dict(row) if row else None


def get_snapshot(conn, patient_id, snapshot_id):
    """Return a snapshot's metadata with its stored document under ``document``, or None."""
    row = conn.execute(
        f"SELECT {SUMMARY_COLUMNS}, report FROM report_snapshots WHERE id = ? AND patient_id = ?",
        (snapshot_id, patient_id),
    ).fetchone()
    if row is None:
        return None
    out = dict(row)
    out["document"] = json.loads(out.pop("report"))
    return out


def list_snapshots(conn, patient_id):
    """Return a patient's snapshot summaries, newest first."""
    rows = conn.execute(
        f"SELECT {SUMMARY_COLUMNS} FROM report_snapshots WHERE patient_id = ? ORDER BY created_at DESC, id",
        (patient_id,),
    )
    return [dict(r) for r in rows]


def appointment_period(conn, patient, starts_at, now):
    """Return the report period for a visit: up to the visit day (never past today), default rule (fetch.resolve_period)."""
    visit_day = local_date(starts_at, patient["timezone"])
    today = local_date(now, patient["timezone"])
    days = fetch.appointment_days(conn, patient["id"], patient["timezone"])
    start, _ = analysis.default_period(visit_day, days, fetch.first_step(conn, patient["id"]))
    end = min(visit_day, today)
    # The same limit as every report: a visit after one decades back is not a report of decades.
    return fetch.limit_start(min(start, end), end), end


def snapshot_upcoming_appointments(conn, now, settings):
    """Snapshot the report of every appointment starting within 24 hours that has none; return their ids.

    Called from the scheduler tick. Each snapshot is written in its own
    BEGIN IMMEDIATE transaction that re-checks the appointment, so two
    schedulers never store two snapshots for one visit.
    """
    lag_days = settings.get("REPORT_LAG_DAYS", analysis.DEFAULT_LAG_DAYS)
    due = conn.execute(
        "SELECT a.id, a.starts_at, p.id AS patient_id, p.display_name, p.timezone, p.external_ref FROM appointments a "
        "JOIN patients p ON p.id = a.patient_id WHERE a.snapshot_id IS NULL "
        "AND a.starts_at > ? AND a.starts_at <= ? ORDER BY a.starts_at",
        (to_utc_text(now), to_utc_text(now + timedelta(hours=UPCOMING_HOURS))),
    ).fetchall()
    made = []
    for row in due:
        patient = {
            "id": row["patient_id"],
            "display_name": row["display_name"],
            "timezone": row["timezone"],
            "external_ref": row["external_ref"],
        }
        start, end = appointment_period(conn, patient, parse_utc_text(row["starts_at"]), now)
        document = build_document(conn, patient, start, end, lag_days, now)
        with write(conn):
            still_open = conn.execute(
                "SELECT 1 FROM appointments WHERE id = ? AND snapshot_id IS NULL", (row["id"],)
            ).fetchone()
            if still_open is None:
                continue
            made.append(store_snapshot(conn, patient["id"], document, now, None, row["id"])["id"])
    return made
