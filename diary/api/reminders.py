"""Reminder routes: the patient's reminders, outbox and push token; clinicians' view of them."""

from diary import auth, people
from diary.access import clinic_patient
from diary.api.blueprint import Blueprint
from diary.clock import utcnow
from diary.db import write
from diary.errors import abort
from diary.reminders import outbox, schedule, webpush
from diary.reminders.rules import KINDS
from diary.schemas.common import ErrorOut
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
MAX_NOTIFICATIONS = 200
NO_REGIMEN = {"schema": ErrorOut, "description": "A dose reminder, but the patient has no regimen"}


def _kind_or_404(kind):
    if kind not in KINDS:
        abort(404, "No such reminder; use dose, diary or questionnaire.")
    return kind


def _list(conn, patient):
    _ensure(conn, patient["id"])
    rows = schedule.list_reminders(conn, patient["id"])
    return {"detail": bool(patient["reminder_detail"]), "reminders": [schedule.reminder_out(r) for r in rows]}


def _ensure(conn, patient_id):
    # Patients created before reminders existed get their defaults on first
    # look; the usual case is a read without the write lock.
    if schedule.lacks_defaults(conn, patient_id):
        with write(conn):
            schedule.ensure_default_reminders(conn, patient_id, utcnow())


def _put(conn, patient_id, kind, body):
    with write(conn):
        row = schedule.put_reminder(conn, patient_id, kind, body, utcnow())
    if row is None:
        abort(409, "No regimen is set, so there is no dose reminder.")
    return schedule.reminder_out(row)


@blp.get("/me/reminders")
@blp.response(200, ReminderListOut)
@blp.doc(operationId="listMyReminders")
def list_my_reminders():
    """List the patient's reminders and whether their text may name the dose."""
    return _list(auth.app_conn(), auth.require_patient())


@blp.put("/me/reminders/<any(dose, diary, questionnaire):kind>")
@blp.arguments(ReminderIn())
@blp.response(200, ReminderOut)
@blp.alt_response(409, **NO_REGIMEN)
@blp.doc(operationId="putMyReminder")
def put_my_reminder(body, kind):
    """Set the time, weekdays and on/off of the dose or diary reminder."""
    patient = auth.require_patient()
    return _put(auth.app_conn(), patient["id"], _kind_or_404(kind), body)


@blp.put("/me/reminder-settings")
@blp.arguments(ReminderSettingsIn())
@blp.response(200, ReminderSettingsOut)
@blp.doc(operationId="putMyReminderSettings")
def put_my_reminder_settings(body):
    """Opt in to (or out of) reminder text that names the planned dose."""
    patient = auth.require_patient()
    conn = auth.app_conn()
    with write(conn):
        people.set_reminder_detail(conn, patient["id"], body["detail"])
    return {"detail": body["detail"]}


@blp.get("/me/notifications")
@blp.arguments(NotificationArgs(), location="query")
@blp.response(200, NotificationListOut)
@blp.doc(operationId="listMyNotifications")
def list_my_notifications(args):
    """List the in-app outbox, newest first (at most 200)."""
    patient = auth.require_patient()
    found = outbox.list_notifications(auth.app_conn(), patient["id"], args["since"], MAX_NOTIFICATIONS)
    return {"notifications": found}


@blp.post("/me/notifications/<notification_id>/ack")
@blp.response(204)
@blp.doc(operationId="ackMyNotification")
def ack_my_notification(notification_id):
    """Mark a notification as seen (acknowledging twice keeps the first time)."""
    patient = auth.require_patient()
    conn = auth.app_conn()
    with write(conn):
        found = outbox.acknowledge(conn, patient["id"], notification_id, utcnow())
    if not found:
        abort(404, "No such notification.")


@blp.put("/me/push")
@blp.arguments(PushIn())
@blp.response(204)
@blp.doc(operationId="putMyPushToken")
def put_my_push_token(body):
    """Register the device's push token or browser subscription (one per patient; a new one replaces the old)."""
    patient = auth.require_patient()
    conn = auth.app_conn()
    token = webpush.subscription_token(body["subscription"]) if body["platform"] == "web" else body["token"]
    with write(conn):
        outbox.put_push_token(conn, patient["id"], body["platform"], token, utcnow())


@blp.get("/me/push/vapid-public-key")
@blp.response(200, VapidKeyOut)
@blp.doc(operationId="getVapidPublicKey")
def get_vapid_public_key():
    """Show the server's VAPID public key, the applicationServerKey of a browser's pushManager.subscribe."""
    auth.require_patient()
    keys, _ = webpush.ensure_keys(auth.app_conn(), utcnow())
    return {"public_key": keys["public_key"]}


@blp.delete("/me/push")
@blp.response(204)
@blp.doc(operationId="deleteMyPushToken")
def delete_my_push_token():
    """Stop push notifications; reminders stay in the in-app outbox."""
    patient = auth.require_patient()
    conn = auth.app_conn()
    with write(conn):
        outbox.delete_push_token(conn, patient["id"])


@blp.get("/patients/<patient_id>/reminders")
@blp.response(200, ReminderListOut)
@blp.doc(operationId="listPatientReminders")
@clinic_patient("list_reminders")
def list_patient_reminders(patient):
    """List a clinic patient's reminders."""
    return _list(auth.app_conn(), patient)


@blp.get("/patients/<patient_id>/reminders/<any(dose, diary, questionnaire):kind>")
@blp.response(200, ReminderOut)
@blp.doc(operationId="getPatientReminder")
@clinic_patient("get_reminder")
def get_patient_reminder(patient, kind):
    """Show one reminder of a clinic patient."""
    kind = _kind_or_404(kind)
    conn = auth.app_conn()
    _ensure(conn, patient["id"])
    row = schedule.get_reminder(conn, patient["id"], kind)
    if row is None:
        abort(404, "No dose reminder: the patient has no regimen." if kind == "dose" else "No such reminder.")
    return schedule.reminder_out(row)


@blp.put("/patients/<patient_id>/reminders/<any(dose, diary, questionnaire):kind>")
@blp.arguments(ReminderIn())
@blp.response(200, ReminderOut)
@blp.alt_response(409, **NO_REGIMEN)
@blp.doc(operationId="putPatientReminder")
@clinic_patient("put_reminder")
def put_patient_reminder(body, patient, kind):
    """Set the time, weekdays and on/off of a clinic patient's reminder."""
    return _put(auth.app_conn(), patient["id"], _kind_or_404(kind), body)
