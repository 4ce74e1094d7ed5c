"""The report's pages beside it: snapshots, a snapshot beside today, the audit trail, the print header.

Each is clinic-isolated (another clinic's patient or snapshot is 404) and audited.
"""

import re

import pytest

from diary import db as dbmod
from tests.conftest import PASSWORD, make_clinic
from tests.reports.test_web import csrf, login


@pytest.fixture
def web(demo_app):
    app, creds = demo_app
    client = app.test_client()
    login(client, creds)
    return client, creds


def _audit_actions(client, patient_id):
    conn = dbmod.connect(client.application.config["DATABASE"])
    try:
        return [
            r[0]
            for r in conn.execute(
                "SELECT action FROM audit_log WHERE patient_id = ? ORDER BY id", (patient_id,)
            )
        ]
    finally:
        conn.close()


def _save(client, pid, period=("2026-09-01", "2026-09-30")):
    token = csrf(client, f"/patients/{pid}/report")
    r = client.post(
        f"/patients/{pid}/reports", data={"csrf_token": token, "from": period[0], "to": period[1]}
    )
    assert r.status_code == 303
    return r.headers["Location"]


def test_snapshots_list_opens_each_and_compares_it_with_today(web):
    client, creds = web
    pid = creds["patient_id"]
    location = _save(client, pid)
    snapshot_id = location.rsplit("/", 1)[1]
    assert location.endswith(f"/patients/{pid}/snapshots/{snapshot_id}")
    listed = client.get(f"/patients/{pid}/snapshots")
    assert listed.status_code == 200
    html = listed.get_data(as_text=True)
    assert f"/patients/{pid}/snapshots/{snapshot_id}" in html and "saved by a clinician" in html
    assert "2026-09-01 to 2026-09-30" in html
    shown = client.get(location).get_data(as_text=True)
    assert "Snapshot stored" in shown and "<strong>2026-09-01</strong>" in shown
    assert 'id="notes-h"' in shown and "Other medications" in shown
    compare = client.get(location + "/compare")
    assert compare.status_code == 200
    page = compare.get_data(as_text=True)
    assert page.count('class="data baseline-table"') == 2
    assert "At the snapshot" in page and "Today" in page and "Period 2026-09-01 to 2026-09-30" in page
    actions = _audit_actions(client, pid)
    for action in ("create_snapshot", "snapshots_page", "snapshot_page", "snapshot_compare_page"):
        assert action in actions, action


def test_a_scheduled_snapshot_is_listed_as_made_before_an_appointment(web):
    client, creds = web
    pid = creds["patient_id"]
    from datetime import timedelta

    from diary.clock import to_utc_text, utcnow
    from diary.reports.snapshots import snapshot_upcoming_appointments

    conn = dbmod.connect(client.application.config["DATABASE"])
    try:
        with dbmod.write(conn):
            conn.execute(
                "INSERT INTO appointments (patient_id, starts_at, note, created_at) VALUES (?, ?, 'review', ?)",
                (pid, to_utc_text(utcnow() + timedelta(hours=3)), to_utc_text(utcnow())),
            )
        made = snapshot_upcoming_appointments(conn, utcnow(), {})
    finally:
        conn.close()
    assert len(made) == 1
    html = client.get(f"/patients/{pid}/snapshots").get_data(as_text=True)
    assert "scheduled, before an appointment" in html
    shown = client.get(f"/patients/{pid}/snapshots/{made[0]}").get_data(as_text=True)
    assert "scheduled before an appointment" in shown


