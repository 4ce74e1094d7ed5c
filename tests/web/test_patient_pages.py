"""Clinic task pages through the Flask test client: every form, its refusals, isolation and audit."""

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from diary import summaries
from diary.clock import utcnow
from tests.web.conftest import Web, audit_actions, csrf_of

ZONE = "Europe/London"


def text(r):
    return r.get_data(as_text=True)


def field_error(html, field_id):
    """The message shown beside a field (its id-error element), or None."""
    found = re.search(rf'id="{re.escape(field_id)}-error">([^<]*)<', html)
    return found.group(1) if found else None


def count(conn, sql, *args):
    return conn.execute(sql, args).fetchone()[0]


# -- /patients/new ---------------------------------------------------------------


def test_new_patient_lands_on_their_home_and_is_listed(web, conn):
    page = text(web.get("/patients/new"))
    assert 'name="display_name"' in page and 'name="timezone"' in page and 'name="external_ref"' in page
    pid = web.add_patient("Ana New", "America/Chicago", "MRN-77")
    row = conn.execute("SELECT * FROM patients WHERE id = ?", (pid,)).fetchone()
    assert (row["display_name"], row["timezone"], row["external_ref"]) == (
        "Ana New",
        "America/Chicago",
        "MRN-77",
    )
    assert "Ana New" in text(web.get(f"/patients/{pid}"))


def test_new_patient_form_lists_the_clinics_most_used_zone_first(web):
    web.add_patient("A", "Asia/Tokyo")
    web.add_patient("B", "Asia/Tokyo")
    web.add_patient("C", "Europe/Paris")
    options = re.findall(r'<option[^>]*value="([^"]+)"', text(web.get("/patients/new")))
    assert options[0] == "Asia/Tokyo" and len(options) > 300


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"display_name": "", "timezone": ZONE}, "display_name", "Length must be between"),
        ({"display_name": "x" * 101, "timezone": ZONE}, "display_name", "Length must be between"),
        ({"display_name": "Bad\u202eName", "timezone": ZONE}, "display_name", "control characters"),
        ({"display_name": "Zed", "timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"display_name": "Zed", "timezone": ""}, "timezone", ""),
        ({"display_name": "Zed", "timezone": ZONE, "external_ref": "a\nb"}, "external_ref", "control"),
    ],
)
def test_new_patient_refusals_show_beside_the_field_keep_input_and_write_nothing(
    web, conn, data, field, words
):
    before = count(conn, "SELECT count(*) FROM patients")
    r = web.post("/patients/new", data)
    html = text(r)
    assert r.status_code == 422
    message = field_error(html, field)
    assert message is not None and words in message, html
    if data.get("display_name") and "\u202e" not in data["display_name"] and field != "display_name":
        assert f'value="{data["display_name"]}"' in html  # input kept
    assert count(conn, "SELECT count(*) FROM patients") == before


def test_forms_without_csrf_token_are_refused(web, conn):
    pid = web.add_patient()
    before = count(conn, "SELECT count(*) FROM patients")
    assert web.post("/patients/new", {"display_name": "X", "timezone": ZONE}, csrf=False).status_code == 400
    assert (
        web.post("/patients/new", {"display_name": "X", "timezone": ZONE, "csrf_token": "forged"}).status_code
        == 400
    )
    assert web.post(f"/patients/{pid}/erase", {"confirm": "Pat Page"}, csrf=False).status_code == 400
    assert count(conn, "SELECT count(*) FROM patients") == before


# -- isolation and audit ---------------------------------------------------------------


def test_another_clinics_patient_is_404_on_every_page_and_form(web, other_web, conn):
    pid = web.add_patient()
    device = conn.execute("SELECT 1").fetchone()  # noqa: F841  (no device needed: the patient check comes first)
    gets = ["", "/regimen", "/enrollment-sheet", "/export.csv", "/fhir.json", "/export.json", "/report"]
    for suffix in gets:
        assert other_web.get(f"/patients/{pid}{suffix}").status_code == 404, suffix
    posts = [
        ("/profile", {"display_name": "Hijack", "timezone": ZONE}),
        ("/enrollment-code", {}),
        ("/regimen", {"medication": "x", "dose_time": "22:00"}),
        ("/appointments", {"starts_at": "2027-01-01T10:00"}),
        ("/appointments/1/delete", {}),
        ("/reminders/diary", {"diary-time": "08:00"}),
        ("/devices/1/revoke", {}),
        ("/erase", {"confirm": "Pat Page"}),
    ]
    for suffix, data in posts:
        assert other_web.post(f"/patients/{pid}{suffix}", data).status_code == 404, suffix
    assert count(conn, "SELECT count(*) FROM patients WHERE id = ? AND display_name = 'Pat Page'", pid) == 1
    assert "Pat Page" not in text(other_web.get("/patients?q=Pat"))
    assert web.get("/patients/not-a-patient").status_code == 404


