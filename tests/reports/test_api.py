"""Report API: periods, appointments, snapshots (immutable, also from the scheduler), /me/report."""

import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest

from diary import db as dbmod
from diary.clock import local_date, utcnow
from diary.reports.snapshots import snapshot_upcoming_appointments
from tests.conftest import make_clinic, make_patient


def test_report_default_period_starts_14_days_before_the_first_step(demo_client):
    client, creds, headers = demo_client
    r = client.get(f"/api/v1/patients/{creds['patient_id']}/report", headers=headers)
    assert r.status_code == 200
    today = local_date(utcnow(), "Europe/London")
    steps = r.json["regimen"]["steps"]
    first = date.fromisoformat(steps[0]["start_date"])
    assert r.json["period"]["from"] == (first - timedelta(days=14)).isoformat()
    assert r.json["period"]["to"] == today.isoformat()
    assert r.json["baseline_comparison"]["baseline"]["source"] == "pre_treatment"
    assert r.json["patient"]["id"] == creds["patient_id"]


def test_report_period_starts_at_last_appointment(demo_client):
    client, creds, headers = demo_client
    url = f"/api/v1/patients/{creds['patient_id']}"
    last_visit = utcnow() - timedelta(days=20)
    for when in (utcnow() - timedelta(days=50), last_visit, utcnow() + timedelta(days=5)):
        r = client.post(
            url + "/appointments", json={"starts_at": when.isoformat(), "note": "review"}, headers=headers
        )
        assert r.status_code == 201, r.json
    r = client.get(url + "/report", headers=headers)
    assert r.json["period"]["from"] == local_date(last_visit, "Europe/London").isoformat()
    listed = client.get(url + "/appointments", headers=headers).json["appointments"]
    assert len(listed) == 3 and listed[0]["note"] == "review"


@pytest.mark.parametrize(
    "query, field",
    [
        ("from=2026-09-10&to=2026-09-01", "to"),
        ("from=2026-13-01", "from"),
        ("from=1999-01-01&to=2026-01-01", "from"),
    ],
)
def test_bad_period_is_422_naming_the_field(demo_client, query, field):
    client, creds, headers = demo_client
    r = client.get(f"/api/v1/patients/{creds['patient_id']}/report?{query}", headers=headers)
    assert r.status_code == 422
    assert field in r.json["errors"]["query"]


def test_naive_appointment_time_is_refused(demo_client):
    client, creds, headers = demo_client
    r = client.post(
        f"/api/v1/patients/{creds['patient_id']}/appointments",
        json={"starts_at": "2026-12-01T09:00:00"},
        headers=headers,
    )
    assert r.status_code == 422
    assert "starts_at" in r.json["errors"]["json"]


def test_other_clinics_patient_does_not_exist(demo_client, demo_db):
    client, creds, _ = demo_client
    conn = dbmod.connect(demo_db[0])
    other = make_clinic(conn, "Other Clinic")
    conn.close()
    for url in ("/report", "/export.csv", "/fhir", "/appointments", "/reports", "/audit"):
        r = client.get(f"/api/v1/patients/{creds['patient_id']}{url}", headers=other["headers"])
        assert r.status_code == 404, url


def test_snapshot_is_stored_as_seen_and_cannot_change(demo_client, demo_db):
    client, creds, headers = demo_client
    url = f"/api/v1/patients/{creds['patient_id']}"
    r = client.post(url + "/reports", json={"from": "2026-09-01", "to": "2026-09-30"}, headers=headers)
    assert r.status_code == 201
    sid = r.json["id"]
    live = client.get(url + "/report?from=2026-09-01&to=2026-09-30", headers=headers).json
    stored = client.get(url + f"/reports/{sid}", headers=headers).json
    assert stored["report"] == live
    assert (stored["period_from"], stored["period_to"]) == ("2026-09-01", "2026-09-30")
    assert [s["id"] for s in client.get(url + "/reports", headers=headers).json["snapshots"]] == [sid]
    conn = dbmod.connect(demo_db[0])
    try:
        with pytest.raises(sqlite3.IntegrityError, match="immutable"):
            conn.execute("UPDATE report_snapshots SET report = '{}'")
    finally:
        conn.close()
    assert client.get(url + "/reports/not-a-snapshot", headers=headers).status_code == 404
    r = client.post(url + "/reports", json={"appointment_id": 999}, headers=headers)
    assert r.status_code == 422