def test_audit_page_is_newest_first_and_paginated(web):
    client, creds = web
    pid = creds["patient_id"]
    for _ in range(55):
        client.get(f"/patients/{pid}/snapshots")
    client.get(f"/patients/{pid}/report")
    first = client.get(f"/patients/{pid}/audit")
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    rows = html.split("<tbody>")[1].split("</tbody>")[0].count("<tr>")
    assert rows == 50
    # Newest first: the report read comes before the snapshots list reads.
    assert html.index("report page") < html.index("snapshots page")
    assert "Dr Demo" in html and "Page 1 of 2" in html and "?page=2" in html
    second = client.get(f"/patients/{pid}/audit?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second and "?page=1" in second
    # A page number that is not one shows the first page; nothing breaks.
    for bad in ("0", "-1", "x", "99999999999"):
        r = client.get(f"/patients/{pid}/audit?page={bad}")
        assert r.status_code == 200 and "Page 1 of" in r.get_data(as_text=True)
    assert _audit_actions(client, pid)[-1] == "audit_page"


def test_print_stylesheet_names_patient_period_and_page_numbers(web):
    client, creds = web
    pid = creds["patient_id"]
    html = client.get(f"/patients/{pid}/report").get_data(as_text=True)
    assert f"/patients/{pid}/report-print.css?from=" in html
    r = client.get(f"/patients/{pid}/report-print.css?from=2026-09-01&to=2026-09-30")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/css")
    assert r.headers["Cache-Control"] == "no-store"
    css = r.get_data(as_text=True)
    assert "@top-left" in css and "Alex Demo" in css and "2026\\2d 09\\2d 01 to 2026\\2d 09\\2d 30" in css
    assert 'counter(page) " of " counter(pages)' in css
    assert "report_print_header" in _audit_actions(client, pid)
    static = client.get("/static/web/report.css").get_data(as_text=True)
    assert 'counter(page) " of " counter(pages)' in static


@pytest.mark.parametrize(
    "path",
    [
        "/report",
        "/report-print.css",
        "/snapshots",
        "/snapshots/{sid}",
        "/snapshots/{sid}/compare",
        "/audit",
    ],
)
def test_another_clinics_patient_and_snapshots_are_404_and_unaudited(web, path):
    client, creds = web
    pid = creds["patient_id"]
    sid = _save(client, pid).rsplit("/", 1)[1]
    conn = dbmod.connect(client.application.config["DATABASE"])
    try:
        other = make_clinic(conn, "South Clinic")
    finally:
        conn.close()
    outsider = client.application.test_client()
    login(outsider, {"email": other["email"], "password": PASSWORD})
    before = len(_audit_actions(client, pid))
    r = outsider.get(f"/patients/{pid}" + path.format(sid=sid))
    assert r.status_code == 404
    assert "text/html" in r.headers["Content-Type"]
    assert len(_audit_actions(client, pid)) == before
    # An unknown snapshot id of one's own patient is 404 too.
    if "{sid}" in path:
        assert client.get(f"/patients/{pid}" + path.format(sid="no-such-snapshot")).status_code == 404


def test_pages_need_a_session(demo_app):
    app, creds = demo_app
    client = app.test_client()
    pid = creds["patient_id"]
    for path in ("/snapshots", "/audit", "/report"):
        r = client.get(f"/patients/{pid}{path}")
        assert r.status_code == 302 and "/login?next=" in r.headers["Location"]


def test_saving_a_snapshot_refuses_a_bad_period_or_missing_token_and_writes_nothing(web):
    client, creds = web
    pid = creds["patient_id"]
    token = csrf(client, f"/patients/{pid}/report")
    count = lambda: len(client.get(f"/patients/{pid}/snapshots").get_data(as_text=True).split("<tr>"))  # noqa: E731
    before = count()
    for data in (
        {"csrf_token": token, "from": "2026-09-30", "to": "2026-09-01"},
        {"csrf_token": token, "from": "nope", "to": "2026-09-01"},
        {"from": "2026-09-01", "to": "2026-09-30"},
    ):
        assert client.post(f"/patients/{pid}/reports", data=data).status_code == 400
    assert count() == before


def test_after_an_idle_timeout_logging_in_again_lands_on_the_report_with_its_period(web):
    client, creds = web
    pid = creds["patient_id"]
    conn = dbmod.connect(client.application.config["DATABASE"])
    try:
        with dbmod.write(conn):
            # Every token of the session idle for 31 minutes.
            conn.execute("UPDATE tokens SET last_used_at = '2000-01-01T00:00:00+00:00'")
    finally:
        conn.close()
    # The period picker is a GET form, so the page that was open is a GET to come back to.
    url = f"/patients/{pid}/report?from=2026-09-01&to=2026-09-30"
    r = client.get(url)
    assert r.status_code == 302 and "/login?next=" in r.headers["Location"]
    login_url = r.headers["Location"]
    token = csrf(client, login_url)
    r = client.post(
        login_url, data={"csrf_token": token, "email": creds["email"], "password": creds["password"]}
    )
    assert r.status_code == 303 and r.headers["Location"] == url
    assert "<strong>2026-09-01</strong>" in client.get(url).get_data(as_text=True)


def test_episode_dates_carry_the_year_when_the_period_crosses_one(web):
    client, creds = web
    pid = creds["patient_id"]
    html = client.get(f"/patients/{pid}/report").get_data(as_text=True)
    start, end = re.search(r"Period <strong>(\S+)</strong> to <strong>(\S+)</strong>", html).groups()
    if start[:4] == end[:4]:
        effects = html[html.index('id="effects-h"') : html.index('id="notes-h"')]
        assert re.search(r'class="episode">\d\d-\d\d ', effects)
    # Any period across New Year names the year on every episode date.
    year = int(end[:4])
    html = client.get(f"/patients/{pid}/report?from={year - 1}-12-01&to={year + 1}-01-31").get_data(
        as_text=True
    )
    effects = html[html.index('id="effects-h"') : html.index('id="notes-h"')]
    spans = re.findall(r'class="episode">([^<]+)<', effects)
    assert spans and all(re.match(r"\d{4}-\d\d-\d\d", s) for s in spans), spans[:3]
