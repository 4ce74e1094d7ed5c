"""Schemas of auth, enrollment, patients, devices and regimens."""

import marshmallow as ma
from marshmallow import fields, validate

from diary.schemas.common import (
    DateText,
    DoseMg,
    InstantText,
    LocalDate,
    Out,
    SingleLine,
    Strict,
    Timezone,
    WallTime,
)


class LoginIn(Strict):
    email = SingleLine(required=True, validate=validate.Length(min=3, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)


class LoginOut(Out):
    token = fields.String(metadata={"description": "Send as Authorization: Bearer <token>."})
    expires_at = InstantText()
    clinician_id = fields.Integer()


class ClinicianIn(Strict):
    """A clinician added by a clinic admin (the clinician pages' form)."""

    email = SingleLine(required=True, validate=[validate.Length(min=3, max=254), validate.Email()])
    name = SingleLine(required=True, validate=validate.Length(min=1, max=100))


class EnrollIn(Strict):
    code = SingleLine(required=True, validate=validate.Length(min=4, max=64))
    device_name = SingleLine(required=True, validate=validate.Length(min=1, max=100))


class EnrollOut(Out):
    token = fields.String(metadata={"description": "The device token: Authorization: Bearer <token>."})
    patient_id = fields.String()
    timezone = fields.String()


class PatientIn(Strict):
    display_name = SingleLine(required=True, validate=validate.Length(min=1, max=100))
    timezone = Timezone(required=True)
    external_ref = SingleLine(load_default=None, allow_none=True, validate=validate.Length(max=100))


class PatientPatchIn(Strict):
    """Profile changes a clinician makes; omitted keys stay as they are."""

    display_name = SingleLine(validate=validate.Length(min=1, max=100))
    timezone = Timezone()
    external_ref = SingleLine(allow_none=True, validate=validate.Length(max=100))


class PatientOut(Out):
    id = fields.String()
    display_name = fields.String()
    timezone = fields.String()
    external_ref = fields.String(allow_none=True)
    created_at = InstantText()


class PatientCreatedOut(PatientOut):
    enrollment_code = fields.String()
    enrollment_expires_at = InstantText()


class PatientListOut(Out):
    patients = fields.List(fields.Nested(PatientOut))


class EnrollmentCodeOut(Out):
    enrollment_code = fields.String()
    enrollment_expires_at = InstantText()


class MePatchIn(Strict):
    display_name = SingleLine(validate=validate.Length(min=1, max=100))
    timezone = Timezone()


class MeOut(Out):
    id = fields.String()
    display_name = fields.String()
    timezone = fields.String()


class DeviceOut(Out):
    id = fields.Integer()
    device_name = fields.String(allow_none=True)
    created_at = InstantText()
    last_used_at = InstantText(allow_none=True)
    revoked_at = InstantText(allow_none=True)


class DeviceListOut(Out):
    devices = fields.List(fields.Nested(DeviceOut))


class StepSchema(Strict):
    start_date = LocalDate(required=True)
    dose_mg = DoseMg(required=True)


class RegimenIn(Strict):
    medication = SingleLine(required=True, validate=validate.Length(min=1, max=100))
    dose_time = WallTime(required=True)
    steps = fields.List(fields.Nested(StepSchema), required=True, validate=validate.Length(min=1, max=100))
    other_medications = fields.List(
        SingleLine(validate=validate.Length(min=1, max=100)),
        load_default=list,
        validate=validate.Length(max=50),
    )

    @ma.validates("steps")
    def _unique_dates(self, steps, **kwargs):
        # A step that failed its own validation arrives without its start_date.
        dates = [s["start_date"] for s in steps if "start_date" in s]
        if len(dates) != len(set(dates)):
            raise ma.ValidationError("Each step needs its own start_date.")


class StepOut(Out):
    start_date = DateText()
    dose_mg = DoseMg(attribute="dose_ug")


class RegimenOut(Out):
    medication = fields.String()
    dose_time = WallTime()
    steps = fields.List(fields.Nested(StepOut), metadata={"description": "By start_date, earliest first."})
    other_medications = fields.List(fields.String())
    updated_at = InstantText()
