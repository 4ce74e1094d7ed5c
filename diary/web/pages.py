"""Clinician web pages: the blueprint, its CSP, CSRF, login and logout.

The pages themselves join this blueprint from ``patient_pages`` (patients, a patient's
home, regimen, enrollment), ``account_pages`` (password, clinicians) and
``report_pages`` (report, snapshots, compare, audit).

Server-rendered, no JavaScript: every response carries a CSP that allows no
script at all, and styles only from our own static file. State changes are
POST forms with a per-session CSRF token.
"""

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms.validators import ValidationError as CSRFValidationError

from diary import auth, measures, people, ratelimit
from diary.clock import utcnow
from diary.db import write
from diary.web.redirects import get_page_of, safe_next

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/web"
)

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


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


# Flask-WTF's token: signed, kept in the session, valid for the session's life
# (WTF_CSRF_TIME_LIMIT is None, set in create_app). Forms of diary/web/forms.py carry it too.
csrf_token = generate_csrf


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
    return {"csrf_token": csrf_token, "labels": MEASURE_LABELS, "directions": MEASURE_DIRECTIONS}


def _check_csrf():
    try:
        validate_csrf(request.form.get("csrf_token", ""))
    except CSRFValidationError:
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
        # After an idle timeout, log in again and land on the page that was open: a form
        # posted then comes back to a page that answers GET, never a 405.
        target = request.full_path.rstrip("?") if request.method == "GET" else get_page_of(request.path)
        abort(redirect(url_for("web.login", next=target), 302 if request.method == "GET" else 303))
    return clinician


login_required = _login_required


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
            session["token"] = issued["token"]
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
