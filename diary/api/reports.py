"""Clinician trend reports and their renderings, appointments, snapshots and the audit trail."""

from flask import Response, current_app
from marshmallow import ValidationError

from diary import audit, auth
from diary.access import clinic_patient
from diary.api.blueprint import Blueprint
from diary.clock import to_utc_text, utcnow
from diary.db import write
from diary.errors import abort
from diary.reports import analysis, csv_export, fhir, service, snapshots
from diary.reports import appointments as appointments_mod
from diary.reports.fetch import check_period, resolve_period
from diary.schemas.reports import (
    AppointmentIn,
    AppointmentListOut,
    AppointmentOut,
    AuditListOut,
    FhirBundleOut,
    PatientReportOut,
    ReportArgs,
    ReportOut,
    SnapshotIn,
    SnapshotListOut,
    SnapshotOut,
    SnapshotSummaryOut,
)

blp = Blueprint("reports", __name__, description="Trend reports, exports, appointments, snapshots, audit")


def _lag_days():
    return current_app.config.get("REPORT_LAG_DAYS", analysis.DEFAULT_LAG_DAYS)


def _json(obj, mimetype="application/json"):
    return Response(service.to_json(obj), mimetype=mimetype)


def _report(patient, args):
    """Return (report, inputs, (start, end)) of a patient for the query's period."""
    conn = auth.app_conn()
    now = utcnow()
    start, end = _period(conn, patient, args, now)
    report, inputs = service.make_report(conn, patient, start, end, _lag_days(), now)
    return report, inputs, (start, end)


def _period(conn, patient, args, now, location="query"):
    """The resolved (start, end) of the period asked for, or 422 naming the wrong end."""
    try:
        start, end = resolve_period(conn, patient, args.get("from_"), args.get("to"), now)
        check_period(start, end)
        return start, end
    except ValidationError as exc:
        abort(422, "Not a report period.", errors={location: exc.messages})


@blp.get("/patients/<patient_id>/report")
@blp.arguments(ReportArgs(), location="query")
@blp.response(200, ReportOut)
@blp.doc(operationId="getPatientReport")
@clinic_patient("report")
def get_report(args, patient):
    """Build the patient's trend report for a period."""
    report, _, _ = _report(patient, args)
    return _json(report)


@blp.get("/patients/<patient_id>/export.csv")
@blp.arguments(ReportArgs(), location="query")
@blp.response(
    200,
    {"type": "string", "description": "CSV, one row per day; columns in diary/reports/csv_export.py."},
    content_type="text/csv",
)
@blp.doc(operationId="exportPatientCsv")
@clinic_patient("export_csv")
def export_csv(args, patient):
    """Export the period's days as CSV (one row per day)."""
    _, inputs, (start, end) = _report(patient, args)
    text = csv_export.render_csv(service.days_of(inputs))
    filename = f"diary-{patient['id']}-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@blp.get("/patients/<patient_id>/fhir")
@blp.arguments(ReportArgs(), location="query")
@blp.response(200, FhirBundleOut, content_type=fhir.FHIR_MIMETYPE)
@blp.doc(operationId="exportPatientFhir")
@clinic_patient("export_fhir")
def export_fhir(args, patient):
    """Export the period as a FHIR R4 collection Bundle."""
    _, inputs, _ = _report(patient, args)
    bundle = service.fhir_bundle(auth.app_conn(), inputs, to_utc_text(utcnow()))
    return _json(bundle, fhir.FHIR_MIMETYPE)


@blp.get("/me/report")
@blp.arguments(ReportArgs(), location="query")
@blp.response(200, PatientReportOut)
@blp.doc(operationId="getMyReport")
def my_report(args):
    """Summarise the patient's own diary for a period."""
    patient = auth.require_patient()
    conn = auth.app_conn()
    now = utcnow()
    start, end = _period(conn, patient, args, now)
    report, _ = service.make_report(conn, patient, start, end, _lag_days(), now)
    return _json(analysis.patient_summary(report))


