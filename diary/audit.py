"""The append-only audit log of clinician reads and of erasures."""

from flask import request

from diary.clock import to_utc_text, utcnow


def record(conn, actor_kind, actor_id, action, patient_id, remote_addr=None, now=None):
    """Append one audit row (the table's triggers refuse updates and deletes)."""
    conn.execute(
        "INSERT INTO audit_log (at, actor_kind, actor_id, action, patient_id, remote_addr) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (to_utc_text(now or utcnow()), actor_kind, str(actor_id), action, patient_id, remote_addr),
    )


def clinician_read(conn, clinician, action, patient_id):
    """Audit a clinician's read of one patient's data in this request."""
    record(conn, "clinician", clinician["id"], action, patient_id, request.remote_addr)


def list_for_patient(conn, patient_id):
    """A patient's audit trail, oldest first."""
    rows = conn.execute(
        "SELECT id, at, actor_kind, actor_id, action, patient_id, remote_addr FROM audit_log "
        "WHERE patient_id = ? ORDER BY id",
        (patient_id,),
    ).fetchall()
    return [dict(r) for r in rows]