def test_reads_are_audited(web, conn):
    pid = web.add_patient()
    for url in ("", "/regimen", "/enrollment-sheet", "/export.csv", "/fhir.json", "/export.json"):
        assert web.get(f"/patients/{pid}{url}").status_code == 200
    assert audit_actions(conn, pid) == [
        "patient_page",
        "regimen_page",
        "enrollment_sheet",
        "export_csv",
        "export_fhir",
        "export_patient",
    ]


# -- the list ------------------------------------------------------------------------


def test_list_searches_name_and_external_ref_and_pages_by_50(web):
    for n in range(52):
        web.add_patient(f"Person {n:02d}", ZONE, f"REF-{n:02d}")
    web.add_patient("Zoe 100%_x", ZONE, "OTHER")
    first = text(web.get("/patients?sort=name"))
    assert first.count('data-label="Enrollment"') == 50 and "page 1 of 2" in first
    second = text(web.get("/patients?sort=name&page=2"))
    assert second.count('data-label="Enrollment"') == 3
    assert "Person 00" in first and "Zoe" in second
    by_ref = text(web.get("/patients?q=REF-07"))
    assert "Person 07" in by_ref and "Person 08" not in by_ref
    # LIKE wildcards are taken literally.
    assert text(web.get("/patients?q=%25_")).count('data-label="Enrollment"') == 1
    assert "No patient matches" in text(web.get("/patients?q=nobody"))
    # Nonsense sort and page fall back instead of failing.
    assert web.get("/patients?sort=drop&page=x").status_code == 200


def test_list_shows_enrollment_states_and_flags_by_severity(web, conn, client):
    pid = web.add_patient("Enrolled One")
    web.post(f"/patients/{pid}/enrollment-code")
    code = re.search(
        r'id="enrollment-code">([^<]+)<', text(web.post(f"/patients/{pid}/enrollment-code"))
    ).group(1)
    assert client.post("/api/v1/enroll", json={"code": code, "device_name": "p"}).status_code == 201
    fresh = web.add_patient("Fresh Code")
    conn.execute(
        "UPDATE enrollment_codes SET expires_at = '2000-01-01T00:00:00+00:00' WHERE patient_id = ?", (fresh,)
    )
    pending = web.add_patient("Pending Code")
    html = text(web.get("/patients?sort=name"))
    rows = {name: row for name, row in re.findall(r">([A-Z][a-z]+ [A-Z][a-z]+)</a>(.*?)</tr>", html, re.S)}
    assert "1 device" in rows["Enrolled One"]
    assert "not enrolled" in rows["Fresh Code"]
    assert re.search(r"code expires \d{4}-\d{2}-\d{2}", rows["Pending Code"])
    assert pending


def test_flag_order_puts_safety_first():
    flags = [{"code": "sparse_diary"}, {"code": "low_adherence"}, {"code": "opioid_co_medication"}]
    assert [f["code"] for f in summaries.order_flags(flags)] == [
        "opioid_co_medication",
        "low_adherence",
        "sparse_diary",
    ]


def test_summaries_go_stale_on_change_and_the_scheduler_refreshes_them(web, conn, patient, app):
    """A diary write marks the stored summary stale; one refresh_due (a tick) brings it up to date."""
    conn.execute("UPDATE patient_summaries SET stale = 0, computed_at = ?", (utcnow().isoformat(),))
    day = datetime.now(ZoneInfo(patient["timezone"])).date().isoformat()
    r = web.client.put(
        f"/api/v1/me/entries/{day}",
        json={"pain": 4, "recorded_at": utcnow().isoformat()},
        headers=patient["headers"],
    )
    assert r.status_code == 201
    assert count(conn, "SELECT stale FROM patient_summaries WHERE patient_id = ?", patient["id"]) == 1
    assert patient["id"] in summaries.due_ids(conn, utcnow())
    with app.app_context():
        assert summaries.refresh_due(conn, utcnow(), 3) >= 1
    row = conn.execute("SELECT * FROM patient_summaries WHERE patient_id = ?", (patient["id"],)).fetchone()
    assert row["stale"] == 0 and row["last_entry"] == day


