"""Patient routes (device token): profile, diary entries, doses, sync, changes, devices."""

from flask import current_app, request

from diary import auth, erasure, people, records
from diary.api.blueprint import Blueprint
from diary.clock import utcnow
from diary.db import next_seq, write
from diary.errors import abort
from diary.reminders import schedule
from diary.schemas.common import ErrorOut
from diary.schemas.diary import (
    ChangesArgs,
    ChangesOut,
    DateRangeArgs,
    DayPath,
    DoseConflictOut,
    DoseIn,
    DoseListOut,
    DoseOut,
    DosePath,
    EntryConflictOut,
    EntryIn,
    EntryListOut,
    EntryOut,
    SyncIn,
    SyncOut,
)
from diary.schemas.people import DeviceListOut, MeOut, MePatchIn, RegimenOut
from diary.schemas.rights import EraseIn, ExportOut
from diary.sync import apply_batch

blp = Blueprint("me", __name__, description="The patient's own diary (device token)")


def _day_text(day, patient, now):
    check_not_future(day, patient, now, ("path", "day"))
    return day.isoformat()


def check_not_future(day, patient, now, where):
    if day > records.latest_allowed_day(patient["timezone"], now):
        abort(
            422,
            "That day is in the future.",
            errors={where[0]: {where[1]: ["Must not be after tomorrow in your time zone."]}},
        )


def conflict(schema, stored):
    # Dumped as documented: the stored dose's amount goes out in mg like every other answer.
    abort(409, "A newer version is stored; it was kept.", errors={"stored": schema.dump(stored)})


@blp.get("/me")
@blp.response(200, MeOut)
@blp.doc(operationId="getMe")
def get_me():
    """Show the patient's profile."""
    patient = auth.require_patient()
    return patient


@blp.patch("/me")
@blp.arguments(MePatchIn())
@blp.response(200, MeOut)
@blp.doc(operationId="patchMe")
def patch_me(body):
    """Change the display name or time zone (reminders follow the new zone)."""
    patient = auth.require_patient()
    conn = auth.app_conn()
    now = utcnow()
    with write(conn):
        row = people.update_patient(conn, patient["id"], body)
        if "timezone" in body and body["timezone"] != patient["timezone"]:
            # The new zone applies from the next occurrence.
            schedule.recompute_for_patient(conn, patient["id"], now)
    return dict(row)


@blp.get("/me/regimen")
@blp.response(200, RegimenOut)
@blp.alt_response(404, schema=ErrorOut, description="The clinic has set no regimen yet")
@blp.doc(operationId="getMyRegimen")
def get_my_regimen():
    """Show the patient's own regimen: medication, dose time, titration steps (404 when none is set)."""
    patient = auth.require_patient()
    regimen = people.get_regimen(auth.app_conn(), patient["id"])
    if regimen is None:
        abort(404, "Your clinic has not set a regimen yet.")
    return regimen


@blp.get("/me/export")
@blp.response(200, ExportOut)
@blp.doc(operationId="exportMyData")
def export_me():
    """Download all of the patient's own data: profile, regimen, diary, doses, reminders, visits."""
    patient = auth.require_patient()
    return erasure.export_patient(auth.app_conn(), patient["id"], utcnow())


@blp.delete("/me")
@blp.arguments(EraseIn())
@blp.response(204)
@blp.doc(operationId="eraseMe")
def erase_me(body):
    """Erase all of the patient's data and devices for good; send {"confirm": "DELETE"}."""
    patient = auth.require_patient()
    erasure.erase_patient(
        auth.app_conn(), patient["id"], "patient", patient["id"], request.remote_addr, utcnow()
    )


@blp.put("/me/entries/<day>")
@blp.arguments(DayPath(), location="path", as_kwargs=True)
@blp.arguments(EntryIn())
@blp.response(200, EntryOut)
@blp.alt_response(201, schema=EntryOut, description="Created")
@blp.alt_response(409, schema=EntryConflictOut, description="A newer version is stored; it was kept")
@blp.doc(operationId="putMyEntry")
def put_entry(body, day):
    """Create or update the diary entry of one local day."""
    patient = auth.require_patient()
    now = utcnow()
    day = _day_text(day, patient, now)
    conn = auth.app_conn()
    with write(conn):
        status, row = records.upsert_entry(conn, patient["id"], day, body, now, next_seq(conn))
    if status == "stale":
        conflict(EntryOut(), records.entry_out(row))
    return records.entry_out(row), 201 if status == "created" else 200


@blp.get("/me/entries/<day>")
@blp.arguments(DayPath(), location="path", as_kwargs=True)
@blp.response(200, EntryOut)
@blp.doc(operationId="getMyEntry")
def get_entry(day):
    """Show the entry of one local day."""
    patient = auth.require_patient()
    day = _day_text(day, patient, utcnow())
    row = records.get_entry_row(auth.app_conn(), patient["id"], day)
    if row is None or row["deleted"]:
        abort(404, "No entry for that day.")
    return records.entry_out(row)


