"""Clinician pages: login with CSRF, session cookie flags, CSP without script, the report page."""

import re

import pytest

from tests.conftest import csrf_of


def csrf(client, url="/login"):
    return csrf_of(client.get(url).get_data(as_text=True))


def login(client, creds, token=None, password=None, next_url=None):
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(
        url,
        data={
            "csrf_token": token or csrf(client),
            "email": creds["email"],
            "password": password or creds["password"],
        },
    )


@pytest.fixture
def web(demo_app):
    app, creds = demo_app
    return app.test_client(), creds


def test_login_sets_httponly_samesite_session_and_logout_ends_it(web):
    client, creds = web
    r = login(client, creds)
    assert r.status_code == 303 and r.headers["Location"] == "/patients"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/patients")
    assert page.status_code == 200 and "Alex Demo" in page.get_data(as_text=True)
    token = csrf_of(page.get_data(as_text=True))
    assert client.post("/logout", data={}).status_code == 400  # no token
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/patients").status_code == 302


def test_login_refuses_missing_csrf_and_wrong_password(web):
    client, creds = web
    client.get("/login")
    r = client.post("/login", data={"email": creds["email"], "password": creds["password"]})
    assert r.status_code == 400
    r = login(client, creds, password="wrong-password-123")
    assert r.status_code == 401 and "wrong" in r.get_data(as_text=True)
    assert client.get("/patients").status_code == 302


def test_login_redirects_only_to_local_next(web):
    client, creds = web
    assert login(client, creds, next_url="//evil.example/x").headers["Location"] == "/patients"
    client2 = client.application.test_client()
    assert login(client2, creds, next_url="/patients").headers["Location"] == "/patients"


def test_every_form_has_a_csrf_token_and_pages_allow_no_script(web):
    client, creds = web
    login(client, creds)
    pid = creds["patient_id"]
    for url in ("/login", "/patients", f"/patients/{pid}/report"):
        r = client.get(url)
        html = r.get_data(as_text=True)
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe-inline" not in csp
        assert "<script" not in html and " style=" not in html
        # Every POST form carries the token (the patient search is a GET form).
        forms = re.findall(r'<form\b[^>]*method="post".*?</form>', html, re.S)
        assert forms, url
        posts = [form for form in forms if 'method="post"' in form]
        assert posts, url
        assert all('name="csrf_token"' in form for form in posts), url
        # A GET form (the period picker) changes nothing and carries no token to leak into URLs.
        assert not any('name="csrf_token"' in form for form in forms if form not in posts), url


def test_report_page_puts_flags_and_baseline_before_charts(web):
    client, creds = web
    login(client, creds)
    html = client.get(f"/patients/{creds['patient_id']}/report").get_data(as_text=True)
    flags, baseline, timeline, small = (
        html.index('id="flags-h"'),
        html.index('id="baseline-h"'),
        html.index('id="chart-timeline"'),
        html.index('id="chart-pain_worst"'),
    )
    assert flags < baseline < timeline < small
    # One timeline, then a chart for every other measure.
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 7
    for chart in ("timeline", "pain_worst", "fatigue", "mood", "sleep_quality", "function", "sleep_hours"):
        assert re.search(f'<svg [^>]*id="chart-{chart}"', html), chart
    assert "the 14 days before the first dose step" in html


def test_report_page_says_when_baseline_is_the_first_days(web):
    client, creds = web
    login(client, creds)
    # Tombstone every entry from before the first dose step: no pre-treatment data remains.
    from diary import db as dbmod

    conn = dbmod.connect(client.application.config["DATABASE"])
    conn.execute(
        "UPDATE entries SET deleted = 1 WHERE patient_id = ? AND date < "
        "(SELECT min(start_date) FROM regimen_steps WHERE patient_id = ?)",
        (creds["patient_id"], creds["patient_id"]),
    )
    conn.close()
    html = client.get(f"/patients/{creds['patient_id']}/report").get_data(as_text=True)
    assert "the diary&#39;s first days" in html or "the diary's first days" in html


def test_period_picker_posts_then_shows_that_period(web):
    client, creds = web
    login(client, creds)
    url = f"/patients/{creds['patient_id']}/report"
    token = csrf(client, url)
    r = client.post(url, data={"csrf_token": token, "from": "2026-09-01", "to": "2026-09-30"})
    assert r.status_code == 303
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "<strong>2026-09-01</strong> to <strong>2026-09-30</strong>" in page
    bad = client.get(url + "?from=2026-09-30&to=2026-09-01")
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "That period cannot be shown" in text and "To: Must not be before &#39;from&#39;." in text
    # The dates typed stay in the form.
    assert 'name="from" type="date" value="2026-09-30"' in text
    assert 'name="to" type="date" value="2026-09-01"' in text


@pytest.mark.parametrize(
    "query, words",
    [
        ("from=2026-02-30", "From: Not a valid date: use YYYY-MM-DD."),
        ("from=soon&to=2026-09-01", "From: Not a valid date: use YYYY-MM-DD."),
        ("from=2099-01-01", "From: Must not be after the last day"),
        ("to=1999-01-01", "To: Dates before 2000-01-01 are not accepted."),
        ("to=2001-01-01", "To: The patient&#39;s record begins on"),
        ("from=2001-01-01&to=2026-01-01", "From: A report covers at most"),
    ],
)
def test_an_invalid_period_says_what_is_wrong_and_keeps_the_dates(web, query, words):
    client, creds = web
    login(client, creds)
    r = client.get(f"/patients/{creds['patient_id']}/report?{query}")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert words in html, html[html.find("period-error") :][:400]
    for pair in query.split("&"):
        name, value = pair.split("=")
        assert f'name="{name}" type="date" value="{value}"' in html
    assert 'aria-invalid="true"' in html and "Showing the default period" in html


