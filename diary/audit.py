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


def page_for_patient(conn, patient_id, limit, offset):
    """One page of a patient's audit trail, newest first, with the clinician's name; and the total."""
    rows = conn.execute(
        "SELECT a.id, a.at, a.actor_kind, a.actor_id, a.action, a.remote_addr, c.name AS actor_name "
        "FROM audit_log a LEFT JOIN clinicians c ON a.actor_kind = 'clinician' AND c.id = a.actor_id "
        "WHERE a.patient_id = ? ORDER BY a.id DESC LIMIT ? OFFSET ?",
        (patient_id, limit, offset),
    ).fetchall()
    total = conn.execute("SELECT count(*) FROM audit_log WHERE patient_id = ?", (patient_id,)).fetchone()[0]
    return [dict(r) for r in rows], total
