"""Clinic appointments: they set a report's default period and trigger snapshots."""

from diary.clock import to_utc_text

COLUMNS = "id, starts_at, note, created_by, created_at, snapshot_id"


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