def test_the_list_refreshes_only_the_shown_page(web, conn):
    for n in range(55):
        web.add_patient(f"P {n:02d}")
    conn.execute("UPDATE patient_summaries SET stale = 1, computed_at = NULL")
    assert web.get("/patients?sort=name").status_code == 200
    assert count(conn, "SELECT count(*) FROM patient_summaries WHERE stale > 0") == 5


# -- profile and the API's PATCH ----------------------------------------------------------


def test_profile_edit_and_its_refusals(web, conn):
    pid = web.add_patient()
    r = web.post(
        f"/patients/{pid}/profile",
        {"display_name": "Pat Renamed", "timezone": "Asia/Tokyo", "external_ref": "R-2"},
    )
    assert r.status_code == 303
    assert "Profile saved." in text(web.get(r.headers["Location"]))
    row = conn.execute("SELECT * FROM patients WHERE id = ?", (pid,)).fetchone()
    assert (row["display_name"], row["timezone"], row["external_ref"]) == ("Pat Renamed", "Asia/Tokyo", "R-2")
    r = web.post(f"/patients/{pid}/profile", {"display_name": "", "timezone": "Nowhere/Here"})
    assert r.status_code == 422
    assert field_error(text(r), "display_name") and field_error(text(r), "timezone")
    assert (
        conn.execute("SELECT display_name FROM patients WHERE id = ?", (pid,)).fetchone()[0] == "Pat Renamed"
    )


def test_api_patch_patient(client, clinic, patient, conn):
    from tests.conftest import make_clinic

    url = f"/api/v1/patients/{patient['id']}"
    r = client.patch(url, json={"external_ref": "MRN-5", "timezone": "Asia/Tokyo"}, headers=clinic["headers"])
    assert r.status_code == 200 and r.json["external_ref"] == "MRN-5" and r.json["timezone"] == "Asia/Tokyo"
    r = client.patch(url, json={"external_ref": None}, headers=clinic["headers"])
    assert r.status_code == 200 and r.json["external_ref"] is None
    for body, where in (
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": 5}, "display_name"),
        ({"nickname": "x"}, "nickname"),
    ):
        r = client.patch(url, json=body, headers=clinic["headers"])
        assert r.status_code == 422 and where in r.json["errors"]["json"], r.json
    other = make_clinic(conn, "Other")
    assert client.patch(url, json={"display_name": "x"}, headers=other["headers"]).status_code == 404
    assert client.patch(url, json={"display_name": "x"}).status_code == 401
    doc = client.get("/api/v1/openapi.json").json
    op = doc["paths"]["/api/v1/patients/{patient_id}"]["patch"]
    assert op["operationId"] == "patchPatient"
    assert "PatientPatchIn" in json.dumps(op["requestBody"])


# -- enrollment ------------------------------------------------------------------------


def test_enrollment_code_page_shows_code_expiry_and_qr_of_the_public_url(db_path, conn, clinic):
    from diary import create_app

    app = create_app({"DATABASE": db_path, "PUBLIC_URL": "https://diary.example.org/"})
    web = Web(app.test_client(), clinic).login()
    pid = web.add_patient()
    html = text(web.post(f"/patients/{pid}/enrollment-code"))
    code = re.search(r'id="enrollment-code">([^<]+)<', html).group(1)
    assert re.search(r'id="enrollment-qr"><svg', html)
    assert f"https://diary.example.org/app/enroll#code={code}" in html
    assert 'id="enrollment-expiry"' in html
    sheet = text(web.get(f"/patients/{pid}/enrollment-sheet"))
    assert code in sheet and "North Clinic" in sheet and "<ol>" in sheet and "<svg" in sheet
    # The code works once, and the stored hash is all the database holds.
    assert count(conn, "SELECT count(*) FROM enrollment_codes WHERE code_hash = ?", code) == 0


