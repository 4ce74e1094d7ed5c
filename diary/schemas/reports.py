"""Schemas of reports, appointments, snapshots and the audit trail.

The report body itself is documented loosely (one Dict per top-level key) and
serialised straight from plain dicts: dumping a 730-day report per data point
through nested schemas cost 39-57x the SQL fetch (DESIGN.md, Reports).
"""

import marshmallow as ma
from marshmallow import fields, validate

from diary.schemas.common import Instant, LocalDate, Note, Strict, StrictInteger

# Ten years of days: longer than any diary, short enough to bound the work.
MAX_PERIOD_DAYS = 3660


class ReportArgs(Strict):
    """``from``/``to`` of a report (inclusive local diary days); defaults follow the appointment rule."""

    from_ = LocalDate(
        data_key="from",
        load_default=None,
        metadata={"description": "First day; default: the last appointment before today, else 90 days back."},
    )
    to = LocalDate(
        load_default=None, metadata={"description": "Last day; default: today in the patient's zone."}
    )

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        start, end = data.get("from_"), data.get("to")
        if start and end and start > end:
            raise ma.ValidationError("Must not be before 'from'.", "to")
        if start and end and (end - start).days + 1 > MAX_PERIOD_DAYS:
            raise ma.ValidationError(f"A report covers at most {MAX_PERIOD_DAYS} days.", "from")


class SnapshotIn(ReportArgs):
    """Period of a new snapshot, optionally tied to an appointment."""

    appointment_id = StrictInteger(minimum=1, load_default=None, allow_none=True)


class ReportOut(ma.Schema):
    """The trend report (see issue 4 for every key); rendered from plain dicts."""

    patient = fields.Dict(metadata={"description": "{id, display_name, timezone}"})
    period = fields.Dict(metadata={"description": "{from, to, days}"})
    regimen = fields.Dict(
        allow_none=True, metadata={"description": "{medication, steps: [{start_date, dose_mg}]}"}
    )
    completeness = fields.Dict(
        metadata={"description": "{days_logged, days_in_period, fraction, longest_gap_days}"}
    )
    measures = fields.Dict(
        metadata={
            "description": (
                "per measure {direction, n, mean, median, min, max, daily: [{date, value}], "
                "rolling_7d: [{date, value}], weekly: [{week_start, n, mean, min, max}]}"
            )
        }
    )
    baseline_comparison = fields.Dict(
        metadata={
            "description": (
                "{baseline: {from, to, source}, current: {from, to}, measures: {name: {baseline_mean, "
                "current_mean, change, percent_change, classification?, two_point_change?}}}"
            )
        }
    )
    doses = fields.Dict(
        metadata={
            "description": (
                "{adherence: {planned_days, taken_days, fraction, longest_missed_streak}, levels: [{dose_mg, "
                "from, to, days, days_excluded, pain_mean, pain_median, sleep_quality_mean, fatigue_mean}]}"
            )
        }
    )
    side_effects = fields.Dict(
        metadata={
            "description": (
                "per name {days_reported, first_date, last_date, max_severity, onset_days_after_dose_change, status}"
            )
        }
    )
    flags = fields.List(fields.Dict(), metadata={"description": "[{code, message}]"})


class PatientReportOut(ma.Schema):
    """The patient's own summary: the report without daily series and without clinician flags."""

    period = fields.Dict()
    regimen = fields.Dict(allow_none=True)
    completeness = fields.Dict()
    measures = fields.Dict()
    baseline_comparison = fields.Dict()
    doses = fields.Dict()
    side_effects = fields.Dict()


class AppointmentIn(Strict):
    starts_at = Instant(required=True, metadata={"description": "Aware start time of the visit."})
    note = Note(load_default=None, allow_none=True, validate=validate.Length(max=500))


class AppointmentOut(ma.Schema):
    id = fields.Integer()
    starts_at = fields.String()
    note = fields.String(allow_none=True)
    created_by = fields.Integer(allow_none=True)
    created_at = fields.String()
    snapshot_id = fields.String(allow_none=True)


class AppointmentListOut(ma.Schema):
    appointments = fields.List(fields.Nested(AppointmentOut))


class SnapshotSummaryOut(ma.Schema):
    id = fields.String()
    patient_id = fields.String()
    created_at = fields.String()
    created_by = fields.Integer(allow_none=True)
    appointment_id = fields.Integer(allow_none=True)
    period_from = fields.String()
    period_to = fields.String()


class SnapshotOut(SnapshotSummaryOut):
    report = fields.Dict(metadata={"description": "The report exactly as stored at creation."})


class SnapshotListOut(ma.Schema):
    snapshots = fields.List(fields.Nested(SnapshotSummaryOut))


class AuditRowOut(ma.Schema):
    id = fields.Integer()
    at = fields.String()
    actor_kind = fields.String()
    actor_id = fields.String()
    action = fields.String()
    patient_id = fields.String(allow_none=True)
    remote_addr = fields.String(allow_none=True)


class AuditListOut(ma.Schema):
    audit = fields.List(fields.Nested(AuditRowOut))