@blp.delete("/me/entries/<day>")
@blp.arguments(DayPath(), location="path", as_kwargs=True)
@blp.response(204)
@blp.doc(operationId="deleteMyEntry")
def delete_entry(day):
    """Delete the entry of one local day."""
    patient = auth.require_patient()
    now = utcnow()
    day = _day_text(day, patient, now)
    conn = auth.app_conn()
    with write(conn):
        status = records.delete_entry(conn, patient["id"], day, now, next_seq(conn))
    # A retried delete (the phone missed our answer) succeeds again.
    if status == "absent":
        abort(404, "No entry for that day.")


@blp.get("/me/entries")
@blp.arguments(DateRangeArgs(), location="query")
@blp.response(200, EntryListOut)
@blp.doc(operationId="listMyEntries")
def list_entries(args):
    """List the patient's entries between two days."""
    patient = auth.require_patient()
    return {"entries": records.list_entries(auth.app_conn(), patient["id"], args["from_"], args["to"])}


@blp.put("/me/doses/<dose_id>")
@blp.arguments(DosePath(), location="path", as_kwargs=True)
@blp.arguments(DoseIn())
@blp.response(200, DoseOut)
@blp.alt_response(201, schema=DoseOut, description="Created")
@blp.alt_response(409, schema=DoseConflictOut, description="A newer version is stored; it was kept")
@blp.doc(operationId="putMyDose")
def put_dose(body, dose_id):
    """Log or correct a dose under a client-generated UUID."""
    patient = auth.require_patient()
    now = utcnow()
    check_not_future(records.dose_local_date(body["taken_at"]), patient, now, ("json", "taken_at"))
    conn = auth.app_conn()
    with write(conn):
        status, row = records.upsert_dose(conn, patient["id"], dose_id, body, now, next_seq(conn))
    if status == "stale":
        conflict(DoseOut(), records.dose_out(row))
    return records.dose_out(row), 201 if status == "created" else 200


@blp.get("/me/doses/<dose_id>")
@blp.arguments(DosePath(), location="path", as_kwargs=True)
@blp.response(200, DoseOut)
@blp.doc(operationId="getMyDose")
def get_dose(dose_id):
    """Show one logged dose."""
    patient = auth.require_patient()
    row = records.get_dose_row(auth.app_conn(), patient["id"], dose_id)
    if row is None or row["deleted"]:
        abort(404, "No such dose.")
    return records.dose_out(row)


@blp.delete("/me/doses/<dose_id>")
@blp.arguments(DosePath(), location="path", as_kwargs=True)
@blp.response(204)
@blp.doc(operationId="deleteMyDose")
def delete_dose(dose_id):
    """Delete a logged dose."""
    patient = auth.require_patient()
    now = utcnow()
    conn = auth.app_conn()
    with write(conn):
        status = records.delete_dose(conn, patient["id"], dose_id, now, next_seq(conn))
    if status == "absent":
        abort(404, "No such dose.")


@blp.get("/me/doses")
@blp.arguments(DateRangeArgs(), location="query")
@blp.response(200, DoseListOut)
@blp.doc(operationId="listMyDoses")
def list_doses(args):
    """List the patient's doses by diary day."""
    patient = auth.require_patient()
    return {"doses": records.list_doses(auth.app_conn(), patient["id"], args["from_"], args["to"])}


@blp.post("/me/sync")
@blp.arguments(SyncIn())
@blp.response(200, SyncOut)
@blp.doc(operationId="syncMyDiary")
def sync(body):
    """Apply a batch of offline changes; one result per item, in the order sent."""
    patient = auth.require_patient()
    total = sum(
        len(body[k]) for k in ("entries", "doses", "deleted_entries", "deleted_doses", "questionnaires")
    )
    limit = current_app.config["SYNC_MAX_ITEMS"]
    if total > limit:
        abort(
            422,
            f"At most {limit} items per batch.",
            errors={"json": {"_schema": [f"{total} items; at most {limit} per batch."]}},
        )
    conn = auth.app_conn()
    return apply_batch(conn, patient, body, utcnow())


@blp.get("/me/changes")
@blp.arguments(ChangesArgs(), location="query")
@blp.response(200, ChangesOut)
@blp.doc(operationId="getMyChanges")
def changes(args):
    """Everything changed after the cursor (all of it without one)."""
    patient = auth.require_patient()
    return records.changes_since(auth.app_conn(), patient["id"], args["since"])


@blp.get("/me/devices")
@blp.response(200, DeviceListOut)
@blp.doc(operationId="listMyDevices")
def list_devices():
    """List the devices enrolled for this patient."""
    patient = auth.require_patient()
    return {"devices": people.list_devices(auth.app_conn(), patient["id"])}


@blp.delete("/me/devices/<int:device_id>")
@blp.response(204)
@blp.doc(operationId="revokeMyDevice")
def revoke_device(device_id):
    """Revoke one of this patient's devices (a lost phone)."""
    patient = auth.require_patient()
    conn = auth.app_conn()
    with write(conn):
        found = people.revoke_device(conn, patient["id"], device_id, utcnow())
    if not found:
        abort(404, "No such device.")
