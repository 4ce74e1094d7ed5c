"""Reminder routes: the patient's reminders, outbox and push token; clinicians' view of them."""

from diary import audit, auth
from diary.api.blueprint import Blueprint
from diary.clock import to_utc_text, utcnow
from diary.db import write
from diary.errors import abort
from diary.reminders import schedule, webpush
from diary.reminders.rules import KINDS
from diary.schemas.reminders import (
    NotificationArgs,
    NotificationListOut,
    PushIn,
    ReminderIn,
    ReminderListOut,
    ReminderOut,
    ReminderSettingsIn,
    ReminderSettingsOut,
    VapidKeyOut,
)

blp = Blueprint("reminders", __name__, description="Dose and diary reminders, the in-app outbox, push tokens")
BEARER = [{"bearer": []}]
# The outbox shows what reached the patient; skipped and expired ones never did.
_VISIBLE = "('sent', 'pending', 'failed')"
MAX_NOTIFICATIONS = 200


def _kind_or_404(kind):
    if kind not in KINDS:
        abort(404, "No such reminder; use dose or diary.")
    return kind


def _list(conn, patient_id, detail):
    rows = conn.execute(
        "SELECT * FROM reminders WHERE patient_id = ? ORDER BY kind DESC", (patient_id,)
    ).fetchall()
    return {"detail": bool(detail), "reminders": [schedule.reminder_out(r) for r in rows]}


def _ensure(conn, patient_id):
    # Patients created before reminders existed get their defaults on first
    # look; the usual case is a read without the write lock.
    have = conn.execute("SELECT COUNT(*) FROM reminders WHERE patient_id = ?", (patient_id,)).fetchone()[0]
    want = 1 + (
        conn.execute("SELECT 1 FROM regimens WHERE patient_id = ?", (patient_id,)).fetchone() is not None
    )
    if have < want:
        with write(conn):
            schedule.ensure_default_reminders(conn, patient_id, utcnow())


def _one(conn, patient_id, kind):
    row = conn.execute(
        "SELECT * FROM reminders WHERE patient_id = ? AND kind = ?", (patient_id, kind)
    ).fetchone()
    if row is None:
        abort(404, "No dose reminder: the patient has no regimen." if kind == "dose" else "No such reminder.")
    return schedule.reminder_out(row)


def _put(conn, patient_id, kind, body, clinician=None):
    with write(conn):
        row = schedule.put_reminder(conn, patient_id, kind, body, utcnow())
        if row is not None and clinician is not None:
            audit.record(conn, "clinician", clinician["id"], "put_reminder", patient_id)
    if row is None:
        abort(409, "No regimen is set, so there is no dose reminder.")
    return schedule.reminder_out(row)


@blp.get("/me/reminders")
@blp.response(200, ReminderListOut)
@blp.doc(security=BEARER)
def list_my_reminders():
    """List the patient's reminders and whether their text may name the dose."""
    patient = auth.require_patient()
    conn = auth.app_conn()
    _ensure(conn, patient["id"])
    return _list(conn, patient["id"], patient["reminder_detail"])


@blp.put("/me/reminders/<any(dose, diary):kind>")
@blp.arguments(ReminderIn())
@blp.response(200, ReminderOut)
@blp.doc(security=BEARER)
def put_my_reminder(body, kind):
    """Set the time, weekdays and on/off of the dose or diary reminder."""
    patient = auth.require_patient()
    return _put(auth.app_conn(), patient["id"], _kind_or_404(kind), body)


@blp.put("/me/reminder-settings")
@blp.arguments(ReminderSettingsIn())
@blp.response(200, ReminderSettingsOut)
@blp.doc(security=BEARER)
def put_my_reminder_settings(body):
    """Opt in to (or out of) reminder text that names the planned dose."""
    patient = auth.require_patient()
    conn = auth.app_conn()
    with write(conn):
        conn.execute(
            "UPDATE patients SET reminder_detail = ? WHERE id = ?", (int(body["detail"]), patient["id"])
        )
    return {"detail": body["detail"]}


