"""Schemas of the data-rights routes: the full export and the erasure confirmation."""

import marshmallow as ma
from marshmallow import fields, validate

from diary.erasure import CONFIRMATION
from diary.schemas.common import Strict
from diary.schemas.diary import DoseOut, EntryOut
from diary.schemas.people import DeviceOut, PatientOut
from diary.schemas.reminders import NotificationOut, ReminderOut
from diary.schemas.reports import AppointmentOut, AuditRowOut, SnapshotOut


class EraseIn(Strict):
    confirm = fields.String(
        required=True,
        validate=validate.Equal(
            CONFIRMATION, error=f"Send {CONFIRMATION!r} to erase all of this patient's data for good."
        ),
        metadata={"description": f"Must be {CONFIRMATION!r}: erasure cannot be undone."},
    )


class ExportPatientOut(PatientOut):
    reminder_detail = fields.Boolean()


class ExportNotificationOut(NotificationOut):
    status = fields.String(metadata={"description": "sent, pending, failed, expired or skipped_done"})
    sent_at = fields.String(allow_none=True)


class PushOut(ma.Schema):
    platform = fields.String()
    updated_at = fields.String()


class ExportOut(ma.Schema):
    exported_at = fields.String()
    patient = fields.Nested(ExportPatientOut)
    regimen = fields.Dict(
        allow_none=True,
        metadata={
            "description": "{medication, dose_time, steps: [{start_date, dose_mg}], other_medications, updated_at}"
        },
    )
    entries = fields.List(fields.Nested(EntryOut))
    doses = fields.List(fields.Nested(DoseOut))
    reminders = fields.List(fields.Nested(ReminderOut))
    notifications = fields.List(fields.Nested(ExportNotificationOut))
    appointments = fields.List(fields.Nested(AppointmentOut))
    report_snapshots = fields.List(fields.Nested(SnapshotOut))
    devices = fields.List(fields.Nested(DeviceOut))
    push = fields.Nested(
        PushOut, allow_none=True, metadata={"description": "The push registration (never its token)."}
    )
    audit = fields.List(fields.Nested(AuditRowOut), metadata={"description": "Who read this patient's data."})
