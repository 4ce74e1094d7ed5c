"""The patient's side of deliveries: the in-app outbox, acknowledgements and the push token."""

from diary.clock import to_utc_text

# The outbox shows what reached the patient; skipped and expired ones never did.
_VISIBLE = "('sent', 'pending', 'failed')"


def list_notifications(conn, patient_id, since, limit):
    """The patient's visible notifications, newest first; only those claimed after ``since`` when given."""
    sql = (
        "SELECT id, kind, local_date, due_at, title, body, acked_at FROM deliveries"
        f" WHERE patient_id = ? AND status IN {_VISIBLE}"
    )
    params = [patient_id]
    if since is not None:
        sql += " AND claimed_at > ?"
        params.append(to_utc_text(since))
    sql += " ORDER BY due_at DESC LIMIT ?"
    params.append(limit)
    return [dict(r) for r in conn.execute(sql, params)]


def acknowledge(conn, patient_id, notification_id, now):
    """Mark a visible notification seen (the first time is kept); False when there is none."""
    found = conn.execute(
        f"SELECT 1 FROM deliveries WHERE id = ? AND patient_id = ? AND status IN {_VISIBLE}",
        (notification_id, patient_id),
    ).fetchone()
    if found is None:
        return False
    conn.execute(
        "UPDATE deliveries SET acked_at = COALESCE(acked_at, ?) WHERE id = ?",
        (to_utc_text(now), notification_id),
    )
    return True


def put_push_token(conn, patient_id, platform, token, now):
    """Register the patient's push token; a new one replaces the old."""
    conn.execute(
        "INSERT INTO push_tokens (patient_id, platform, token, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (patient_id) DO UPDATE SET platform = excluded.platform,"
        " token = excluded.token, updated_at = excluded.updated_at",
        (patient_id, platform, token, to_utc_text(now)),
    )


def delete_push_token(conn, patient_id):
    """Forget the patient's push token."""
    conn.execute("DELETE FROM push_tokens WHERE patient_id = ?", (patient_id,))