def test_enrollment_sheet_without_a_code_in_this_session_offers_a_new_one(web, app, clinic):
    pid = web.add_patient()
    # The first code, issued with the patient, is on the sheet of the session that added them.
    assert 'id="enrollment-code"' in text(web.get(f"/patients/{pid}/enrollment-sheet"))
    colleague = Web(app.test_client(), clinic).login()
    sheet = text(colleague.get(f"/patients/{pid}/enrollment-sheet"))
    assert 'id="enrollment-code"' not in sheet and "Issue an enrollment code" in sheet


def test_default_public_url_is_the_requests_base(web):
    pid = web.add_patient()
    assert "http://localhost/app/enroll#code=" in text(web.post(f"/patients/{pid}/enrollment-code"))


# -- regimen -----------------------------------------------------------------------------


def regimen_form(medication="naltrexone", dose_time="22:00", steps=(), other=""):
    data = {"medication": medication, "dose_time": dose_time, "other_medications": other}
    for i in range(8):
        start, dose = steps[i] if i < len(steps) else ("", "")
        data[f"steps-{i}-start_date"] = start
        data[f"steps-{i}-dose_mg"] = dose
    return data


def test_regimen_page_shows_eight_step_rows(web):
    pid = web.add_patient()
    html = text(web.get(f"/patients/{pid}/regimen"))
    assert all(
        f'name="steps-{i}-start_date"' in html and f'name="steps-{i}-dose_mg"' in html for i in range(8)
    )


@pytest.mark.parametrize(
    "template, expected",
    [
        ("ldn-standard", [("2027-01-04", "1.5"), ("2027-01-18", "3"), ("2027-02-01", "4.5")]),
        (
            "ldn-slow",
            [(f"2027-01-{4 + 7 * i:02d}" if i < 4 else None, f"{0.5 * (i + 1):g}") for i in range(9)],
        ),
    ],
)
def test_templates_fill_the_steps_without_saving(web, conn, template, expected):
    pid = web.add_patient()
    r = web.post(
        f"/patients/{pid}/regimen", {"apply_template": "1", "template": template, "start_date": "2027-01-04"}
    )
    html = text(r)
    assert r.status_code == 200
    starts = re.findall(r'name="steps-\d+-start_date"[^>]*value="([^"]*)"', html)
    doses = re.findall(r'name="steps-\d+-dose_mg"[^>]*value="([^"]*)"', html)
    assert doses[: len(expected)] == [mg for _, mg in expected]
    assert [s for s, (e, _) in zip(starts, expected) if e] == [e for e, _ in expected if e]
    assert len(starts) >= 8
    assert count(conn, "SELECT count(*) FROM regimens WHERE patient_id = ?", pid) == 0


def test_template_refusals(web):
    pid = web.add_patient()
    r = web.post(
        f"/patients/{pid}/regimen",
        {"apply_template": "1", "template": "ldn-standard", "start_date": "2027-02-30"},
    )
    assert r.status_code == 422 and field_error(text(r), "start_date")
    r = web.post(
        f"/patients/{pid}/regimen",
        {"apply_template": "1", "template": "ldn-fast", "start_date": "2027-02-01"},
    )
    assert r.status_code == 422 and field_error(text(r), "template")


def test_regimen_saves_ignoring_blank_rows_and_keeps_history(web, conn):
    pid = web.add_patient()
    data = regimen_form(
        steps=[("2027-01-04", "1.5"), ("", ""), ("2027-01-18", "3")], other="ibuprofen\n\n paracetamol "
    )
    r = web.post(f"/patients/{pid}/regimen", data)
    assert r.status_code == 303, text(r)
    steps = conn.execute(
        "SELECT start_date, dose_ug FROM regimen_steps WHERE patient_id = ? ORDER BY start_date", (pid,)
    )
    assert [tuple(s) for s in steps] == [("2027-01-04", 1500), ("2027-01-18", 3000)]
    other = conn.execute("SELECT other_medications FROM regimens WHERE patient_id = ?", (pid,)).fetchone()[0]
    assert json.loads(other) == ["ibuprofen", "paracetamol"]
    assert count(conn, "SELECT count(*) FROM regimen_history WHERE patient_id = ?", pid) == 1