@blp.get("/me/notifications")
@blp.arguments(NotificationArgs(), location="query")
@blp.response(200, NotificationListOut)
@blp.doc(security=BEARER)
def list_my_notifications(args):
    """List the in-app outbox, newest first (at most 200)."""
    patient = auth.require_patient()
    sql = (
        f"SELECT id, kind, local_date, due_at, title, body, acked_at FROM deliveries"
        f" WHERE patient_id = ? AND status IN {_VISIBLE}"
    )
    params = [patient["id"]]
    if args["since"] is not None:
        sql += " AND claimed_at > ?"
        params.append(to_utc_text(args["since"]))
    sql += " ORDER BY due_at DESC LIMIT ?"
    params.append(MAX_NOTIFICATIONS)
    return {"notifications": [dict(r) for r in auth.app_conn().execute(sql, params)]}


@blp.post("/me/notifications/<notification_id>/ack")
@blp.response(204)
@blp.doc(security=BEARER)
def ack_my_notification(notification_id):
    """Mark a notification as seen (acknowledging twice keeps the first time)."""
    patient = auth.require_patient()
    conn = auth.app_conn()
    with write(conn):
        found = conn.execute(
            f"SELECT 1 FROM deliveries WHERE id = ? AND patient_id = ? AND status IN {_VISIBLE}",
            (notification_id, patient["id"]),
        ).fetchone()
        if found is None:
            abort(404, "No such notification.")
        conn.execute(
            "UPDATE deliveries SET acked_at = COALESCE(acked_at, ?) WHERE id = ?",
            (to_utc_text(utcnow()), notification_id),
        )


@blp.put("/me/push")
@blp.arguments(PushIn())
@blp.response(204)
@blp.doc(security=BEARER)
def put_my_push_token(body):
    """Register the device's push token or browser subscription (one per patient; a new one replaces the old)."""
    patient = auth.require_patient()
    conn = auth.app_conn()
    if body["platform"] == "web":
        body["token"] = webpush.subscription_token(body["subscription"])
    with write(conn):
        conn.execute(
            "INSERT INTO push_tokens (patient_id, platform, token, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (patient_id) DO UPDATE SET platform = excluded.platform,"
            " token = excluded.token, updated_at = excluded.updated_at",
            (patient["id"], body["platform"], body["token"], to_utc_text(utcnow())),
        )


@blp.get("/me/push/vapid-public-key")
@blp.response(200, VapidKeyOut)
@blp.doc(security=BEARER, operationId="getVapidPublicKey")
def get_vapid_public_key():
    """The server's VAPID public key, for a browser's pushManager.subscribe (applicationServerKey)."""
    auth.require_patient()
    keys, _ = webpush.ensure_keys(auth.app_conn(), utcnow())
    return {"public_key": keys["public_key"]}


@blp.delete("/me/push")
@blp.response(204)
@blp.doc(security=BEARER)
def delete_my_push_token():
    """Stop push notifications; reminders stay in the in-app outbox."""
    patient = auth.require_patient()
    conn = auth.app_conn()
    with write(conn):
        conn.execute("DELETE FROM push_tokens WHERE patient_id = ?", (patient["id"],))


@blp.get("/patients/<patient_id>/reminders")
@blp.response(200, ReminderListOut)
@blp.doc(security=BEARER)
def list_patient_reminders(patient_id):
    """List a clinic patient's reminders."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    conn = auth.app_conn()
    _ensure(conn, patient["id"])
    with write(conn):
        audit.clinician_read(conn, clinician, "list_reminders", patient["id"])
    return _list(conn, patient["id"], patient["reminder_detail"])


@blp.get("/patients/<patient_id>/reminders/<any(dose, diary):kind>")
@blp.response(200, ReminderOut)
@blp.doc(security=BEARER)
def get_patient_reminder(patient_id, kind):
    """Show one reminder of a clinic patient."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    kind = _kind_or_404(kind)
    conn = auth.app_conn()
    _ensure(conn, patient["id"])
    with write(conn):
        audit.clinician_read(conn, clinician, "get_reminder", patient["id"])
    return _one(conn, patient["id"], kind)


@blp.put("/patients/<patient_id>/reminders/<any(dose, diary):kind>")
@blp.arguments(ReminderIn())
@blp.response(200, ReminderOut)
@blp.doc(security=BEARER)
def put_patient_reminder(body, patient_id, kind):
    """Set the time, weekdays and on/off of a clinic patient's reminder."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    kind = _kind_or_404(kind)
    return _put(auth.app_conn(), patient["id"], kind, body, clinician)
