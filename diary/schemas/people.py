"""Schemas of auth, enrollment, patients, devices and regimens."""

import marshmallow as ma
from marshmallow import fields, validate

from diary.schemas.common import DoseMg, LocalDate, SingleLine, Strict, Timezone, WallTime


class LoginIn(Strict):
    email = SingleLine(required=True, validate=validate.Length(min=3, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)


class LoginOut(ma.Schema):
    token = fields.String()
    expires_at = fields.String()
    clinician_id = fields.Integer()


class EnrollIn(Strict):
    code = SingleLine(required=True, validate=validate.Length(min=4, max=64))
    device_name = SingleLine(required=True, validate=validate.Length(min=1, max=100))


class EnrollOut(ma.Schema):
    token = fields.String()
    patient_id = fields.String()
    timezone = fields.String()


class PatientIn(Strict):
    display_name = SingleLine(required=True, validate=validate.Length(min=1, max=100))
    timezone = Timezone(required=True)
    external_ref = SingleLine(load_default=None, allow_none=True, validate=validate.Length(max=100))


class PatientOut(ma.Schema):
    id = fields.String()
    display_name = fields.String()
    timezone = fields.String()
    external_ref = fields.String(allow_none=True)
    created_at = fields.String()


class PatientCreatedOut(PatientOut):
    enrollment_code = fields.String()
    enrollment_expires_at = fields.String()


class PatientListOut(ma.Schema):
    patients = fields.List(fields.Nested(PatientOut))


class EnrollmentCodeOut(ma.Schema):
    enrollment_code = fields.String()
    enrollment_expires_at = fields.String()


class MePatchIn(Strict):
    display_name = SingleLine(validate=validate.Length(min=1, max=100))
    timezone = Timezone()


class MeOut(ma.Schema):
    id = fields.String()
    display_name = fields.String()
    timezone = fields.String()


class DeviceOut(ma.Schema):
    id = fields.Integer()
    device_name = fields.String(allow_none=True)
    created_at = fields.String()
    last_used_at = fields.String(allow_none=True)
    revoked_at = fields.String(allow_none=True)


class DeviceListOut(ma.Schema):
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


class RegimenOut(ma.Schema):
    medication = fields.String()
    dose_time = fields.String()
    steps = fields.List(fields.Dict())
    other_medications = fields.List(fields.String())
    updated_at = fields.String()
