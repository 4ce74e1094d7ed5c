"""Appointments: within one year before the patient was created and two years ahead; deletable;
an old appointment never breaks the patient list, the default report or a snapshot."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from diary import db as dbmod
from diary import records
from diary.clock import local_date, to_utc_text, utcnow
from diary.reports.fetch import check_period, record_dates, resolve_period
from diary.reports.snapshots import snapshot_upcoming_appointments
from diary.schemas.reports import MAX_PERIOD_DAYS
from tests.conftest import csrf_of, make_clinic

ZONE = "Europe/London"


def _created_at(db_path, pid):
    conn = dbmod.connect(db_path)
    try:
        text = conn.execute("SELECT created_at FROM patients WHERE id = ?", (pid,)).fetchone()[0]
    finally:
        conn.close()
    return datetime.fromisoformat(text)


def _insert_appointment(db_path, pid, starts_at):
    """An appointment the API would refuse today (an upgraded database, an import)."""
    conn = dbmod.connect(db_path)
    try:
        with dbmod.write(conn):
            return conn.execute(
                "INSERT INTO appointments (patient_id, starts_at, created_at) VALUES (?, ?, ?)",
                (pid, to_utc_text(starts_at), to_utc_text(utcnow())),
            ).lastrowid
    finally:
        conn.close()


def _backfill_entry(db_path, pid, day):
    """A paper diary entered at enrollment: the patient's record begins on ``day``."""
    conn = dbmod.connect(db_path)
    try:
        with dbmod.write(conn):
            records.upsert_entry(
                conn,
                pid,
                day.isoformat(),
                {"pain": 5, "recorded_at": utcnow()},
                utcnow(),
                dbmod.next_seq(conn),
            )
    finally:
        conn.close()


def _count(db_path, table):
    conn = dbmod.connect(db_path)
    try:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize(
    "offset",
    [
        "created - 1 year - 1 minute",
        "now + 2 years + 1 minute",
        "year 1900",
    ],
)
def test_an_appointment_outside_the_window_is_422_naming_starts_at(demo_client, demo_db, offset):
    client, creds, headers = demo_client
    created = _created_at(demo_db[0], creds["patient_id"])
    when = {
        "created - 1 year - 1 minute": created - timedelta(days=365, minutes=1),
        "now + 2 years + 1 minute": utcnow() + timedelta(days=730, minutes=1),
        "year 1900": datetime(1900, 1, 1, 9, tzinfo=UTC),
    }[offset]
    before = _count(demo_db[0], "appointments")
    r = client.post(
        f"/api/v1/patients/{creds['patient_id']}/appointments",
        json={"starts_at": when.isoformat()},
        headers=headers,
    )
    assert r.status_code == 422, r.json
    assert set(r.json) == {"code", "status", "message", "errors"}
    assert "starts_at" in r.json["errors"]["json"]
    assert _count(demo_db[0], "appointments") == before


def test_appointments_just_inside_the_window_are_accepted(demo_client, demo_db):
    client, creds, headers = demo_client
    created = _created_at(demo_db[0], creds["patient_id"])
    for when in (created - timedelta(days=364), utcnow() + timedelta(days=729)):
        r = client.post(
            f"/api/v1/patients/{creds['patient_id']}/appointments",
            json={"starts_at": when.isoformat()},
            headers=headers,
        )
        assert r.status_code == 201, r.json


def test_an_ancient_appointment_does_not_break_the_list_or_the_default_report(demo_client, demo_db):
    client, creds, headers = demo_client
    pid = creds["patient_id"]
    url = f"/api/v1/patients/{pid}/report"
    today = local_date(utcnow(), ZONE)
    _insert_appointment(demo_db[0], pid, utcnow() - timedelta(days=3700))
    # The demo patient's record began months ago: the period starts with it, not 3,660 days back.
    conn = dbmod.connect(demo_db[0])
    try:
        patient = dict(conn.execute("SELECT * FROM patients WHERE id = ?", (pid,)).fetchone())
        record_start, _ = record_dates(conn, patient)
    finally:
        conn.close()
    assert today - timedelta(days=365) < record_start < today
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.json
    assert r.json["period"]["from"] == record_start.isoformat()
    # A diary backfilled from twelve years back: the limit of 3,660 days holds the period.
    _backfill_entry(demo_db[0], pid, today - timedelta(days=4400))
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.json
    assert r.json["period"] == {
        "from": (today - timedelta(days=MAX_PERIOD_DAYS - 1)).isoformat(),
        "to": today.isoformat(),
        "days": MAX_PERIOD_DAYS,
    }
    assert client.get(f"/api/v1/patients/{pid}/export.csv", headers=headers).status_code == 200

    web = client.application.test_client()
    page = web.get("/login").get_data(as_text=True)
    csrf = csrf_of(page)
    r = web.post("/login", data={"email": creds["email"], "password": creds["password"], "csrf_token": csrf})
    assert r.status_code == 303
    assert web.get("/patients").status_code == 200
    assert web.get(f"/patients/{pid}/report").status_code == 200


