"""Clinician routes: the clinic's patients, enrollment codes, regimens, diary reads."""

from flask import current_app, request

from diary import audit, auth, erasure, people, records
from diary.access import clinic_patient
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
    PatientPatchIn,
    RegimenIn,
    RegimenOut,
)
from diary.schemas.rights import EraseIn, ExportOut

blp = Blueprint("patients", __name__, description="Clinician access to their clinic's patients")


@blp.get("/patients")
@blp.response(200, PatientListOut)
@blp.doc(operationId="listPatients")
def list_patients():
    """List the patients of the clinician's clinic."""
    clinician = auth.require_clinician()
    conn = auth.app_conn()
    rows = people.list_clinic_patients(conn, clinician["clinic_id"])
    with write(conn):
        audit.clinician_read(conn, clinician, "list_patients", None)
    return {"patients": [people.patient_out(r) for r in rows]}


@blp.post("/patients")
@blp.arguments(PatientIn())
@blp.response(201, PatientCreatedOut)
@blp.doc(operationId="createPatient")
def create_patient(body):
    """Add a patient to the clinic; returns their first enrollment code."""
    clinician = auth.require_clinician()
    conn = auth.app_conn()
    now = utcnow()
    return people.add_patient(
        conn, clinician["clinic_id"], body, now, current_app.config["ENROLLMENT_CODE_DAYS"]
    )


@blp.get("/patients/<patient_id>")
@blp.response(200, PatientOut)
@blp.doc(operationId="getPatient")
@clinic_patient("get_patient")
def get_patient(patient):
    """Show one patient of the clinic."""
    return people.patient_out(patient)


@blp.patch("/patients/<patient_id>")
@blp.arguments(PatientPatchIn())
@blp.response(200, PatientOut)
@blp.doc(operationId="patchPatient")
@clinic_patient("update_patient")
def patch_patient(body, patient):
    """Change the patient's name, time zone or external reference (reminders follow a new zone)."""
    conn = auth.app_conn()
    now = utcnow()
    with write(conn):
        row = people.update_patient(conn, patient["id"], body)
        if body.get("timezone", patient["timezone"]) != patient["timezone"]:
            schedule.recompute_for_patient(conn, patient["id"], now)
    return people.patient_out(row)


@blp.get("/patients/<patient_id>/export")
@blp.response(200, ExportOut)
@blp.doc(operationId="exportPatientData")
@clinic_patient("export_patient")
def export_patient(patient):
    """Download all of the patient's data (a request made at the clinic); audited."""
    return erasure.export_patient(auth.app_conn(), patient["id"], utcnow())


@blp.delete("/patients/<patient_id>")
@blp.arguments(EraseIn())
@blp.response(204)
@blp.doc(operationId="erasePatient")
@clinic_patient()
def erase_patient(body, clinician, patient):
    """Erase all of the patient's data for good, keeping an audit row; send {"confirm": "DELETE"}."""
    if not erasure.erase_patient(
        auth.app_conn(), patient["id"], "clinician", clinician["id"], request.remote_addr, utcnow()
    ):
        abort(404, "No such patient.")


@blp.post("/patients/<patient_id>/enrollment-code")
@blp.response(201, EnrollmentCodeOut)
@blp.doc(operationId="newEnrollmentCode")
@clinic_patient()
def new_enrollment_code(patient):
    """Issue a fresh enrollment code; the old one stops working."""
    conn = auth.app_conn()
    with write(conn):
        return people.new_enrollment_code(
            conn, patient["id"], utcnow(), current_app.config["ENROLLMENT_CODE_DAYS"]
        )


@blp.put("/patients/<patient_id>/regimen")
@blp.arguments(RegimenIn())
@blp.response(200, RegimenOut)
@blp.doc(operationId="putPatientRegimen")
@clinic_patient()
def put_regimen(body, clinician, patient):
    """Set the patient's regimen: medication, bedtime dose time, titration steps."""
    conn = auth.app_conn()
    now = utcnow()
    return people.save_regimen(conn, patient["id"], body, now, clinician["id"])


@blp.get("/patients/<patient_id>/regimen")
@blp.response(200, RegimenOut)
@blp.doc(operationId="getPatientRegimen")
@clinic_patient("get_regimen")
def get_regimen(patient):
    """Show the patient's regimen (404 when none is set)."""
    regimen = people.get_regimen(auth.app_conn(), patient["id"])
    if regimen is None:
        abort(404, "No regimen is set for this patient.")
    return regimen


@blp.get("/patients/<patient_id>/entries")
@blp.arguments(DateRangeArgs(), location="query")
@blp.response(200, EntryListOut)
@blp.doc(operationId="listPatientEntries")
@clinic_patient("list_entries")
def list_entries(args, patient):
    """List the patient's diary entries between two days."""
    return {"entries": records.list_entries(auth.app_conn(), patient["id"], args["from_"], args["to"])}


@blp.get("/patients/<patient_id>/doses")
@blp.arguments(DateRangeArgs(), location="query")
@blp.response(200, DoseListOut)
@blp.doc(operationId="listPatientDoses")
@clinic_patient("list_doses")
def list_doses(args, patient):
    """List the patient's logged doses between two diary days."""
    return {"doses": records.list_doses(auth.app_conn(), patient["id"], args["from_"], args["to"])}


@blp.get("/patients/<patient_id>/devices")
@blp.response(200, DeviceListOut)
@blp.doc(operationId="listPatientDevices")
@clinic_patient("list_devices")
def list_devices(patient):
    """List the devices enrolled for the patient (never the tokens themselves)."""
    return {"devices": people.list_devices(auth.app_conn(), patient["id"])}


@blp.delete("/patients/<patient_id>/devices/<int:device_id>")
@blp.response(204)
@blp.doc(operationId="revokePatientDevice")
@clinic_patient("revoke_device")
def revoke_device(patient, device_id):
    """Revoke one of the patient's devices (a lost phone, reported at the clinic)."""
    conn = auth.app_conn()
    with write(conn):
        found = people.revoke_device(conn, patient["id"], device_id, utcnow())
    if not found:
        abort(404, "No such device.")
