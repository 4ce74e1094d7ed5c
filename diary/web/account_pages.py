"""Clinician account pages: change password, set one from a one-time link, the clinic's clinicians (admins).

Routes join the ``web`` blueprint of pages.py. A password change ends every other
session of that clinician; deactivating a clinician revokes their tokens at once.
"""

from flask import current_app, g, redirect, render_template, request, session, url_for

from diary import audit, auth, people
from diary.clock import utcnow
from diary.db import write
from diary.errors import abort
from diary.schemas.people import ClinicianIn
from diary.web import forms
from diary.web.pages import bp, login_required

_clinician_in = ClinicianIn()


def _password_problem(password):
    if len(password) < auth.MIN_PASSWORD_LENGTH:
        return f"Use at least {auth.MIN_PASSWORD_LENGTH} characters."
    if len(password) > 1024:
        return "Use at most 1024 characters."
    return None


@bp.route("/account/password", methods=["GET", "POST"])
def account_password():
    """Change your password; your other sessions end."""
    clinician = login_required()
    form = forms.PasswordForm()
    done = request.args.get("changed") == "1"
    if request.method == "POST":
        forms.checked(form)
        current, new = form.current_password.data or "", form.new_password.data or ""
        conn = auth.app_conn()
        problem = _password_problem(new)
        if problem:
            form.new_password.errors = [problem]
        # scrypt outside the write lock
        if people.check_password(conn, clinician["email"], current) is None:
            form.current_password.errors = ["That is not your current password."]
        if not form.has_errors:
            with write(conn):
                people.set_password(conn, clinician["id"], new, utcnow(), keep_token_id=g.token_row["id"])
                audit.record(conn, "clinician", clinician["id"], "change_password", None, request.remote_addr)
            return redirect(url_for("web.account_password", changed=1), 303)
        return render_template("account_password.html", clinician=clinician, form=form, done=False), 422
    return render_template("account_password.html", clinician=clinician, form=form, done=done)


@bp.route("/account/set-password/<token>", methods=["GET", "POST"])
def set_password(token):
    """Set a password from a one-time link (72 h); then log in."""
    conn = auth.app_conn()
    link = people.password_link(conn, token, utcnow())
    if link is None:
        abort(404, "This link has expired or was already used; ask your clinic admin for a new one.")
    form = forms.SetPasswordForm()
    if request.method == "POST":
        forms.checked(form)
        problem = _password_problem(form.new_password.data or "")
        if problem is None:
            with write(conn):
                if not people.use_password_link(conn, token, form.new_password.data, utcnow()):
                    abort(404, "This link has expired or was already used.")
            session.clear()
            return redirect(url_for("web.login"), 303)
        form.new_password.errors = [problem]
        return render_template("set_password.html", clinician=None, form=form, email=link["email"]), 422
    return render_template("set_password.html", clinician=None, form=form, email=link["email"])


def _admin():
    clinician = login_required()
    if not clinician.get("is_admin"):
        abort(404)  # not an admin: the page does not exist for them
    return clinician


def _clinicians_page(clinician, form, status=200, link=None):
    rows = people.list_clinicians(auth.app_conn(), clinician["clinic_id"])
    return render_template(
        "clinicians.html", clinician=clinician, form=form, rows=rows, link=link, action=forms.ActionForm()
    ), status


@bp.route("/clinic/clinicians", methods=["GET", "POST"])
def clinicians():
    """Clinic admins: the clinic's clinicians; add one (a one-time link to set a password)."""
    clinician = _admin()
    form = forms.ClinicianForm()
    if request.method == "GET":
        return _clinicians_page(clinician, forms.ClinicianForm(formdata=None))
    forms.checked(form)
    data = forms.load(form, _clinician_in, {"email": form.email.data or "", "name": form.name.data or ""})
    if data is not None:
        conn = auth.app_conn()
        try:
            with write(conn):
                added, token = people.invite_clinician(
                    conn, clinician["clinic_id"], data["email"], data["name"], clinician["id"], utcnow()
                )
                audit.record(conn, "clinician", clinician["id"], "add_clinician", None, request.remote_addr)
        except ValueError as exc:
            form.email.errors = [str(exc)]
        else:
            base = (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")
            link = {"email": added["email"], "url": base + url_for("web.set_password", token=token)}
            return _clinicians_page(clinician, forms.ClinicianForm(formdata=None), 201, link)
    return _clinicians_page(clinician, form, 422)


@bp.post("/clinic/clinicians/<int:clinician_id>/deactivate")
def deactivate_clinician(clinician_id):
    """Clinic admins: deactivate a clinician (their sessions and tokens stop working)."""
    clinician = _admin()
    forms.checked(forms.ActionForm())
    if clinician_id == clinician["id"]:
        abort(409, "You cannot deactivate yourself.")
    conn = auth.app_conn()
    with write(conn):
        if not people.deactivate_clinician(conn, clinician["clinic_id"], clinician_id, utcnow()):
            abort(404, "No such clinician.")
        audit.record(conn, "clinician", clinician["id"], "deactivate_clinician", None, request.remote_addr)
    return redirect(url_for("web.clinicians"), 303)