def test_a_snapshot_before_a_visit_after_an_ancient_one_obeys_the_period_limit(demo_client, demo_db):
    _, creds, _ = demo_client
    pid = creds["patient_id"]
    now = utcnow()
    _insert_appointment(demo_db[0], pid, datetime(1900, 1, 1, 9, tzinfo=UTC))
    _insert_appointment(demo_db[0], pid, now + timedelta(hours=20))
    # A record that reaches back further than the limit (a backfilled paper diary).
    _backfill_entry(demo_db[0], pid, local_date(now, ZONE) - timedelta(days=4400))
    conn = dbmod.connect(demo_db[0])
    try:
        made = snapshot_upcoming_appointments(conn, now, {"REPORT_LAG_DAYS": 3})
        assert len(made) == 1
        row = conn.execute(
            "SELECT period_from, period_to, length(report) AS size FROM report_snapshots"
        ).fetchone()
    finally:
        conn.close()
    days = (datetime.fromisoformat(row["period_to"]) - datetime.fromisoformat(row["period_from"])).days + 1
    assert days == MAX_PERIOD_DAYS
    assert row["size"] < 3_000_000  # 1900 to today was 13.6 MB


def test_an_appointment_can_be_deleted_and_the_deletion_is_audited(demo_client, demo_db):
    client, creds, headers = demo_client
    url = f"/api/v1/patients/{creds['patient_id']}/appointments"
    keep = client.post(url, json={"starts_at": (utcnow() + timedelta(days=7)).isoformat()}, headers=headers)
    gone = client.post(url, json={"starts_at": (utcnow() + timedelta(days=9)).isoformat()}, headers=headers)

    r = client.delete(f"{url}/{gone.json['id']}", headers=headers)

    assert r.status_code == 204 and r.get_data() == b""
    assert [a["id"] for a in client.get(url, headers=headers).json["appointments"]] == [keep.json["id"]]
    actions = [
        a["action"]
        for a in client.get(f"/api/v1/patients/{creds['patient_id']}/audit", headers=headers).json["audit"]
    ]
    assert "delete_appointment" in actions
    assert client.delete(f"{url}/{gone.json['id']}", headers=headers).status_code == 404


def test_deleting_an_appointment_keeps_its_snapshot(demo_client, demo_db):
    client, creds, headers = demo_client
    pid = creds["patient_id"]
    now = utcnow()
    r = client.post(
        f"/api/v1/patients/{pid}/appointments",
        json={"starts_at": (now + timedelta(hours=20)).isoformat()},
        headers=headers,
    )
    appointment_id = r.json["id"]
    conn = dbmod.connect(demo_db[0])
    try:
        [snapshot_id] = snapshot_upcoming_appointments(conn, now, {"REPORT_LAG_DAYS": 3})
        before = dict(conn.execute("SELECT * FROM report_snapshots WHERE id = ?", (snapshot_id,)).fetchone())
    finally:
        conn.close()

    assert (
        client.delete(f"/api/v1/patients/{pid}/appointments/{appointment_id}", headers=headers).status_code
        == 204
    )

    stored = client.get(f"/api/v1/patients/{pid}/reports/{snapshot_id}", headers=headers).json
    assert stored["appointment_id"] is None
    assert json.loads(before["report"])["report"] == stored["report"]
    conn = dbmod.connect(demo_db[0])
    try:
        # Still immutable in every other respect.
        with pytest.raises(Exception, match="immutable"):
            conn.execute("UPDATE report_snapshots SET report = '{}' WHERE id = ?", (snapshot_id,))
        with pytest.raises(Exception, match="immutable"):
            conn.execute("UPDATE report_snapshots SET appointment_id = 1 WHERE id = ?", (snapshot_id,))
    finally:
        conn.close()


def test_another_clinics_or_patients_appointment_is_404(demo_client, demo_db):
    client, creds, headers = demo_client
    pid = creds["patient_id"]
    r = client.post(
        f"/api/v1/patients/{pid}/appointments",
        json={"starts_at": (utcnow() + timedelta(days=3)).isoformat()},
        headers=headers,
    )
    appointment_id = r.json["id"]
    conn = dbmod.connect(demo_db[0])
    other = make_clinic(conn, "Other Clinic")
    conn.close()
    r = client.post("/api/v1/patients", json={"display_name": "Sam", "timezone": ZONE}, headers=headers)
    sibling = r.json["id"]

    for url, h in (
        (f"/api/v1/patients/{pid}/appointments/{appointment_id}", other["headers"]),
        (f"/api/v1/patients/{sibling}/appointments/{appointment_id}", headers),
        (f"/api/v1/patients/{pid}/appointments/999999", headers),
        (f"/api/v1/patients/{pid}/appointments/{2**63}", headers),
    ):
        r = client.delete(url, headers=h)
        assert r.status_code == 404, url
        assert r.json["code"] == 404
    assert _count(demo_db[0], "appointments") == 1


def test_the_delete_operation_is_documented(demo_client):
    client, _, _ = demo_client
    spec = client.get("/api/v1/openapi.json").json
    op = spec["paths"]["/api/v1/patients/{patient_id}/appointments/{appointment_id}"]["delete"]
    assert op["operationId"] == "deletePatientAppointment"
    assert "204" in op["responses"]


@pytest.mark.parametrize("days_back", [40_000, 3661, 3659, 0, -1, -700])
def test_the_default_period_is_a_valid_period_whatever_the_appointments(demo_db, days_back):
    path, creds = demo_db
    pid = creds["patient_id"]
    now = utcnow()
    _insert_appointment(path, pid, now - timedelta(days=days_back))
    conn = dbmod.connect(path)
    try:
        patient = dict(conn.execute("SELECT * FROM patients WHERE id = ?", (pid,)).fetchone())
        start, end = resolve_period(conn, patient, None, None, now)
    finally:
        conn.close()
    check_period(start, end)  # raises when it is not a report period
    assert end == local_date(now, ZONE)
