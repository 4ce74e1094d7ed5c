"""Clinician web pages: login, the clinic's patients, a patient's printable report.

Server-rendered, no JavaScript: every response carries a CSP that allows no
script at all, and styles only from our own static file. State changes are
POST forms with a per-session CSRF token.
"""

import hmac
import secrets

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from marshmallow import ValidationError

from diary import audit, auth, measures, people, ratelimit
from diary.clock import utcnow
from diary.db import write
from diary.reports import charts, effect, service, snapshots
from diary.reports.fetch import check_period, resolve_period
from diary.schemas.reports import ReportArgs
from diary.web.redirects import safe_next

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/web"
)

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_report_args = ReportArgs()


@bp.after_app_request
def security_headers(response):
    """Send the no-script CSP and no-referrer on every page, error pages included (not on the API).

    The patient app's files (/app/) carry the app's own policy.
    """
    if request.path.startswith("/api/") or request.blueprint == "patient_app":
        return response
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def csrf_token():
    """Return this session's CSRF token, creating it once."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


# Measure labels and which way is better, from the one home of the measure list.
MEASURE_LABELS = {m.name: m.label for m in measures.ALL}
MEASURE_DIRECTIONS = {
    m.name: {"lower_is_better": "higher is worse", "higher_is_better": "higher is better"}.get(
        m.direction or ""
    )
    for m in measures.ALL
}


@bp.app_context_processor
def _template_globals():
    return {
        "csrf_token": csrf_token,
        "labels": MEASURE_LABELS,
        "directions": MEASURE_DIRECTIONS,
        "effect_words": effect.describe,
    }


def _check_csrf():
    sent = request.form.get("csrf_token", "")
    if not hmac.compare_digest(sent, session.get("csrf", "") or "\0"):
        abort(400, "The form expired; reload the page and try again.")


def current_clinician():
    """Return the logged-in clinician row, or None (logged out, expired or idle too long).

    The session cookie holds a clinician token: the same 12 h / 30 min rules as the
    API, and logout revokes it on the server, so a copied cookie dies with it.
    """
    token = session.get("token")
    row = auth.live_token(token) if token else None
    if row is None or row["kind"] != "clinician":
        session.clear()
        return None
    g.token_row = row  # the request log names the clinician
    clinician = (
        auth.app_conn().execute("SELECT * FROM clinicians WHERE id = ?", (row["clinician_id"],)).fetchone()
    )
    return dict(clinician) if clinician is not None else None


def _login_required():
    clinician = current_clinician()
    if clinician is None:
        abort(redirect(url_for("web.login", next=request.full_path.rstrip("?"))))
    return clinician


def _clinic_patient(clinician, patient_id):
    row = (
        auth.app_conn()
        .execute(
            "SELECT * FROM patients WHERE id = ? AND clinic_id = ?", (patient_id, clinician["clinic_id"])
        )
        .fetchone()
    )
    if row is None:
        abort(404)
    return dict(row)


def _audit(clinician, action, patient_id):
    conn = auth.app_conn()
    with write(conn):
        audit.record(conn, "clinician", clinician["id"], action, patient_id, request.remote_addr)


def _safe_next(target):
    # Only same-site paths (diary/web/redirects.py); anything else goes to the patient list.
    return safe_next(target) or url_for("web.patients")


@bp.get("/")
def index():
    """Send the browser to the patient list."""
    return redirect(url_for("web.patients"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; check the password and start a session."""
    error = None
    if request.method == "POST":
        _check_csrf()
        email = (request.form.get("email") or "").strip()
        password = request.form.get("password") or ""
        conn = auth.app_conn()
        # The same counts as the API login: one lock-out for both doors.
        with write(conn):
            retry_after, counted = ratelimit.count_attempt(
                conn, ratelimit.login_limits(current_app.config, email, request.remote_addr), utcnow()
            )
        if retry_after:
            return (
                render_template(
                    "login.html", error=ratelimit.message(retry_after), next=request.args.get("next", "")
                ),
                429,
                {"Retry-After": str(retry_after)},
            )
        row = people.check_password(conn, email, password)
        if row is not None:
            with write(conn):
                ratelimit.uncount(conn, counted)
                ratelimit.clear_account(conn, email)
                issued = people.issue_clinician_token(
                    conn, row["id"], utcnow(), current_app.config["CLINICIAN_TOKEN_HOURS"]
                )
            # A fresh session on login: nothing set before it (fixation) survives.
            session.clear()
            session.update(token=issued["token"], csrf=secrets.token_urlsafe(32))
            return redirect(_safe_next(request.args.get("next")), 303)
        error = "Email or password is wrong."
    status = 401 if error else 200
    return render_template("login.html", error=error, next=request.args.get("next", "")), status


