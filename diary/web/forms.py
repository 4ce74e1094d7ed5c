"""The clinician pages' forms (Flask-WTF): fields, CSRF, and the API schemas' rules.

WTForms parses and renders each form and checks its CSRF token; what a value may
be is decided by the same marshmallow schema the API loads (one home for each
rule: single-line text, IANA zones, HH:MM, mg with at most 3 decimals...).
``load`` runs the schema and puts its messages beside the form's fields.
"""

from datetime import date, timedelta
from zoneinfo import available_timezones

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.csrf import validate_csrf
from marshmallow import ValidationError
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError as WTFValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from diary.errors import abort
from diary.reminders.rules import DAY_NAMES

STEP_ROWS = 8
ZONES = sorted(available_timezones() - {"localtime", "Factory"})
ZONE_SET = set(ZONES)


def zone_choices(first=None):
    """Every IANA zone, ``first`` (the clinic's most used) at the top."""
    zones = [first] + [z for z in ZONES if z != first] if first in ZONE_SET else ZONES
    return [SelectChoice(z, z.replace("_", " ")) for z in zones]


def checked(form):
    """The form, once the posted ``csrf_token`` is right; else stop with 400 (field rules are the caller's).

    Read from the request, not the form: a prefixed form (the two reminder forms) would name it otherwise.
    """
    try:
        validate_csrf(request.form.get("csrf_token", ""))
    except WTFValidationError:
        abort(400, "The form expired; reload the page and try again.")
    return form


def blank_to_none(value):
    """Strip text; an empty field is None."""
    if isinstance(value, str):
        value = value.strip()
    return value or None


def load(form, schema, data, where=None):
    """Load ``data`` with the API's schema; on failure put the messages beside the fields.

    ``where`` maps a schema key to the form field that shows its messages (default: same name).
    Returns the loaded dict, or None when something was refused.
    """
    try:
        return schema.load(data)
    except ValidationError as exc:
        for key, messages in exc.messages.items():
            name = (where or {}).get(key, key)
            field = getattr(form, name, None) or form.form_errors_field
            field.errors = [*field.errors, *_flatten(messages)]
        return None


def _flatten(messages):
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _flatten(value)]
    if isinstance(messages, list):
        return [m for value in messages for m in _flatten(value)]
    return [str(messages)]


class FormErrors:
    """Where messages that belong to no one field go (shown above the form)."""

    def __init__(self):
        self.errors = []


