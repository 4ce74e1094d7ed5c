"""Clinic appointments: they set a report's default period and trigger snapshots."""

from datetime import timedelta

from diary.clock import parse_utc_text, to_utc_text

COLUMNS = "id, starts_at, note, created_by, created_at, snapshot_id"
# A visit lies between a year before the patient was created (history entered at
# enrollment) and two years ahead; anything else is a typo that would stretch reports.
EARLIEST_BEFORE_CREATED = timedelta(days=365)
LATEST_AHEAD = timedelta(days=730)


def starts_at_problem(starts_at, patient_created_at, now):
    """Return why ``starts_at`` cannot be an appointment of a patient created at that text, or None."""
    earliest = parse_utc_text(patient_created_at) - EARLIEST_BEFORE_CREATED
    latest = now + LATEST_AHEAD
    if starts_at < earliest:
        return f"Must not be before {earliest.date().isoformat()} (a year before the patient was added)."
    if starts_at > latest:
        return f"Must not be after {latest.date().isoformat()} (two years ahead)."
    return None


def create_appointment(conn, patient_id, starts_at, note, clinician_id, now):
    """Insert an appointment at an aware instant; return it as a dict."""
    cur = conn.execute(
        "INSERT INTO appointments (patient_id, starts_at, note, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
        (patient_id, to_utc_text(starts_at), note, clinician_id, to_utc_text(now)),
    )
    return get_appointment(conn, patient_id, cur.lastrowid)


def get_appointment(conn, patient_id, appointment_id):
    """Return one appointment of a patient, or None."""
    row = conn.execute(
        f"SELECT {COLUMNS} FROM appointments WHERE id = ? AND patient_id = ?", (appointment_id, patient_id)
    ).fetchone()
    return dict(row) if row else None


def list_appointments(conn, patient_id):
    """Return a patient's appointments, earliest first."""
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM appointments WHERE patient_id = ? ORDER BY starts_at, id", (patient_id,)
    )
    return [dict(r) for r in rows]


def delete_appointment(conn, patient_id, appointment_id):
    """Delete one appointment of a patient (its snapshot stays, unlinked); False when not theirs."""
    if not 0 < appointment_id < 2**63:
        return False  # beyond SQLite's integers: no such appointment (not an OverflowError)
    if get_appointment(conn, patient_id, appointment_id) is None:
        return False
    # The snapshot is what the clinician saw: it stays; only its link to the visit goes
    # (the one change the immutability trigger allows, migration 0005).
    conn.execute(
        "UPDATE report_snapshots SET appointment_id = NULL WHERE appointment_id = ? AND patient_id = ?",
        (appointment_id, patient_id),
    )
    conn.execute("DELETE FROM appointments WHERE id = ? AND patient_id = ?", (appointment_id, patient_id))
    return True