@bp.post("/logout")
def logout():
    """End the session and revoke its token."""
    _check_csrf()
    row = auth.live_token(session["token"]) if session.get("token") else None
    if row is not None:
        conn = auth.app_conn()
        with write(conn):
            people.revoke_token(conn, row["id"], utcnow())
    session.clear()
    return redirect(url_for("web.login"), 303)


@bp.get("/patients")
def patients():
    """List the clinic's patients with their last entry date and current flags."""
    clinician = _login_required()
    conn = auth.app_conn()
    rows = conn.execute(
        "SELECT p.*, (SELECT max(date) FROM entries e WHERE e.patient_id = p.id AND e.deleted = 0) "
        "AS last_entry FROM patients p WHERE p.clinic_id = ? ORDER BY p.display_name, p.id",
        (clinician["clinic_id"],),
    ).fetchall()
    now = utcnow()
    listed = []
    for row in rows:
        patient = dict(row)
        start, end = resolve_period(conn, patient, None, None, now)
        # Flags only: the list skips the measure series.
        report, _ = service.make_report(
            conn, patient, start, end, current_app.config["REPORT_LAG_DAYS"], now, series=False
        )
        listed.append({"patient": patient, "flags": report["flags"]})
    _audit(clinician, "patients_page", None)
    return render_template("patients.html", clinician=clinician, listed=listed)


def _period_args():
    try:
        return _report_args.load({k: v for k, v in request.args.items() if k in ("from", "to")})
    except ValidationError as exc:
        return exc.messages


@bp.get("/patients/<patient_id>/report")
def report(patient_id):
    """Show the patient's printable trend report for a period."""
    clinician = _login_required()
    patient = _clinic_patient(clinician, patient_id)
    args = _period_args()
    errors = None
    if "from_" not in args:
        errors, args = args, {"from_": None, "to": None}
    conn = auth.app_conn()
    now = utcnow()
    try:
        start, end = resolve_period(conn, patient, args["from_"], args["to"], now)
        check_period(start, end)
    except ValidationError as exc:
        errors = exc.messages
        start, end = resolve_period(conn, patient, None, None, now)
    report_data, inputs = service.make_report(
        conn, patient, start, end, current_app.config["REPORT_LAG_DAYS"], now
    )
    days = service.days_of(inputs)
    _audit(clinician, "report_page", patient_id)
    return render_template(
        "report.html",
        clinician=clinician,
        report=report_data,
        charts=charts.all_charts(report_data, days),
        errors=errors,
        snapshot=None,
    )


@bp.post("/patients/<patient_id>/report")
def pick_period(patient_id):
    """Take the period picker form and show that period's report."""
    _check_csrf()
    clinician = _login_required()
    _clinic_patient(clinician, patient_id)
    params = {k: request.form[k] for k in ("from", "to") if request.form.get(k)}
    return redirect(url_for("web.report", patient_id=patient_id, **params), 303)


@bp.post("/patients/<patient_id>/reports")
def save_snapshot(patient_id):
    """Store a snapshot of the shown period and open it."""
    _check_csrf()
    clinician = _login_required()
    patient = _clinic_patient(clinician, patient_id)
    conn = auth.app_conn()
    now = utcnow()
    try:
        args = _report_args.load({k: request.form.get(k) for k in ("from", "to")})
        start, end = resolve_period(conn, patient, args["from_"], args["to"], now)
        check_period(start, end)
    except ValidationError:
        abort(400, "Give the period as two dates.")
    document = snapshots.build_document(conn, patient, start, end, current_app.config["REPORT_LAG_DAYS"], now)
    with write(conn):
        summary = snapshots.store_snapshot(conn, patient["id"], document, now, clinician["id"])
        audit.record(conn, "clinician", clinician["id"], "create_snapshot", patient_id, request.remote_addr)
    return redirect(url_for("web.snapshot", patient_id=patient_id, snapshot_id=summary["id"]), 303)


@bp.get("/patients/<patient_id>/reports/<snapshot_id>")
def snapshot(patient_id, snapshot_id):
    """Show a stored snapshot as the clinician saw it."""
    clinician = _login_required()
    patient = _clinic_patient(clinician, patient_id)
    stored = snapshots.get_snapshot(auth.app_conn(), patient["id"], snapshot_id)
    if stored is None:
        abort(404)
    document = stored.pop("document")
    _audit(clinician, "snapshot_page", patient_id)
    return render_template(
        "report.html",
        clinician=clinician,
        report=document["report"],
        charts=charts.all_charts(document["report"], document["days"]),
        errors=None,
        snapshot=stored,
    )