class PageForm(FlaskForm):
    """A form with somewhere to put errors that belong to no single field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form_errors_field = FormErrors()

    @property
    def has_errors(self):
        """Whether any field (or the form as a whole) has a message to show."""
        return any(_has_errors(f) for f in self) or bool(self.form_errors_field.errors)


def _has_errors(field):
    """Whether a field, or any row of a field list, holds a message (set by us, not only by validate)."""
    if isinstance(field, FieldList):
        return any(_has_errors(entry) for entry in field.entries)
    if isinstance(field, FormField):
        return any(_has_errors(sub) for sub in field.form)
    return bool(field.errors)


class ActionForm(PageForm):
    """A button-only form (revoke, delete, issue a code): its CSRF token is all it carries."""


class PatientForm(PageForm):
    display_name = StringField("Name", filters=[blank_to_none])
    timezone = SelectField("Time zone", choices=[], validate_choice=False)
    external_ref = StringField("External reference (optional)", filters=[blank_to_none])

    def data_for_api(self):
        """The patient fields as the API takes them (blank name kept, so the schema names it)."""
        return {
            "display_name": self.display_name.data or "",
            "timezone": self.timezone.data or "",
            "external_ref": self.external_ref.data,
        }


class StepForm(Form):
    start_date = StringField("Start date", filters=[blank_to_none])
    dose_mg = StringField("Dose (mg)", filters=[blank_to_none])


class RegimenForm(PageForm):
    medication = StringField("Medication", filters=[blank_to_none])
    dose_time = StringField("Dose time (HH:MM)", filters=[blank_to_none])
    steps = FieldList(FormField(StepForm), min_entries=STEP_ROWS)
    other_medications = TextAreaField("Other medications (one per line)")
    template = SelectField(
        "Template",
        choices=[
            SelectChoice("ldn-standard", "LDN standard: 1.5, 3, 4.5 mg, 14 days apart"),
            SelectChoice("ldn-slow", "LDN slow: 0.5 mg more every 7 days up to 4.5 mg"),
        ],
    )
    start_date = StringField("Template start date", filters=[blank_to_none])
    confirm_past = BooleanField(
        "I am correcting steps that already began (the report's dose history changes)"
    )

    def filled_rows(self):
        """(row index, step dict) of the rows with anything typed; blank rows are ignored."""
        rows = []
        for index, entry in enumerate(self.steps.entries):
            start, dose = entry.form.start_date.data, entry.form.dose_mg.data
            if start or dose:
                rows.append((index, {"start_date": start or "", "dose_mg": _number(dose)}))
        return rows

    def other_list(self):
        """Other medications, one per line, blank lines dropped."""
        return [line.strip() for line in (self.other_medications.data or "").splitlines() if line.strip()]


def _number(text):
    """A typed dose as a number when it reads as one, else the text (the schema then names it)."""
    try:
        return float(text) if text and any(ch in text for ch in ".eE") else int(text or "")
    except ValueError:
        return text or ""


def template_steps(name, start):
    """The steps a regimen template fills in from ``start``: (date, mg text) pairs."""
    if name == "ldn-standard":
        doses = [1500, 3000, 4500]
        every = 14
    elif name == "ldn-slow":
        doses = list(range(500, 4501, 500))
        every = 7
    else:
        raise ValueError(name)
    return [(start + timedelta(days=every * i), _mg_text(ug)) for i, ug in enumerate(doses)]


def _mg_text(ug):
    return f"{ug / 1000:g}"


def step_rows_from(regimen_steps):
    """Form rows from stored steps (dose_ug), padded to at least STEP_ROWS."""
    rows = [{"start_date": s["start_date"], "dose_mg": _mg_text(s["dose_ug"])} for s in regimen_steps]
    return rows + [{"start_date": "", "dose_mg": ""}] * max(STEP_ROWS - len(rows), 1)


def past_steps_changed(old_steps, new_steps, today):
    """Whether saving ``new_steps`` changes, adds or removes a step that began before ``today``.

    Steps are {start_date (date or ISO text), dose_ug}; a step on or after today is the plan.
    """

    def before(steps):
        return {
            (
                s["start_date"] if isinstance(s["start_date"], str) else s["start_date"].isoformat(),
                s["dose_ug"],
            )
            for s in steps
            if (s["start_date"] if isinstance(s["start_date"], date) else date.fromisoformat(s["start_date"]))
            < today
        }

    return before(old_steps) != before(new_steps)


class AppointmentForm(PageForm):
    starts_at = StringField("Date and time (the patient's local time)", filters=[blank_to_none])
    note = StringField("Note (optional)", filters=[blank_to_none])


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ReminderForm(PageForm):
    time = StringField("Time (HH:MM)", filters=[blank_to_none])
    days = MultiCheckbox(
        "Days", choices=[SelectChoice(d, d.capitalize()) for d in DAY_NAMES], validate_choice=False
    )
    enabled = BooleanField("On (sends this reminder)")


class EraseForm(PageForm):
    confirm = StringField("Type the patient's name to confirm", filters=[blank_to_none])


class PasswordForm(PageForm):
    current_password = PasswordField("Current password")
    new_password = PasswordField("New password (at least 12 characters)")


class SetPasswordForm(PageForm):
    new_password = PasswordField("New password (at least 12 characters)")


class ClinicianForm(PageForm):
    email = StringField("Email", filters=[blank_to_none])
    name = StringField("Name", filters=[blank_to_none])
