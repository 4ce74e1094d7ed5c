"""Schemas of the data-rights routes: the full export and the erasure confirmation."""

from marshmallow import fields, validate

from diary.erasure import CONFIRMATION
from diary.schemas.common import InstantText, Out, Strict
from diary.schemas.diary import DoseOut, EntryOut
from diary.schemas.people import DeviceOut, PatientOut, RegimenOut
from diary.schemas.questionnaires import ResponseOut
from diary.schemas.reminders import NotificationOut, ReminderOut
from diary.schemas.reports import AppointmentOut, AuditRowOut, SnapshotOut

# Every state of a delivery (the migrations' CHECK constraint on deliveries.status).
DELIVERY_STATUSES = ("pending", "sent", "failed", "expired", "skipped_done")


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
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    sent_at = InstantText(allow_none=True)


class PushOut(Out):
    platform = fields.String(validate=validate.OneOf(("ios", "android")))
    updated_at = InstantText()


class RegimenVersionOut(Out):
    saved_at = InstantText()
    past_steps_changed = fields.Boolean(
        metadata={"description": "This save changed a titration step that had already begun."}
    )
    regimen = fields.Nested(RegimenOut)


class ExportOut(Out):
    exported_at = InstantText()
    patient = fields.Nested(ExportPatientOut)
    regimen = fields.Nested(RegimenOut, allow_none=True)
    regimen_history = fields.List(
        fields.Nested(RegimenVersionOut), metadata={"description": "Every saved regimen, newest first."}
    )
    entries = fields.List(fields.Nested(EntryOut))
    doses = fields.List(fields.Nested(DoseOut))
    questionnaires = fields.List(
        fields.Nested(ResponseOut), metadata={"description": "Answered questionnaires."}
    )
    reminders = fields.List(fields.Nested(ReminderOut))
    notifications = fields.List(fields.Nested(ExportNotificationOut))
    appointments = fields.List(fields.Nested(AppointmentOut))
    report_snapshots = fields.List(fields.Nested(SnapshotOut))
    devices = fields.List(fields.Nested(DeviceOut))
    push = fields.Nested(
        PushOut, allow_none=True, metadata={"description": "The push registration (never its token)."}
    )
    audit = fields.List(fields.Nested(AuditRowOut), metadata={"description": "Who read this patient's data."})