@blp.post("/patients/<patient_id>/appointments")
@blp.arguments(AppointmentIn())
@blp.response(201, AppointmentOut)
@blp.doc(operationId="createPatientAppointment")
@clinic_patient()
def create_appointment(body, clinician, patient):
    """Book a clinic appointment for the patient."""
    conn = auth.app_conn()
    now = utcnow()
    problem = appointments_mod.starts_at_problem(body["starts_at"], patient["created_at"], now)
    if problem:
        abort(422, "Not an appointment time.", errors={"json": {"starts_at": [problem]}})
    with write(conn):
        return appointments_mod.create_appointment(
            conn, patient["id"], body["starts_at"], body["note"], clinician["id"], now
        )


@blp.delete("/patients/<patient_id>/appointments/<int:appointment_id>")
@blp.response(204)
@blp.doc(operationId="deletePatientAppointment")
@clinic_patient("delete_appointment")
def delete_appointment(patient, appointment_id):
    """Delete one of the patient's appointments (a snapshot made for it stays, unlinked)."""
    conn = auth.app_conn()
    with write(conn):
        found = appointments_mod.delete_appointment(conn, patient["id"], appointment_id)
    if not found:
        abort(404, "No such appointment.")


@blp.get("/patients/<patient_id>/appointments")
@blp.response(200, AppointmentListOut)
@blp.doc(operationId="listPatientAppointments")
@clinic_patient("list_appointments")
def list_appointments(patient):
    """List the patient's appointments."""
    rows = appointments_mod.list_appointments(auth.app_conn(), patient["id"])
    return {"appointments": rows}


@blp.post("/patients/<patient_id>/reports")
@blp.arguments(SnapshotIn())
@blp.response(201, SnapshotSummaryOut)
@blp.doc(operationId="createPatientSnapshot")
@clinic_patient("create_snapshot")
def create_snapshot(body, clinician, patient):
    """Store an immutable snapshot of the patient's report."""
    conn = auth.app_conn()
    appointment_id = body.get("appointment_id")
    if (
        appointment_id is not None
        and appointments_mod.get_appointment(conn, patient["id"], appointment_id) is None
    ):
        abort(422, "No such appointment for this patient.", errors={"json": {"appointment_id": ["Unknown."]}})
    now = utcnow()
    start, end = _period(conn, patient, body, now, location="json")
    document = snapshots.build_document(conn, patient, start, end, _lag_days(), now)
    with write(conn):
        return snapshots.store_snapshot(conn, patient["id"], document, now, clinician["id"], appointment_id)


@blp.get("/patients/<patient_id>/reports")
@blp.response(200, SnapshotListOut)
@blp.doc(operationId="listPatientSnapshots")
@clinic_patient("list_snapshots")
def list_snapshots(patient):
    """List the patient's stored report snapshots, newest first."""
    rows = snapshots.list_snapshots(auth.app_conn(), patient["id"])
    return {"snapshots": rows}


@blp.get("/patients/<patient_id>/reports/<snapshot_id>")
@blp.response(200, SnapshotOut)
@blp.doc(operationId="getPatientSnapshot")
@clinic_patient("get_snapshot")
def get_snapshot(patient, snapshot_id):
    """Show one stored snapshot exactly as it was made (HTML at /patients/{id}/reports/{snapshot_id})."""
    snapshot = snapshots.get_snapshot(auth.app_conn(), patient["id"], snapshot_id)
    if snapshot is None:
        abort(404, "No such snapshot.")
    document = snapshot.pop("document")
    snapshot["report"] = document["report"]
    return _json(snapshot)


@blp.get("/patients/<patient_id>/audit")
@blp.response(200, AuditListOut)
@blp.doc(operationId="listPatientAudit")
@clinic_patient("list_audit")
def list_audit(patient):
    """List the audit trail of reads of this patient's data, oldest first."""
    rows = audit.list_for_patient(auth.app_conn(), patient["id"])
    return {"audit": rows}