def test_saving_a_snapshot_from_the_page_opens_it(web):
    client, creds = web
    login(client, creds)
    url = f"/patients/{creds['patient_id']}/report"
    token = csrf(client, url)
    r = client.post(
        f"/patients/{creds['patient_id']}/reports",
        data={"csrf_token": token, "from": "2026-09-01", "to": "2026-09-30"},
    )
    assert r.status_code == 303
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Snapshot stored" in page and "<strong>2026-09-01</strong>" in page


def test_report_page_shows_episodes_amounts_windows_and_other_notes(web):
    client, creds = web
    login(client, creds)
    url = f"/patients/{creds['patient_id']}/report"
    report = client.get(url.replace("/patients", "/api/v1/patients", 1), headers={}).status_code
    assert report == 401  # the API needs a bearer token; the page uses the session
    # From long ago: the period starts where the patient's record does (the backfilled diary).
    html = client.get(url + "?from=2000-01-01").get_data(as_text=True)
    steps = _regimen_steps(client, creds)
    from datetime import date, timedelta

    record_start = (date.fromisoformat(steps[0]["start_date"]) - timedelta(days=14)).isoformat()
    assert f"Period <strong>{record_start}</strong>" in html
    # The demo's regimen is named "LDN"; the page names the substance too.
    assert "<dt>Regimen</dt><dd>LDN (naltrexone)" in html
    # Adherence by amount, and the days with nothing recorded.
    assert re.search(r"\d+ at the planned amount, 1 at another amount;", html)
    assert re.search(r"\d+ skipped; \d+ with nothing recorded\.", html)
    assert "Days used" in html
    # Side effects: episodes, present before treatment, the other side effect by its note.
    assert 'id="effects-h"' in html
    effects = html[html.index('id="effects-h"') : html.index('id="notes-h"')]
    assert "other: dry mouth" in effects and "Dry mouth" not in effects
    # The notes section quotes the patient's own spelling, with its date.
    assert re.search(
        r'note-date">\d{4}-\d\d-\d\d</span> <span class="note-kind">other side effect</span> '
        r'<span class="note-text">Dry mouth',
        html,
    )
    headache = re.search(
        r"<th scope=\"row\">headache</th>\s*<td><strong>yes</strong></td>\s*<td>(.*?)</td>", html, re.S
    )
    assert headache and headache.group(1).count('class="episode"') >= 2  # present before, then recurring
    dreams = re.search(r"<th scope=\"row\">vivid dreams</th>\s*<td>no</td>\s*<td>(.*?)</td>", html, re.S)
    assert dreams and dreams.group(1).count('class="episode"') == 2
    assert "Not comparable" not in html and "Mixed dose steps" not in html


def test_report_page_says_when_windows_mix_steps_or_cannot_be_compared(web):
    client, creds = web
    login(client, creds)
    url = f"/patients/{creds['patient_id']}/report"
    steps = [s["start_date"] for s in _regimen_steps(client, creds)]
    from datetime import date, timedelta

    second = date.fromisoformat(steps[1])
    html = client.get(
        url
        + f"?from={(second - timedelta(days=20)).isoformat()}&to={(second + timedelta(days=5)).isoformat()}"
    ).get_data(as_text=True)
    assert "Mixed dose steps:</strong> the current window spans\n    1.5 mg and 3 mg" in html
    first = date.fromisoformat(steps[0])
    html = client.get(
        url
        + f"?from={(first - timedelta(days=14)).isoformat()}&to={(first - timedelta(days=10)).isoformat()}"
    ).get_data(as_text=True)
    assert "Not comparable:</strong>" in html
    assert "too short to hold a baseline and a current window" in html


def _regimen_steps(client, creds):
    from diary import db as dbmod

    conn = dbmod.connect(client.application.config["DATABASE"])
    try:
        rows = conn.execute(
            "SELECT start_date FROM regimen_steps WHERE patient_id = ? ORDER BY start_date",
            (creds["patient_id"],),
        ).fetchall()
        return [{"start_date": r[0]} for r in rows]
    finally:
        conn.close()


def test_a_snapshot_stored_before_these_fields_existed_still_renders(web):
    """Snapshots are immutable: one made by the earlier analysis lacks the new keys."""
    from datetime import date, timedelta

    from diary import db as dbmod
    from diary.reports import service
    from tests.reports.earlier import earlier_days, earlier_report, store_snapshot_row

    client, creds = web
    login(client, creds)
    conn = dbmod.connect(client.application.config["DATABASE"])
    try:
        patient = dict(conn.execute("SELECT * FROM patients WHERE id = ?", (creds["patient_id"],)).fetchone())
        start = date.fromisoformat(_regimen_steps(client, creds)[0]["start_date"])
        report, inputs = service.make_report(conn, patient, start, start + timedelta(days=40))
        days = earlier_days(service.days_of(inputs))
        store_snapshot_row(conn, "old-one", patient["id"], earlier_report(report), days)
    finally:
        conn.close()
    r = client.get(f"/patients/{creds['patient_id']}/snapshots/old-one")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Dose levels and adherence" in html and 'id="effects-h"' in html
    assert "Not comparable" not in html