@pytest.mark.parametrize(
    "data, field_id",
    [
        (regimen_form(medication=""), "medication"),
        (regimen_form(dose_time="25:00", steps=[("2027-01-04", "1")]), "dose_time"),
        (regimen_form(steps=[("2027-13-01", "1")]), "steps-0-start_date"),
        (regimen_form(steps=[("2027-01-04", "abc")]), "steps-0-dose_mg"),
        (regimen_form(steps=[("", ""), ("2027-01-04", "-1")]), "steps-1-dose_mg"),
        (regimen_form(steps=[("2027-01-04", "1.0005")]), "steps-0-dose_mg"),
        (regimen_form(steps=[("2027-01-04", "")]), "steps-0-dose_mg"),
    ],
)
def test_regimen_refusals_show_beside_the_field(web, conn, data, field_id):
    pid = web.add_patient()
    r = web.post(f"/patients/{pid}/regimen", data)
    html = text(r)
    assert r.status_code == 422 and "Please correct the fields" in html
    if field_id.startswith("steps-"):
        row = re.search(rf'name="{field_id}"[^>]*>\s*<span class="field-error">([^<]+)<', html)
        assert row, html[-3000:]
    else:
        assert field_error(html, field_id), html[-3000:]
    assert count(conn, "SELECT count(*) FROM regimens WHERE patient_id = ?", pid) == 0


def test_regimen_without_steps_or_with_repeated_dates_is_refused(web, conn):
    pid = web.add_patient()
    r = web.post(f"/patients/{pid}/regimen", regimen_form(steps=[]))
    assert r.status_code == 422 and 'role="alert"' in text(r)
    r = web.post(f"/patients/{pid}/regimen", regimen_form(steps=[("2027-01-04", "1"), ("2027-01-04", "2")]))
    assert r.status_code == 422 and "own start_date" in text(r)
    assert count(conn, "SELECT count(*) FROM regimens WHERE patient_id = ?", pid) == 0


def test_changing_a_step_that_already_began_needs_confirmation_and_is_flagged(web, conn):
    pid = web.add_patient()
    today = datetime.now(ZoneInfo(ZONE)).date()
    past = (today - timedelta(days=20)).isoformat()
    future = (today + timedelta(days=10)).isoformat()
    assert (
        web.post(f"/patients/{pid}/regimen", regimen_form(steps=[(past, "1.5"), (future, "3")])).status_code
        == 303
    )
    # Changing only the future step is an ordinary edit.
    assert (
        web.post(f"/patients/{pid}/regimen", regimen_form(steps=[(past, "1.5"), (future, "4.5")])).status_code
        == 303
    )
    r = web.post(f"/patients/{pid}/regimen", regimen_form(steps=[(past, "2"), (future, "4.5")]))
    assert r.status_code == 422 and field_error(text(r), "confirm_past")
    assert (
        count(conn, "SELECT dose_ug FROM regimen_steps WHERE patient_id = ? AND start_date = ?", pid, past)
        == 1500
    )
    data = regimen_form(steps=[(past, "2"), (future, "4.5")])
    data["confirm_past"] = "y"
    assert web.post(f"/patients/{pid}/regimen", data).status_code == 303
    flagged = [
        r[0]
        for r in conn.execute(
            "SELECT past_steps_changed FROM regimen_history WHERE patient_id = ? ORDER BY id", (pid,)
        )
    ]
    assert flagged == [0, 0, 1]
    assert "1.5 mg" in text(web.get(f"/patients/{pid}/regimen"))  # the earlier version stays listed


# -- appointments, reminders, devices --------------------------------------------------------


def test_book_list_and_delete_an_appointment_in_the_patients_zone(web, conn):
    pid = web.add_patient("Tokyo Pat", "Asia/Tokyo")
    day = (datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(days=5)).date()
    r = web.post(f"/patients/{pid}/appointments", {"starts_at": f"{day}T09:30", "note": "check"})
    assert r.status_code == 303
    stored = conn.execute("SELECT id, starts_at FROM appointments WHERE patient_id = ?", (pid,)).fetchone()
    assert stored["starts_at"].startswith(f"{day}T00:30:00")  # 09:30 in Tokyo is 00:30 UTC
    home = text(web.get(f"/patients/{pid}"))
    assert f"{day} 09:30" in home and "check" in home
    assert web.post(f"/patients/{pid}/appointments/{stored['id']}/delete").status_code == 303
    assert count(conn, "SELECT count(*) FROM appointments WHERE patient_id = ?", pid) == 0
    assert web.post(f"/patients/{pid}/appointments/{stored['id']}/delete").status_code == 404
    assert web.post(f"/patients/{pid}/appointments/99999999999999999999/delete").status_code == 404


