"""Clinician trend reports and their renderings, appointments, snapshots and the audit trail."""

from flask import Response, current_app
from marshmallow import ValidationError

from diary import audit, auth
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
    PatientReportOut,
    ReportArgs,
    ReportOut,
    SnapshotIn,
    SnapshotListOut,
    SnapshotOut,
    SnapshotSummaryOut,
)

blp = Blueprint("reports", __name__, description="Trend reports, exports, appointments, snapshots, audit")
BEARER = [{"bearer": []}]


def _lag_days():
    return current_app.config.get("REPORT_LAG_DAYS", analysis.DEFAULT_LAG_DAYS)


def _audited(clinician, action, patient_id):
    conn = auth.app_conn()
    with write(conn):
        audit.clinician_read(conn, clinician, action, patient_id)


def _json(obj, mimetype="application/json"):
    return Response(service.to_json(obj), mimetype=mimetype)


def clinician_report(patient_id, args):
    """Return (clinician, patient, report, inputs, period) for a clinic patient and query args."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    conn = auth.app_conn()
    now = utcnow()
    start, end = _period(conn, patient, args, now)
    report, inputs = service.make_report(conn, patient, start, end, _lag_days(), now)
    return clinician, patient, report, inputs, (start, end)


def _period(conn, patient, args, now, location="query"):
    """The resolved (start, end) of the period asked for, or 422 naming the wrong end."""
    start, end = resolve_period(conn, patient, args.get("from_"), args.get("to"), now)
    try:
        check_period(start, end)
        return start, end
    except ValidationError as exc:
        abort(422, "Not a report period.", errors={location: exc.messages})


@blp.get("/patients/<patient_id>/report")
@blp.arguments(ReportArgs(), location="query")
@blp.response(200, ReportOut)
@blp.doc(security=BEARER)
def get_report(args, patient_id):
    """Build the patient's trend report for a period."""
    clinician, _, report, _, _ = clinician_report(patient_id, args)
    _audited(clinician, "report", patient_id)
    return _json(report)


@blp.get("/patients/<patient_id>/export.csv")
@blp.arguments(ReportArgs(), location="query")
@blp.response(
    200,
    {"type": "string", "description": "CSV, one row per day; columns in diary/reports/csv_export.py."},
    content_type="text/csv",
)
@blp.doc(security=BEARER)
def export_csv(args, patient_id):
    """Export the period's days as CSV (one row per day)."""
    clinician, patient, _, inputs, (start, end) = clinician_report(patient_id, args)
    text = csv_export.render_csv(service.days_of(inputs, start, end))
    _audited(clinician, "export_csv", patient_id)
    filename = f"diary-{patient['id']}-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@blp.get("/patients/<patient_id>/fhir")
@blp.arguments(ReportArgs(), location="query")
@blp.response(
    200,
    {"type": "object", "description": "FHIR R4 Bundle of type collection."},
    content_type=fhir.FHIR_MIMETYPE,
)
@blp.doc(security=BEARER)
def export_fhir(args, patient_id):
    """Export the period as a FHIR R4 collection Bundle."""
    clinician, _, report, inputs, _ = clinician_report(patient_id, args)
    bundle = fhir.render_bundle(report, inputs["doses"], to_utc_text(utcnow()))
    _audited(clinician, "export_fhir", patient_id)
    return _json(bundle, fhir.FHIR_MIMETYPE)


@blp.get("/me/report")
@blp.arguments(ReportArgs(), location="query")
@blp.response(200, PatientReportOut)
@blp.doc(security=BEARER)
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
@blp.doc(security=BEARER)
def create_appointment(body, patient_id):
    """Book a clinic appointment for the patient."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
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
@blp.doc(security=BEARER, operationId="deletePatientAppointment")
def delete_appointment(patient_id, appointment_id):
    """Delete one of the patient's appointments (a snapshot made for it stays, unlinked)."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    conn = auth.app_conn()
    with write(conn):
        found = appointments_mod.delete_appointment(conn, patient["id"], appointment_id)
        if found:
            audit.clinician_read(conn, clinician, "delete_appointment", patient_id)
    if not found:
        abort(404, "No such appointment.")


@blp.get("/patients/<patient_id>/appointments")
@blp.response(200, AppointmentListOut)
@blp.doc(security=BEARER)
def list_appointments(patient_id):
    """List the patient's appointments."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    rows = appointments_mod.list_appointments(auth.app_conn(), patient["id"])
    _audited(clinician, "list_appointments", patient_id)
    return {"appointments": rows}


@blp.post("/patients/<patient_id>/reports")
@blp.arguments(SnapshotIn())
@blp.response(201, SnapshotSummaryOut)
@blp.doc(security=BEARER)
def create_snapshot(body, patient_id):
    """Store an immutable snapshot of the patient's report."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
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
        summary = snapshots.store_snapshot(
            conn, patient["id"], document, now, clinician["id"], appointment_id
        )
        audit.clinician_read(conn, clinician, "create_snapshot", patient_id)
    return summary


@blp.get("/patients/<patient_id>/reports")
@blp.response(200, SnapshotListOut)
@blp.doc(security=BEARER)
def list_snapshots(patient_id):
    """List the patient's stored report snapshots, newest first."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    rows = snapshots.list_snapshots(auth.app_conn(), patient["id"])
    _audited(clinician, "list_snapshots", patient_id)
    return {"snapshots": rows}


@blp.get("/patients/<patient_id>/reports/<snapshot_id>")
@blp.response(200, SnapshotOut)
@blp.doc(security=BEARER)
def get_snapshot(patient_id, snapshot_id):
    """Show one stored snapshot exactly as it was made (HTML at /patients/{id}/reports/{snapshot_id})."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    snapshot = snapshots.get_snapshot(auth.app_conn(), patient["id"], snapshot_id)
    if snapshot is None:
        abort(404, "No such snapshot.")
    _audited(clinician, "get_snapshot", patient_id)
    document = snapshot.pop("document")
    snapshot["report"] = document["report"]
    return _json(snapshot)


@blp.get("/patients/<patient_id>/audit")
@blp.response(200, AuditListOut)
@blp.doc(security=BEARER)
def list_audit(patient_id):
    """List the audit trail of reads of this patient's data, oldest first."""
    clinician, patient = auth.clinic_patient_or_404(patient_id)
    conn = auth.app_conn()
    rows = audit.list_for_patient(conn, patient["id"])
    _audited(clinician, "list_audit", patient_id)
    return {"audit": rows}
