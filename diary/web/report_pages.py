"""A patient's report pages: the printable report, its snapshots, a snapshot beside today, the audit trail.

Routes on the pages blueprint (``web.*`` endpoints); ``diary.app`` imports this
module so they are registered. Every page reaches its patient through
``diary.access.clinic_patient`` (another clinic's patient is 404) and is audited.
"""

from flask import abort, current_app, redirect, render_template, request, url_for
from marshmallow import ValidationError

from diary import audit, auth
from diary.access import clinic_patient
from diary.clock import utcnow
from diary.db import write
from diary.reports import analysis, charts, effect, notes, service, snapshots
from diary.reports.fetch import check_period, resolve_period
from diary.schemas.reports import ReportArgs
from diary.web.pages import _check_csrf, _login_required, bp

_report_args = ReportArgs()
AUDIT_PAGE_SIZE = 50
FIELD_NAMES = {"from": "From", "to": "To", "from_": "From", "_schema": "Period"}


def _page_patient(action=None):
    return clinic_patient(action, current_clinician=_login_required)


def period_errors(messages):
    """Turn marshmallow's messages about a period into sentences: 'From: Not a valid date.'"""
    out = []
    for field, texts in (messages or {}).items():
        for text in texts if isinstance(texts, list) else [texts]:
            out.append(f"{FIELD_NAMES.get(field, field)}: {text}")
    return out


def _asked_period(conn, patient, now):
    """Return (start, end, errors, typed): the asked period, or the default one with the errors in words."""
    typed = {k: request.args.get(k, "") for k in ("from", "to")}
    try:
        args = _report_args.load({k: v for k, v in typed.items() if v})
        start, end = resolve_period(conn, patient, args.get("from_"), args.get("to"), now)
        check_period(start, end)
        return start, end, [], typed
    except ValidationError as exc:
        start, end = resolve_period(conn, patient, None, None, now)
        return start, end, period_errors(exc.messages), typed


def printed_at():
    return utcnow().strftime("%Y-%m-%d %H:%M UTC")


def css_string(text):
    """Quote text as a CSS string: every character but letters, digits and spaces as a hex escape."""
    return (
        '"' + "".join(c if c.isalnum() and c.isascii() or c == " " else f"\\{ord(c):x} " for c in text) + '"'
    )


def _render_report(clinician, report, days, header, snapshot=None, errors=(), typed=None):
    timeline, small = charts.all_charts(report, days)
    return render_template(
        "report.html",
        clinician=clinician,
        report=report,
        header=header,
        timeline=timeline,
        charts=small,
        flag_groups=analysis.grouped_flags(report["flags"]),
        notes=notes.period_notes(days),
        errors=list(errors),
        typed=typed or {},
        snapshot=snapshot,
        printed_at=printed_at(),
        colours=charts.LEGEND,
        effect_words=effect.describe,
    )


@bp.get("/patients/<patient_id>/report")
@_page_patient("report_page")
def report(patient, clinician):
    """Show the patient's printable trend report for a period (default: ``fetch.resolve_period``)."""
    conn = auth.app_conn()
    now = utcnow()
    start, end, errors, typed = _asked_period(conn, patient, now)
    report_data, inputs = service.make_report(
        conn, patient, start, end, current_app.config["REPORT_LAG_DAYS"], now
    )
    status = 400 if errors else 200
    page = _render_report(
        clinician,
        report_data,
        service.days_of(inputs),
        notes.header(inputs["regimen"], patient),
        errors=errors,
        typed=typed if errors else None,
    )
    return page, status


@bp.post("/patients/<patient_id>/report")
def pick_period(patient_id):
    """Take an older period picker form (POST) and show that period's report."""
    _check_csrf()
    params = {k: request.form[k] for k in ("from", "to") if request.form.get(k)}
    return redirect(url_for("web.report", patient_id=patient_id, **params), 303)


@bp.post("/patients/<patient_id>/reports")
@_page_patient("create_snapshot")
def save_snapshot(patient, clinician):
    """Store a snapshot of the shown period and open it."""
    _check_csrf()
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
    return redirect(url_for("web.snapshot", patient_id=patient["id"], snapshot_id=summary["id"]), 303)


@bp.get("/patients/<patient_id>/snapshots")
@_page_patient("snapshots_page")
def snapshot_list(patient, clinician):
    """List the patient's snapshots, manual and scheduled, newest first."""
    listed = snapshots.list_snapshots(auth.app_conn(), patient["id"])
    return render_template("snapshots.html", clinician=clinician, patient=patient, snapshots=listed)


def _stored(patient, snapshot_id):
    stored = snapshots.get_snapshot(auth.app_conn(), patient["id"], snapshot_id)
    if stored is None:
        abort(404)
    return stored


@bp.get("/patients/<patient_id>/snapshots/<snapshot_id>")
@_page_patient("snapshot_page")
def snapshot(patient, clinician, snapshot_id):
    """Show a stored snapshot as the clinician saw it."""
    stored = _stored(patient, snapshot_id)
    document = stored.pop("document")
    header = document.get("header") or notes.header(None, patient)
    return _render_report(clinician, document["report"], document["days"], header, snapshot=stored)


@bp.get("/patients/<patient_id>/snapshots/<snapshot_id>/compare")
@_page_patient("snapshot_compare_page")
def compare_snapshot(patient, clinician, snapshot_id):
    """Show a snapshot's baseline table beside today's report (default period)."""
    stored = _stored(patient, snapshot_id)
    then = stored.pop("document")["report"]
    conn = auth.app_conn()
    now = utcnow()
    start, end = resolve_period(conn, patient, None, None, now)
    today, _ = service.make_report(conn, patient, start, end, current_app.config["REPORT_LAG_DAYS"], now)
    return render_template(
        "compare.html", clinician=clinician, patient=patient, snapshot=stored, then=then, today=today
    )


@bp.get("/patients/<patient_id>/audit")
@_page_patient("audit_page")
def audit_trail(patient, clinician):
    """The patient's audit trail, newest first, AUDIT_PAGE_SIZE a page (``?page=``)."""
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 1_000_000 else 1
    rows, total = audit.page_for_patient(
        auth.app_conn(), patient["id"], AUDIT_PAGE_SIZE, (page - 1) * AUDIT_PAGE_SIZE
    )
    pages = max(1, -(-total // AUDIT_PAGE_SIZE))
    return render_template(
        "audit.html", clinician=clinician, patient=patient, rows=rows, page=page, pages=pages, total=total
    )


@bp.get("/patients/<patient_id>/report-print.css")
@_page_patient("report_print_header")
def report_print_css(patient, clinician):
    """The print stylesheet of one report: every printed page's header names the patient, period and time.

    A stylesheet, not a style element: the CSP allows styles only from this site.
    Chromium draws @page margin boxes, with counter(pages), in the browser's own print.
    """
    period = " to ".join(request.args.get(k, "")[:10] for k in ("from", "to"))
    ref = patient.get("external_ref") or "no external reference"
    left = f"{patient['display_name']}, {ref}"
    right = f"{period}, printed {printed_at()}"
    css = (
        "@page { "
        f"@top-left {{ content: {css_string(left)}; }} "
        f"@top-right {{ content: {css_string(right)}; }} "
        '@bottom-right { content: "page " counter(page) " of " counter(pages); } '
        "}\n"
    )
    return css, 200, {"Content-Type": "text/css; charset=utf-8", "Cache-Control": "no-store"}