def test_a_past_appointment_cannot_be_deleted(web, conn):
    pid = web.add_patient()
    past = (datetime.now(ZoneInfo(ZONE)) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert web.post(f"/patients/{pid}/appointments", {"starts_at": past}).status_code == 303
    aid = conn.execute("SELECT id FROM appointments WHERE patient_id = ?", (pid,)).fetchone()[0]
    assert web.post(f"/patients/{pid}/appointments/{aid}/delete").status_code == 409
    assert count(conn, "SELECT count(*) FROM appointments WHERE patient_id = ?", pid) == 1


@pytest.mark.parametrize(
    "starts_at, note, words",
    [
        ("", None, "date and time"),
        ("2027-02-30T10:00", None, "date and time"),
        ("tomorrow", None, "date and time"),
        ("2099-01-01T10:00", None, "two years ahead"),
        ("2001-01-01T10:00", None, "a year before"),
        ("2027-01-05T10:00", "x" * 501, "Longer than maximum"),
    ],
)
def test_appointment_refusals(web, conn, starts_at, note, words):
    pid = web.add_patient()
    data = {"starts_at": starts_at}
    if note:
        data["note"] = note
        data["starts_at"] = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    r = web.post(f"/patients/{pid}/appointments", data)
    html = text(r)
    assert r.status_code == 422
    assert 'href="#appointments">Appointments</a>' in html  # the alert at the top points to it
    message = field_error(html, "note" if note else "starts_at")
    assert message and words in message, html
    assert count(conn, "SELECT count(*) FROM appointments WHERE patient_id = ?", pid) == 0


def test_reminders_change_and_refusals(web, conn):
    pid = web.add_patient()
    r = web.post(
        f"/patients/{pid}/reminders/diary",
        {"diary-time": "08:15", "diary-days": ["mon", "fri"], "diary-enabled": "y"},
    )
    assert r.status_code == 303
    row = conn.execute(
        "SELECT time, days, enabled FROM reminders WHERE patient_id = ? AND kind = 'diary'", (pid,)
    ).fetchone()
    assert (row["time"], row["days"], row["enabled"]) == ("08:15", "mon,fri", 1)
    r = web.post(f"/patients/{pid}/reminders/diary", {"diary-time": "8 am", "diary-days": ["mon"]})
    assert r.status_code == 422 and field_error(text(r), "diary-time")
    r = web.post(f"/patients/{pid}/reminders/diary", {"diary-time": "09:00"})
    assert r.status_code == 422 and "diary-days-error" in text(r)
    r = web.post(f"/patients/{pid}/reminders/diary", {"diary-time": "09:00", "diary-days": ["funday"]})
    assert r.status_code == 422 and "diary-days-error" in text(r)
    r = web.post(f"/patients/{pid}/reminders/dose", {"dose-time": "22:00", "dose-days": ["mon"]})
    assert r.status_code == 422 and "Set a regimen first" in text(r)
    assert web.post(f"/patients/{pid}/reminders/weekly", {}).status_code == 404
    # Issue 12's weekly questionnaire reminder: its form saves and its refusals are named too.
    r = web.post(
        f"/patients/{pid}/reminders/questionnaire",
        {"questionnaire-time": "18:30", "questionnaire-days": ["sun"], "questionnaire-enabled": "y"},
    )
    assert r.status_code == 303
    r = web.post(f"/patients/{pid}/reminders/questionnaire", {"questionnaire-time": "25:00"})
    assert r.status_code == 422 and field_error(text(r), "questionnaire-time")
    assert 'href="#reminders">Reminders</a>' in text(r)
    row = conn.execute(
        "SELECT time, days FROM reminders WHERE patient_id = ? AND kind = 'questionnaire'", (pid,)
    ).fetchone()
    assert (row["time"], row["days"]) == ("18:30", "sun")
    row = conn.execute(
        "SELECT time FROM reminders WHERE patient_id = ? AND kind = 'diary'", (pid,)
    ).fetchone()
    assert row["time"] == "08:15"


def test_revoking_a_device_ends_its_token(web, conn, client):
    pid = web.add_patient()
    code = re.search(
        r'id="enrollment-code">([^<]+)<', text(web.post(f"/patients/{pid}/enrollment-code"))
    ).group(1)
    token = client.post("/api/v1/enroll", json={"code": code, "device_name": "lost phone"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    home = text(web.get(f"/patients/{pid}"))
    assert "lost phone" in home
    device = conn.execute("SELECT id FROM tokens WHERE patient_id = ?", (pid,)).fetchone()[0]
    assert web.post(f"/patients/{pid}/devices/{device}/revoke").status_code == 303
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert web.post(f"/patients/{pid}/devices/{device + 1000}/revoke").status_code == 404
    clinician_token = conn.execute("SELECT id FROM tokens WHERE kind = 'clinician' LIMIT 1").fetchone()[0]
    assert web.post(f"/patients/{pid}/devices/{clinician_token}/revoke").status_code == 404


# -- exports and erasure ---------------------------------------------------------------------------


def test_exports_from_the_session(web, conn):
    pid = web.add_patient()
    r = web.get(f"/patients/{pid}/export.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv" and text(r).startswith("date,")
    r = web.get(f"/patients/{pid}/fhir.json")
    assert (
        r.status_code == 200 and r.mimetype == "application/fhir+json" and r.json["resourceType"] == "Bundle"
    )
    web.post(f"/patients/{pid}/regimen", regimen_form(steps=[("2027-01-04", "1.5")]))
    r = web.get(f"/patients/{pid}/export.json")
    assert r.status_code == 200 and r.json["patient"]["id"] == pid
    api = web.client.get(f"/api/v1/patients/{pid}/export", headers=web.clinic["headers"]).json
    assert r.json["regimen"] == api["regimen"] and r.json["regimen"]["steps"][0]["dose_mg"] == 1.5
    assert r.json["regimen_history"][0]["regimen"]["steps"] == [{"start_date": "2027-01-04", "dose_mg": 1.5}]
    assert sorted(r.json) == sorted(api)
    for bad in ("from=2027-02-30", "from=2027-03-01&to=2027-01-01", "to=1999-01-01", "form=2027-01-01"):
        assert web.get(f"/patients/{pid}/export.csv?{bad}").status_code == 422, bad


def test_erase_needs_the_display_name(web, conn):
    pid = web.add_patient("Erin Erase")
    r = web.post(f"/patients/{pid}/erase", {"confirm": "erin erase"})
    assert r.status_code == 422 and field_error(text(r), "confirm")
    assert count(conn, "SELECT count(*) FROM patients WHERE id = ?", pid) == 1
    assert web.post(f"/patients/{pid}/erase", {}).status_code == 422
    r = web.post(f"/patients/{pid}/erase", {"confirm": "Erin Erase"})
    assert r.status_code == 303 and r.headers["Location"] == "/patients"
    assert "was erased" in text(web.get("/patients"))
    assert count(conn, "SELECT count(*) FROM patients WHERE id = ?", pid) == 0
    assert count(conn, "SELECT count(*) FROM patient_summaries WHERE patient_id = ?", pid) == 0
    assert "erase_patient" in audit_actions(conn, pid)
    assert web.get(f"/patients/{pid}").status_code == 404


# -- idle timeout --------------------------------------------------------------------------------


def test_a_form_posted_after_the_session_died_returns_to_its_get_page_after_login(web, conn):
    pid = web.add_patient()
    conn.execute("UPDATE tokens SET last_used_at = '2000-01-01T00:00:00+00:00' WHERE kind = 'clinician'")
    for url, page in (
        (f"/patients/{pid}/appointments", f"/patients/{pid}"),
        (f"/patients/{pid}/regimen", f"/patients/{pid}/regimen"),
        (f"/patients/{pid}/devices/3/revoke", f"/patients/{pid}"),
        ("/patients/new", "/patients/new"),
    ):
        r = web.post(url, {"starts_at": "2027-01-01T10:00"})
        assert r.status_code == 303, url
        assert r.headers["Location"].endswith("/login?next=" + page), r.headers["Location"]
    r = web.get(f"/patients/{pid}/regimen?x=1")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"next=/patients/{pid}/regimen?x%3D1")
    login_page = text(web.get(f"/login?next=/patients/{pid}"))
    token = csrf_of(login_page)
    from tests.conftest import PASSWORD

    r = web.client.post(
        f"/login?next=/patients/{pid}",
        data={"csrf_token": token, "email": web.clinic["email"], "password": PASSWORD},
    )
    assert r.status_code == 303 and r.headers["Location"] == f"/patients/{pid}"
    assert web.get(r.headers["Location"]).status_code == 200


def test_every_patient_page_goes_through_the_one_decorator(app):
    """Like the API (tests/test_shape.py): the clinic check and the audit of reads live in access.clinic_patient."""
    from diary.web import patient_pages

    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/patients/<patient_id>")]
    mine = [r for r in rules if app.view_functions[r.endpoint].__module__ == patient_pages.__name__]
    assert len(mine) >= 14
    for rule in mine:
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, "clinic_patient_action"), rule.rule
        if "GET" in rule.methods:
            assert view.clinic_patient_action, f"GET {rule.rule} is not audited"


def test_next_appointment_is_shown_in_the_patients_zone(web):
    pid = web.add_patient("Zone Pat", "Asia/Tokyo")
    day = (datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(days=4)).date()
    assert web.post(f"/patients/{pid}/appointments", {"starts_at": f"{day}T09:30"}).status_code == 303
    assert f"{day} 09:30" in text(web.get("/patients?q=Zone"))


def listed_names(web, query):
    return re.findall(r'<td><a href="/patients/[^"]+">([^<]+)</a>', text(web.get(f"/patients?{query}")))


def test_sorts_by_flags_last_entry_next_appointment_and_name(web, client, clinic):
    from tests.conftest import make_patient, recorded

    a = make_patient(client, clinic, name="Amy Opioid")
    b = make_patient(client, clinic, name="Ben Recent")
    c = make_patient(client, clinic, name="Cal Soon")
    today = datetime.now(ZoneInfo(ZONE)).date()
    # Amy: an opioid beside naltrexone (a safety flag); Ben: the latest diary entry; Cal: the nearest visit.
    steps = [((today - timedelta(days=10)).isoformat(), "1.5")]
    r = web.post(f"/patients/{a['id']}/regimen", regimen_form(steps=steps, other="oxycodone 5 mg"))
    assert r.status_code == 303
    for patient, day in ((a, today - timedelta(days=5)), (b, today), (c, today - timedelta(days=2))):
        r = client.put(
            f"/api/v1/me/entries/{day.isoformat()}",
            json={"pain": 3, "recorded_at": recorded()},
            headers=patient["headers"],
        )
        assert r.status_code == 201
    for patient, days in ((c, 2), (b, 9)):
        when = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")
        assert web.post(f"/patients/{patient['id']}/appointments", {"starts_at": when}).status_code == 303
    assert listed_names(web, "sort=flags")[0] == "Amy Opioid"
    assert "flag-safety" in text(web.get("/patients?sort=flags")).split("Ben Recent")[0]
    assert listed_names(web, "sort=last_entry") == ["Ben Recent", "Cal Soon", "Amy Opioid"]
    assert listed_names(web, "sort=next_appointment") == ["Cal Soon", "Ben Recent", "Amy Opioid"]
    assert listed_names(web, "sort=name") == ["Amy Opioid", "Ben Recent", "Cal Soon"]


def test_home_shows_the_latest_scored_peg_and_pgic(web, conn):
    pid = web.add_patient("Pat Weekly", ZONE, "")
    page = text(web.get(f"/patients/{pid}"))
    assert "Latest PEG (0-10, lower is better): none yet." in page and "Latest PGIC: none yet." in page
    from diary import records
    from diary.db import write

    at = utcnow()
    answers = [
        ("peg", "2026-11-01", {"peg_pain": 8, "peg_enjoyment": 7, "peg_activity": 9}),
        ("peg", "2026-11-08", {"peg_pain": 5, "peg_enjoyment": 4, "peg_activity": 6}),
        ("peg", "2026-11-15", {"peg_pain": 3}),  # incomplete: no score, so not the latest shown
        ("pgic", "2026-11-08", {"pgic": 5}),
        ("pgic", "2026-11-15", {"pgic": 2}),
    ]
    with write(conn):
        records.upsert_responses(
            conn, pid, [(i, d, {"answers": a, "recorded_at": at}) for i, d, a in answers], at, 1
        )
    page = " ".join(text(web.get(f"/patients/{pid}")).split())
    assert "Latest PEG (0-10, lower is better): <strong>5</strong> on 2026-11-08." in page
    assert "Latest PGIC: <strong>much improved</strong> (2) on 2026-11-15." in page
