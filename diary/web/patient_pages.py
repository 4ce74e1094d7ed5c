"""Clinician pages for the clinic's patients: the list, adding one, their home page and its forms.

Routes join the ``web`` blueprint of pages.py (same templates, CSP and session). Every
per-patient view goes through ``access.clinic_patient`` with the page's session check:
another clinic's patient is 404 and every read is audited. A refused form re-renders
the page with the message beside its field and what was typed kept (422).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import segno
from flask import Response, current_app, flash, redirect, render_template, request, session, url_for
from markupsafe import Markup
from marshmallow import ValidationError

from diary import audit, auth, erasure, people, records, summaries
from diary.access import clinic_patient
from diary.clock import local_date, parse_utc_text, to_utc_text, utcnow
from diary.db import write
from diary.errors import abort
from diary.reminders import schedule
from diary.reminders.rules import KINDS
from diary.reports import appointments, csv_export, fhir, questionnaire_summary, service
from diary.reports.fetch import check_period, resolve_period
from diary.schemas.people import PatientIn, RegimenIn
from diary.schemas.reminders import ReminderIn
from diary.schemas.reports import AppointmentIn, ReportArgs
from diary.schemas.rights import ExportOut
from diary.web import forms
from diary.web.pages import bp, login_required

_patient_in = PatientIn()
_regimen_in = RegimenIn()
_reminder_in = ReminderIn()
_appointment_in = AppointmentIn()
_report_args = ReportArgs()
_export_out = ExportOut()  # the API's shape (mg, not micrograms)


def page_patient(action=None):
    """``clinic_patient`` with the web session as the clinician check (others' patients 404)."""
    return clinic_patient(action, current_clinician=login_required)


def _lag_days():
    return current_app.config["REPORT_LAG_DAYS"]


# -- the list ----------------------------------------------------------------


@bp.get("/patients")
def patients():
    """The clinic's patients: search, sort, 50 a page, figures from the stored summaries."""
    clinician = login_required()
    q = (request.args.get("q") or "").strip()[:100]
    sort = request.args.get("sort") or summaries.DEFAULT_SORT
    if sort not in summaries.SORTS:
        sort = summaries.DEFAULT_SORT
    try:
        page = max(1, min(int(request.args.get("page") or 1), 10**6))
    except ValueError:
        page = 1
    conn = auth.app_conn()
    now = utcnow()
    rows, total = summaries.list_page(conn, clinician["clinic_id"], q, sort, page, now, _lag_days())
    with write(conn):
        audit.clinician_read(conn, clinician, "patients_page", None)
    pages = max(1, -(-total // summaries.PAGE_SIZE))
    return render_template(
        "patients.html",
        clinician=clinician,
        rows=rows,
        total=total,
        q=q,
        sort=sort,
        sorts=summaries.SORTS,
        page=page,
        pages=pages,
        safety=summaries.SAFETY_FLAGS,
    )


# -- adding a patient ----------------------------------------------------------


def _patient_form(clinician, **kwargs):
    form = forms.PatientForm(**kwargs)
    first = people.clinic_main_zone(auth.app_conn(), clinician["clinic_id"])
    form.timezone.choices = forms.zone_choices(first)
    if form.timezone.data is None:
        form.timezone.data = first or "Europe/London"
    return form


@bp.route("/patients/new", methods=["GET", "POST"])
def new_patient():
    """Add a patient: name, time zone, external reference; then their home page."""
    clinician = login_required()
    form = _patient_form(clinician)
    if request.method == "POST":
        forms.checked(form)
        data = forms.load(form, _patient_in, form.data_for_api())
        if data is not None:
            conn = auth.app_conn()
            now = utcnow()
            created = people.add_patient(
                conn, clinician["clinic_id"], data, now, current_app.config["ENROLLMENT_CODE_DAYS"]
            )
            _hold_code(created["id"], created)
            flash("Patient added. Their first enrollment code is on the printable sheet.")
            return redirect(url_for("web.patient_home", patient_id=created["id"]), 303)
        return render_template("patient_new.html", clinician=clinician, form=form), 422
    return render_template("patient_new.html", clinician=clinician, form=form)


# -- the patient's home ------------------------------------------------------------


def _home(clinician, patient, status=200, **overrides):
    """Render the patient's home page; ``overrides`` are forms holding a refused submission."""
    conn = auth.app_conn()
    now = utcnow()
    pid = patient["id"]
    if schedule.lacks_defaults(conn, pid):
        with write(conn):
            schedule.ensure_default_reminders(conn, pid, now)
    summary = summaries.get(conn, pid, now, _lag_days())
    profile = overrides.get("profile") or _patient_form(
        clinician,
        formdata=None,
        data={
            "display_name": patient["display_name"],
            "timezone": patient["timezone"],
            "external_ref": patient["external_ref"],
        },
    )
    reminder_forms = {}
    stored = {row["kind"]: row for row in schedule.list_reminders(conn, pid)}
    for kind in KINDS:
        if kind not in stored and f"reminder_{kind}" not in overrides:
            continue  # no dose reminder before a regimen
        out = schedule.reminder_out(stored[kind]) if kind in stored else {"follows_regimen": False}
        reminder_forms[kind] = overrides.get(f"reminder_{kind}") or forms.ReminderForm(
            formdata=None,
            prefix=kind,
            data={"time": out["time"], "days": out["days"], "enabled": out["enabled"]},
        )
        reminder_forms[kind].row = out
    now_text = to_utc_text(now)
    listed = appointments.list_appointments(conn, pid)
    zone = ZoneInfo(patient["timezone"])
    for a in listed:
        a["local"] = parse_utc_text(a["starts_at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M")
    html = render_template(
        "patient_home.html",
        clinician=clinician,
        patient=patient,
        summary=summary,
        safety=summaries.SAFETY_FLAGS,
        profile=profile,
        regimen=people.get_regimen(conn, pid),
        weekly=records.latest_scored(conn, pid),
        pgic_names=dict(questionnaire_summary.PGIC_OPTIONS),
        reminders=reminder_forms,
        upcoming=[a for a in listed if a["starts_at"] > now_text],
        past=[a for a in reversed(listed) if a["starts_at"] <= now_text][:20],
        appointment=overrides.get("appointment") or forms.AppointmentForm(formdata=None),
        devices=people.list_devices(conn, pid),
        erase=overrides.get("erase") or forms.EraseForm(formdata=None),
        action=forms.ActionForm(formdata=None),
        refused=_refused_section(overrides),
    )
    return html, status


_SECTIONS = {
    "profile": ("profile-h", "Profile"),
    "appointment": ("appointments", "Appointments"),
    "erase": ("erase-h", "Erase"),
    "reminder_dose": ("reminders", "Reminders"),
    "reminder_diary": ("reminders", "Reminders"),
    "reminder_questionnaire": ("reminders", "Reminders"),
}


def _refused_section(overrides):
    """(anchor, name) of the section whose form was refused, for the alert at the top of the page."""
    return next((_SECTIONS[key] for key in overrides if key in _SECTIONS), None)


@bp.get("/patients/<patient_id>")
@page_patient("patient_page")
def patient_home(clinician, patient):
    """The patient's home: profile, enrollment, regimen, reminders, appointments, devices, links."""
    return _home(clinician, patient)


@bp.post("/patients/<patient_id>/profile")
@page_patient("update_patient")
def update_profile(clinician, patient):
    """Change the patient's name, time zone or external reference."""
    form = forms.checked(_patient_form(clinician))
    data = forms.load(form, _patient_in, form.data_for_api())
    if data is None:
        return _home(clinician, patient, 422, profile=form)
    conn = auth.app_conn()
    now = utcnow()
    with write(conn):
        people.update_patient(conn, patient["id"], data)
        if data["timezone"] != patient["timezone"]:
            schedule.recompute_for_patient(conn, patient["id"], now)
    flash("Profile saved.")
    return redirect(url_for("web.patient_home", patient_id=patient["id"]), 303)


# -- enrollment --------------------------------------------------------------------


def public_base():
    """The base URL phones reach us at: DIARY_PUBLIC_URL, else this request's."""
    return (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")


def enroll_link(code):
    """The link the QR code holds: the patient app's enroll page with the code in the fragment."""
    return f"{public_base()}/app/enroll#code={code}"


def qr_svg(text):
    """An inline SVG QR code (segno), sized by the page's CSS, with a title for screen readers."""
    svg = segno.make(text, error="m").svg_inline(
        scale=4,
        border=4,
        svgclass="qr",
        omitsize=True,
        lineclass=None,
        title="Enrollment QR code",
        dark="#000",
        light="#fff",
    )
    return Markup(svg)  # segno's own markup, our URL escaped inside it


def _hold_code(patient_id, issued):
    """Keep the code just issued in this session, for the printable sheet (the database holds its hash)."""
    session["enrollment"] = {
        "patient_id": patient_id,
        "code": issued["enrollment_code"],
        "expires_at": issued["enrollment_expires_at"],
    }


def _enrollment_context(patient):
    held = session.get("enrollment") or {}
    if held.get("patient_id") != patient["id"] or parse_utc_text(held["expires_at"]) <= utcnow():
        return None
    return {
        "code": held["code"],
        "expires_at": held["expires_at"],
        "link": enroll_link(held["code"]),
        "qr": qr_svg(enroll_link(held["code"])),
    }


@bp.post("/patients/<patient_id>/enrollment-code")
@page_patient("new_enrollment_code")
def new_enrollment_code(clinician, patient):
    """Issue a fresh code (the old one stops working) and show it with its QR code."""
    forms.checked(forms.ActionForm())
    conn = auth.app_conn()
    with write(conn):
        issued = people.new_enrollment_code(
            conn, patient["id"], utcnow(), current_app.config["ENROLLMENT_CODE_DAYS"]
        )
    _hold_code(patient["id"], issued)
    return render_template(
        "enrollment.html",
        clinician=clinician,
        patient=patient,
        enrollment=_enrollment_context(patient),
        action=forms.ActionForm(formdata=None),
    )


@bp.get("/patients/<patient_id>/enrollment-sheet")
@page_patient("enrollment_sheet")
def enrollment_sheet(clinician, patient):
    """One printable page for the patient: QR code, code, expiry and three steps."""
    clinic = (
        auth.app_conn().execute("SELECT name FROM clinics WHERE id = ?", (clinician["clinic_id"],)).fetchone()
    )
    return render_template(
        "enrollment_sheet.html",
        clinician=clinician,
        patient=patient,
        clinic_name=clinic["name"],
        enrollment=_enrollment_context(patient),
        action=forms.ActionForm(formdata=None),
    )


# -- regimen ----------------------------------------------------------------------


def _regimen_form(regimen=None, formdata=None):
    if regimen is None:
        return forms.RegimenForm(formdata=formdata)
    return forms.RegimenForm(
        formdata=formdata,
        data={
            "medication": regimen["medication"],
            "dose_time": regimen["dose_time"],
            "other_medications": "\n".join(regimen["other_medications"]),
            "steps": forms.step_rows_from(regimen["steps"]),
        },
    )


def _regimen_page(clinician, patient, form, status=200):
    conn = auth.app_conn()
    return render_template(
        "regimen.html",
        clinician=clinician,
        patient=patient,
        form=form,
        history=people.regimen_history(conn, patient["id"])[:10],
        today=local_date(utcnow(), patient["timezone"]).isoformat(),
    ), status


@bp.get("/patients/<patient_id>/regimen")
@page_patient("regimen_page")
def regimen_page(clinician, patient):
    """The regimen form: medication, dose time, steps (templates fill them), other medications."""
    regimen = people.get_regimen(auth.app_conn(), patient["id"])
    return _regimen_page(clinician, patient, _regimen_form(regimen))


def _apply_template(form):
    """Fill the step rows from the chosen template and start date (nothing is saved)."""
    try:
        start = datetime.strptime(form.start_date.data or "", "%Y-%m-%d").date()
    except ValueError:
        form.start_date.errors = ["Give the first step's date as YYYY-MM-DD."]
        return False
    if form.template.data not in ("ldn-standard", "ldn-slow"):
        form.template.errors = ["Choose a template."]
        return False
    steps = forms.template_steps(form.template.data, start)
    rows = [{"start_date": d.isoformat(), "dose_mg": mg} for d, mg in steps]
    rows += [{"start_date": "", "dose_mg": ""}] * max(forms.STEP_ROWS - len(rows), 1)
    while len(form.steps.entries):
        form.steps.pop_entry()
    for row in rows:
        form.steps.append_entry(row)
    return True


@bp.post("/patients/<patient_id>/regimen")
@page_patient("update_regimen")
def save_regimen(clinician, patient):
    """Apply a template to the form (``apply_template``), or save the regimen."""
    form = forms.checked(forms.RegimenForm())
    if "apply_template" in request.form:
        ok = _apply_template(form)
        return _regimen_page(clinician, patient, form, 200 if ok else 422)
    rows = form.filled_rows()
    data = {
        "medication": form.medication.data or "",
        "dose_time": form.dose_time.data or "",
        "steps": [step for _, step in rows],
        "other_medications": form.other_list(),
    }
    try:
        loaded = _regimen_in.load(data)
    except ValidationError as exc:
        _regimen_errors(form, exc.messages, [index for index, _ in rows])
        return _regimen_page(clinician, patient, form, 422)
    conn = auth.app_conn()
    now = utcnow()
    old = people.get_regimen(conn, patient["id"])
    new_steps = [{"start_date": s["start_date"], "dose_ug": s["dose_mg"]} for s in loaded["steps"]]
    today = local_date(now, patient["timezone"])
    changed_past = old is not None and forms.past_steps_changed(old["steps"], new_steps, today)
    if changed_past and not form.confirm_past.data:
        form.form_errors_field.errors.append(
            "This changes steps that already began (before today, "
            f"{today.isoformat()}): the report's dose history would change. Tick the box to correct the record."
        )
        form.confirm_past.errors = ["Tick to save changes to steps that already began."]
        return _regimen_page(clinician, patient, form, 422)
    people.save_regimen(conn, patient["id"], loaded, now, clinician["id"], changed_past)
    flash("Regimen saved.")
    return redirect(url_for("web.regimen_page", patient_id=patient["id"]), 303)


def _regimen_errors(form, messages, row_of):
    for key in ("medication", "dose_time", "other_medications"):
        if key in messages:
            getattr(form, key).errors = forms._flatten(messages[key])
    steps = messages.get("steps")
    if isinstance(steps, dict):
        for position, problems in steps.items():
            if isinstance(position, int) and position < len(row_of) and isinstance(problems, dict):
                row = form.steps.entries[row_of[position]].form
                for name, text in problems.items():
                    field = getattr(row, name, None) or row.start_date
                    field.errors = [*field.errors, *forms._flatten(text)]
            else:
                form.form_errors_field.errors += forms._flatten(problems)
    elif steps:
        form.form_errors_field.errors += ["Steps: " + m for m in forms._flatten(steps)]


# -- appointments, reminders, devices ---------------------------------------------------


@bp.post("/patients/<patient_id>/appointments")
@page_patient("create_appointment")
def book_appointment(clinician, patient):
    """Book an appointment at a local date and time in the patient's zone."""
    form = forms.checked(forms.AppointmentForm())
    conn = auth.app_conn()
    now = utcnow()
    starts_at = None
    try:
        local = datetime.strptime(form.starts_at.data or "", "%Y-%m-%dT%H:%M")
        starts_at = local.replace(tzinfo=ZoneInfo(patient["timezone"]))
    except ValueError:
        form.starts_at.errors = ["Give a date and time, YYYY-MM-DD HH:MM."]
    if starts_at is not None:
        data = forms.load(form, _appointment_in, {"starts_at": starts_at.isoformat(), "note": form.note.data})
        problem = data and appointments.starts_at_problem(data["starts_at"], patient["created_at"], now)
        if problem:
            form.starts_at.errors = [problem]
        elif data is not None:
            with write(conn):
                appointments.create_appointment(
                    conn, patient["id"], data["starts_at"], data["note"], clinician["id"], now
                )
            flash("Appointment booked.")
            return redirect(url_for("web.patient_home", patient_id=patient["id"]) + "#appointments", 303)
    return _home(clinician, patient, 422, appointment=form)


@bp.post("/patients/<patient_id>/appointments/<int:appointment_id>/delete")
@page_patient("delete_appointment")
def delete_appointment(clinician, patient, appointment_id):
    """Delete an upcoming appointment (a past one stays: it dates a report period)."""
    forms.checked(forms.ActionForm())
    conn = auth.app_conn()
    found = (
        appointments.get_appointment(conn, patient["id"], appointment_id) if appointment_id < 2**63 else None
    )
    if found is None:
        abort(404, "No such appointment.")
    if found["starts_at"] <= to_utc_text(utcnow()):
        abort(409, "Past appointments are kept: they date the report periods.")
    with write(conn):
        appointments.delete_appointment(conn, patient["id"], appointment_id)
    flash("Appointment deleted.")
    return redirect(url_for("web.patient_home", patient_id=patient["id"]) + "#appointments", 303)


@bp.post("/patients/<patient_id>/reminders/<kind>")
@page_patient("update_reminder")
def update_reminder(clinician, patient, kind):
    """Change the dose or diary reminder's time, days and on/off."""
    if kind not in KINDS:
        abort(404, "No such reminder.")
    form = forms.checked(forms.ReminderForm(prefix=kind))
    data = forms.load(
        form,
        _reminder_in,
        {"time": form.time.data or "", "days": form.days.data or [], "enabled": form.enabled.data},
    )
    if data is not None:
        conn = auth.app_conn()
        with write(conn):
            row = schedule.put_reminder(conn, patient["id"], kind, data, utcnow())
        if row is not None:
            flash(f"{kind.capitalize()} reminder saved.")
            return redirect(url_for("web.patient_home", patient_id=patient["id"]) + "#reminders", 303)
        form.time.errors = ["Set a regimen first: the dose reminder follows it."]
    return _home(clinician, patient, 422, **{f"reminder_{kind}": form})


@bp.post("/patients/<patient_id>/devices/<int:device_id>/revoke")
@page_patient("revoke_device")
def revoke_device(clinician, patient, device_id):
    """Revoke one of the patient's devices (a lost phone)."""
    forms.checked(forms.ActionForm())
    conn = auth.app_conn()
    with write(conn):
        found = people.revoke_device(conn, patient["id"], device_id, utcnow())
    if not found:
        abort(404, "No such device.")
    flash("Device revoked: its token no longer works.")
    return redirect(url_for("web.patient_home", patient_id=patient["id"]) + "#devices", 303)


# -- exports and erasure --------------------------------------------------------------


def _export_inputs(patient):
    """(inputs, start, end) of the asked period (?from=&to=, default the report's), or a 422 page."""
    try:
        args = _report_args.load({k: v for k, v in request.args.items()})
    except ValidationError as exc:
        abort(422, "Not a report period: " + "; ".join(forms._flatten(exc.messages)))
    conn = auth.app_conn()
    now = utcnow()
    try:
        start, end = resolve_period(conn, patient, args["from_"], args["to"], now)
        check_period(start, end)
    except ValidationError as exc:
        abort(422, "Not a report period: " + "; ".join(forms._flatten(exc.messages)))
    _, inputs = service.make_report(conn, patient, start, end, _lag_days(), now)
    return inputs, start, end


@bp.get("/patients/<patient_id>/export.csv")
@page_patient("export_csv")
def export_csv(patient):
    """The patient's days as CSV (the API's renderer), from the session."""
    inputs, start, end = _export_inputs(patient)
    name = f"diary-{patient['id']}-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(
        csv_export.render_csv(service.days_of(inputs)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/patients/<patient_id>/fhir.json")
@page_patient("export_fhir")
def export_fhir(patient):
    """The patient's FHIR R4 Bundle (the API's renderer), from the session."""
    inputs, start, end = _export_inputs(patient)
    bundle = service.fhir_bundle(auth.app_conn(), inputs, to_utc_text(utcnow()))
    name = f"diary-{patient['id']}-{start.isoformat()}-{end.isoformat()}.fhir.json"
    return Response(
        service.to_json(bundle),
        mimetype=fhir.FHIR_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/patients/<patient_id>/export.json")
@page_patient("export_patient")
def export_json(patient):
    """All of the patient's data as JSON (the API's export), from the session."""
    data = _export_out.dump(erasure.export_patient(auth.app_conn(), patient["id"], utcnow()))
    return Response(
        service.to_json(data),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="diary-{patient["id"]}-export.json"'},
    )


@bp.post("/patients/<patient_id>/erase")
@page_patient()
def erase_patient(clinician, patient):
    """Erase the patient for good once their display name is typed to confirm."""
    form = forms.checked(forms.EraseForm())
    if (form.confirm.data or "") != patient["display_name"]:
        form.confirm.errors = ["Type the patient's name exactly as shown to erase their data."]
        return _home(clinician, patient, 422, erase=form)
    erasure.erase_patient(
        auth.app_conn(), patient["id"], "clinician", clinician["id"], request.remote_addr, utcnow()
    )
    flash("The patient's data was erased.")
    return redirect(url_for("web.patients"), 303)
