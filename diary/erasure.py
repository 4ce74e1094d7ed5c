"""Data rights: export everything of one patient, or erase it leaving only the audit trail.

Erasure deletes every row that belongs to the patient in one write
transaction, appends one audit row (ids only), then checkpoints the WAL so the
deleted pages leave the log file too; connections run with
``secure_delete = ON`` (diary/db.py), so freed space is zeroed in the database file.
"""

from diary import audit, people, records
from diary.clock import to_utc_text
from diary.db import read, write
from diary.reminders import schedule
from diary.reports import appointments, snapshots

CONFIRMATION = "DELETE"
# Children before parents: report_snapshots refer to appointments, delivery
# attempts to deliveries. Any other table with a patient_id column is swept after these.
ERASE_ORDER = (
    "deliveries",
    "reminders",
    "push_tokens",
    "tokens",
    "enrollment_codes",
    "regimen_steps",
    "regimens",
    "entries",
    "doses",
    "report_snapshots",
    "appointments",
)
# Kept on purpose: the append-only record of who read and who erased (ids only).
KEPT = ("audit_log",)


def export_patient(conn, patient_id, now):
    """Return all of a patient's live data as plain JSON-ready values, or None when unknown."""
    # One read transaction: every section of the export comes from the same commit.
    with read(conn):
        row = conn.execute("SELECT * FROM patients WHERE id = ?", (patient_id,)).fetchone()
        if row is None:
            return None
        profile = people.patient_out(row)
        profile["reminder_detail"] = bool(row["reminder_detail"])
        push = conn.execute(
            "SELECT platform, updated_at FROM push_tokens WHERE patient_id = ?", (patient_id,)
        ).fetchone()
        notifications = conn.execute(
            "SELECT id, kind, local_date, due_at, status, title, body, sent_at, acked_at FROM deliveries "
            "WHERE patient_id = ? ORDER BY due_at, kind",
            (patient_id,),
        ).fetchall()
        reminders = conn.execute(
            "SELECT * FROM reminders WHERE patient_id = ? ORDER BY kind DESC", (patient_id,)
        ).fetchall()
        report_snapshots = []
        for summary in snapshots.list_snapshots(conn, patient_id):
            document = snapshots.get_snapshot(conn, patient_id, summary["id"])["document"]
            report_snapshots.append({**summary, "report": document["report"]})
        return {
            "exported_at": to_utc_text(now),
            "patient": profile,
            "regimen": people.get_regimen(conn, patient_id),
            "regimen_history": [
                {
                    "saved_at": v["saved_at"],
                    "past_steps_changed": bool(v["past_steps_changed"]),
                    "regimen": v["regimen"],
                }
                for v in people.regimen_history(conn, patient_id)
            ],
            "entries": records.list_entries(conn, patient_id),
            "doses": records.list_doses(conn, patient_id),
            "questionnaires": records.list_responses(conn, patient_id),
            "reminders": [schedule.reminder_out(r) for r in reminders],
            "notifications": [dict(r) for r in notifications],
            "appointments": appointments.list_appointments(conn, patient_id),
            "report_snapshots": report_snapshots,
            "devices": people.list_devices(conn, patient_id),
            "push": dict(push) if push else None,
            "audit": audit.list_for_patient(conn, patient_id),
        }


def _patient_tables(conn):
    """Tables with a ``patient_id`` column, in erase order (known ones first)."""
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    having = {n for n in names if any(c[1] == "patient_id" for c in conn.execute(f"PRAGMA table_info({n})"))}
    known = [n for n in ERASE_ORDER if n in having]
    return known + sorted(having - set(known) - set(KEPT))


def erase_patient(conn, patient_id, actor_kind, actor_id, remote_addr, now):
    """Delete everything of a patient and append the ``erase_patient`` audit row; False when unknown."""
    with write(conn):
        if conn.execute("SELECT 1 FROM patients WHERE id = ?", (patient_id,)).fetchone() is None:
            return False
        conn.execute(
            "DELETE FROM delivery_attempts WHERE delivery_id IN "
            "(SELECT id FROM deliveries WHERE patient_id = ?)",
            (patient_id,),
        )
        for table in _patient_tables(conn):
            conn.execute(f"DELETE FROM {table} WHERE patient_id = ?", (patient_id,))
        conn.execute("DELETE FROM patients WHERE id = ?", (patient_id,))
        audit.record(conn, actor_kind, actor_id, "erase_patient", patient_id, remote_addr, now)
    # The WAL still holds the old page images; copy the zeroed pages back and
    # truncate the log. Busy (a long reader): the next checkpoint overwrites them.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return True
