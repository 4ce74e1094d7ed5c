"""Clinician routes: the clinic's patients, enrollment codes, regimens, diary reads."""

from flask import current_app, request

from diary import audit, auth, erasure, people, records
from diary.api.blueprint import Blueprint
from diary.clock import utcnow
from diary.db import write
from diary.errors import abort
from diary.reminders import schedule
from diary.schemas.diary import DateRangeArgs, DoseListOut, EntryListOut
from diary.schemas.people import (
    DeviceListOut,
    EnrollmentCodeOut,
    PatientCreatedOut,
    PatientIn,
    PatientListOut,
    PatientOut,
    RegimenIn,
    RegimenOut,
)
from diary.schemas.rights import EraseIn, ExportOut

blp = Blueprint("patients", __name__, description="Clinician access to their clinic's patients")
BEARER = [{"bearer": []}]


@blp.get("/patients")
@blp.response(200, PatientListOut)
@blp.doc(security=BEARER)
def list_patients():
    """List the patients of the clinician's clinic."""
    clinician = auth.require_clinician()
    conn = auth.app_conn()
    rows = conn.execute(
        "SELECT * FROM patients WHERE clinic_id = ? ORDER BY display_name, id", (clinician["clinic_id"],)
    ).fetchall()
    with write(conn):
        audit.clinician_read(conn, clinician, "list_patients", None)
    return {"patients": [people.patient_out(r) for r in rows]}


@blp.post("/patients")
@blp.arguments(PatientIn())
@blp.response(201, PatientCreatedOut)
@blp.doc(security=BEARER)
def create_patient(body):
    """Add a patient to the clinic; returns their first enrollment code."""
    clinician = auth.require_clinician()
    conn = auth.app_conn()
    now = utcnow()
    with write(conn):
        created = people.create_patient(
            conn, clinician["clinic_id"], body, now, current_app.config["ENROLLMENT_CODE_DAYS"]
        )
        schedule.ensure_default_reminders(conn, created["id"], now)
    return created


@blp.get("/patients/<patient_id>")
@blp.response(200, PatientOut)
@blp.doc(security=BEARER)
def get_patient(patient_id):
    """Show one patient of the clinic."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    conn = auth.app_conn()
    with write(conn):
        audit.clinician_read(conn, clinician, "get_patient", patient_id)
    return people.patient_out(patient)


@blp.get("/patients/<patient_id>/export")
@blp.response(200, ExportOut)
@blp.doc(security=BEARER)
def export_patient(patient_id):
    """Download all of the patient's data (a request made at the clinic); audited."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    conn = auth.app_conn()
    export = erasure.export_patient(conn, patient["id"], utcnow())
    with write(conn):
        audit.clinician_read(conn, clinician, "export_patient", patient_id)
    return export


@blp.delete("/patients/<patient_id>")
@blp.arguments(EraseIn())
@blp.response(204)
@blp.doc(security=BEARER)
def erase_patient(body, patient_id):
    """Erase all of the patient's data for good, keeping an audit row; send {"confirm": "DELETE"}."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    if not erasure.erase_patient(
        auth.app_conn(), patient["id"], "clinician", clinician["id"], request.remote_addr, utcnow()
    ):
        abort(404, "No such patient.")


@blp.post("/patients/<patient_id>/enrollment-code")
@blp.response(201, EnrollmentCodeOut)
@blp.doc(security=BEARER)
def new_enrollment_code(patient_id):
    """Issue a fresh enrollment code; the old one stops working."""
    _, patient = auth.clinic_patient_or_404(patient_id)
    conn = auth.app_conn()
    with write(conn):
        return people.new_enrollment_code(
            conn, patient["id"], utcnow(), current_app.config["ENROLLMENT_CODE_DAYS"]
        )


@blp.put("/patients/<patient_id>/regimen")
@blp.arguments(RegimenIn())
@blp.response(200, RegimenOut)
@blp.doc(security=BEARER)
def put_regimen(body, patient_id):
    """Set the patient's regimen: medication, bedtime dose time, titration steps."""
    _, patient = auth.clinic_patient_or_404(patient_id)
    conn = auth.app_conn()
    now = utcnow()
    with write(conn):
        regimen = people.put_regimen(conn, patient["id"], body, now)
        # The dose reminder follows the regimen's dose_time.
        schedule.ensure_default_reminders(conn, patient["id"], now)
    return people.regimen_out(regimen)


@blp.get("/patients/<patient_id>/regimen")
@blp.response(200, RegimenOut)
@blp.doc(security=BEARER)
def get_regimen(patient_id):
    """Show the patient's regimen (404 when none is set)."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    conn = auth.app_conn()
    regimen = people.get_regimen(conn, patient["id"])
    if regimen is None:
        abort(404, "No regimen is set for this patient.")
    with write(conn):
        audit.clinician_read(conn, clinician, "get_regimen", patient_id)
    return people.regimen_out(regimen)


@blp.get("/patients/<patient_id>/entries")
@blp.arguments(DateRangeArgs(), location="query")
@blp.response(200, EntryListOut)
@blp.doc(security=BEARER)
def list_entries(args, patient_id):
    """List the patient's diary entries between two days."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    conn = auth.app_conn()
    entries = records.list_entries(conn, patient["id"], args["from_"], args["to"])
    with write(conn):
        audit.clinician_read(conn, clinician, "list_entries", patient_id)
    return {"entries": entries}


@blp.get("/patients/<patient_id>/doses")
@blp.arguments(DateRangeArgs(), location="query")
@blp.response(200, DoseListOut)
@blp.doc(security=BEARER)
def list_doses(args, patient_id):
    """List the patient's logged doses between two diary days."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    conn = auth.app_conn()
    doses = records.list_doses(conn, patient["id"], args["from_"], args["to"])
    with write(conn):
        audit.clinician_read(conn, clinician, "list_doses", patient_id)
    return {"doses": doses}


@blp.get("/patients/<patient_id>/devices")
@blp.response(200, DeviceListOut)
@blp.doc(security=BEARER)
def list_devices(patient_id):
    """List the devices enrolled for the patient (never the tokens themselves)."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    conn = auth.app_conn()
    devices = people.list_devices(conn, patient["id"])
    with write(conn):
        audit.clinician_read(conn, clinician, "list_devices", patient_id)
    return {"devices": devices}


@blp.delete("/patients/<patient_id>/devices/<int:device_id>")
@blp.response(204)
@blp.doc(security=BEARER)
def revoke_device(patient_id, device_id):
    """Revoke one of the patient's devices (a lost phone, reported at the clinic)."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    conn = auth.app_conn()
    with write(conn):
        found = people.revoke_device(conn, patient["id"], device_id, utcnow())
        if found:
            audit.record(conn, "clinician", clinician["id"], "revoke_device", patient_id, request.remote_addr)
    if not found:
        abort(404, "No such device.")