def test_scheduler_snapshots_appointments_in_the_next_24_hours_once(demo_client, demo_db):
    client, creds, headers = demo_client
    url = f"/api/v1/patients/{creds['patient_id']}/appointments"
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    ids = {}
    for label, delta in (
        ("soon", timedelta(hours=20)),
        ("later", timedelta(hours=30)),
        ("past", timedelta(hours=-2)),
    ):
        r = client.post(url, json={"starts_at": (now + delta).isoformat()}, headers=headers)
        ids[label] = r.json["id"]
    conn = dbmod.connect(demo_db[0])
    try:
        made = snapshot_upcoming_appointments(conn, now, {"REPORT_LAG_DAYS": 3})
        assert len(made) == 1
        assert snapshot_upcoming_appointments(conn, now, {"REPORT_LAG_DAYS": 3}) == []
        rows = {r["id"]: r["snapshot_id"] for r in conn.execute("SELECT id, snapshot_id FROM appointments")}
        assert rows[ids["soon"]] == made[0]
        assert rows[ids["later"]] is None and rows[ids["past"]] is None
        snap = conn.execute("SELECT appointment_id, period_to, created_by FROM report_snapshots").fetchone()
        assert (snap["appointment_id"], snap["created_by"]) == (ids["soon"], None)
        assert snap["period_to"] == "2026-11-28"  # the visit is tomorrow; data ends today
    finally:
        conn.close()


def test_patient_gets_own_summary_without_flags_or_daily_series(app, client, conn):
    clinic = make_clinic(conn)
    patient = make_patient(client, clinic)
    today = local_date(utcnow(), "Europe/London")
    for n in range(5):
        day = (today - timedelta(days=n)).isoformat()
        r = client.put(
            f"/api/v1/me/entries/{day}",
            json={"pain": 5, "recorded_at": utcnow().isoformat()},
            headers=patient["headers"],
        )
        assert r.status_code in (200, 201), r.json
    r = client.get("/api/v1/me/report", headers=patient["headers"])
    assert r.status_code == 200
    assert "flags" not in r.json and "patient" not in r.json
    assert r.json["measures"]["pain"]["n"] == 5
    assert "daily" not in r.json["measures"]["pain"]
    # A new patient: the period starts with their record (5 days, none missing), and two
    # windows of the same days are not compared.
    assert r.json["period"] == {
        "from": (today - timedelta(days=4)).isoformat(),
        "to": today.isoformat(),
        "days": 5,
    }
    assert r.json["completeness"]["fraction"] == 1.0
    comparison = r.json["baseline_comparison"]
    assert (comparison["comparable"], comparison["reason"]) == (False, "windows_overlap")
    assert comparison["measures"]["pain"]["classification"] == "insufficient_data"
    assert set(r.json["doses"]["adherence"]) >= {"on_plan_days", "unrecorded_days", "recorded_fraction"}
    # The clinician sees the same period, and a period ending before the record began is refused.
    doctor = f"/api/v1/patients/{patient['id']}/report"
    assert client.get(doctor, headers=clinic["headers"]).json["period"]["days"] == 5
    early = (today - timedelta(days=30)).isoformat()
    r = client.get(f"{doctor}?to={early}", headers=clinic["headers"])
    assert r.status_code == 422
    assert r.json["errors"]["query"]["to"] == [
        f"The patient's record begins on {(today - timedelta(days=4)).isoformat()}."
    ]
    assert client.get("/api/v1/me/report", headers=clinic["headers"]).status_code == 401
    # The patient's token is no clinician token.
    assert (
        client.get(f"/api/v1/patients/{patient['id']}/report", headers=patient["headers"]).status_code == 401
    )


def test_openapi_documents_the_report_routes(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in (
        "/api/v1/patients/{patient_id}/report",
        "/api/v1/patients/{patient_id}/fhir",
        "/api/v1/patients/{patient_id}/export.csv",
        "/api/v1/me/report",
        "/api/v1/patients/{patient_id}/reports/{snapshot_id}",
        "/api/v1/patients/{patient_id}/audit",
    ):
        assert path in spec["paths"], path


def test_csv_and_fhir_follow_the_same_default_period(demo_client):
    client, creds, headers = demo_client
    url = f"/api/v1/patients/{creds['patient_id']}"
    period = client.get(url + "/report", headers=headers).json["period"]
    rows = client.get(url + "/export.csv", headers=headers).get_data(as_text=True).splitlines()
    assert rows[1].split(",")[0] == period["from"] and rows[-1].split(",")[0] == period["to"]
    assert len(rows) - 1 == period["days"]
    bundle = client.get(url + "/fhir", headers=headers).get_data(as_text=True)
    # The demo diary begins on the period's first day (14 days before the first step).
    assert f'"{period["from"]}T00:00:00' in bundle
