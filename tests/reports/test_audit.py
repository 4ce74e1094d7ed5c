"""Every clinician read of patient data appends exactly one audit row; rows never change."""

import json
import sqlite3

import pytest
from click.testing import CliRunner

from diary import db as dbmod
from diary.cli import main
from tests.conftest import csrf_of


def audit_rows(path, patient_id=None):
    conn = dbmod.connect(path)
    try:
        rows = conn.execute("SELECT * FROM audit_log ORDER BY id").fetchall()
        return [dict(r) for r in rows if patient_id is None or r["patient_id"] == patient_id]
    finally:
        conn.close()


def count(path):
    conn = dbmod.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def setup(demo_db, demo_client):
    path, _ = demo_db
    client, creds, headers = demo_client
    pid = creds["patient_id"]
    r = client.post(f"/api/v1/patients/{pid}/reports", json={}, headers=headers)
    assert r.status_code == 201
    return path, client, creds, headers, pid, r.json["id"]


API_READS = [
    ("report", "/api/v1/patients/{pid}/report"),
    ("export_csv", "/api/v1/patients/{pid}/export.csv"),
    ("export_fhir", "/api/v1/patients/{pid}/fhir"),
    ("list_appointments", "/api/v1/patients/{pid}/appointments"),
    ("list_snapshots", "/api/v1/patients/{pid}/reports"),
    ("get_snapshot", "/api/v1/patients/{pid}/reports/{sid}"),
    ("list_audit", "/api/v1/patients/{pid}/audit"),
]


@pytest.mark.parametrize("action, url", API_READS)
def test_each_api_read_writes_exactly_one_row(setup, action, url):
    path, client, creds, headers, pid, sid = setup
    before = count(path)
    r = client.get(url.format(pid=pid, sid=sid), headers=headers, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert r.status_code == 200
    rows = audit_rows(path)
    assert len(rows) == before + 1
    row = rows[-1]
    assert (row["actor_kind"], row["action"], row["patient_id"], row["remote_addr"]) == (
        "clinician",
        action,
        pid,
        "10.1.2.3",
    )
    assert row["at"].endswith("+00:00")


def test_snapshot_creation_writes_one_row(setup):
    path, client, creds, headers, pid, _ = setup
    before = count(path)
    assert client.post(f"/api/v1/patients/{pid}/reports", json={}, headers=headers).status_code == 201
    rows = audit_rows(path)
    assert len(rows) == before + 1 and rows[-1]["action"] == "create_snapshot"


def login_web(client, creds):
    page = client.get("/login").get_data(as_text=True)
    token = csrf_of(page)
    r = client.post(
        "/login", data={"csrf_token": token, "email": creds["email"], "password": creds["password"]}
    )
    assert r.status_code == 303


@pytest.mark.parametrize(
    "action, url",
    [
        ("report_page", "/patients/{pid}/report"),
        ("snapshot_page", "/patients/{pid}/snapshots/{sid}"),
        ("snapshots_page", "/patients/{pid}/snapshots"),
        ("snapshot_compare_page", "/patients/{pid}/snapshots/{sid}/compare"),
        ("audit_page", "/patients/{pid}/audit"),
        ("report_print_header", "/patients/{pid}/report-print.css"),
    ],
)
def test_each_page_read_writes_exactly_one_row(setup, action, url):
    path, client, creds, headers, pid, sid = setup
    login_web(client, creds)
    before = count(path)
    assert client.get(url.format(pid=pid, sid=sid)).status_code == 200
    rows = audit_rows(path)
    assert len(rows) == before + 1
    assert (rows[-1]["action"], rows[-1]["patient_id"]) == (action, pid)


def test_refused_reads_write_nothing(setup):
    path, demo, creds, headers, pid, _ = setup
    before = count(path)
    assert demo.get(f"/api/v1/patients/{pid}/report").status_code == 401
    assert demo.get("/api/v1/patients/no-such-patient/report", headers=headers).status_code == 404
    assert demo.get(f"/patients/{pid}/report").status_code == 302  # not logged in on the web
    assert count(path) == before


def test_audit_rows_cannot_be_updated_or_deleted(setup):
    path, *_ = setup
    conn = dbmod.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE audit_log SET action = 'nothing'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit_log")
        assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'nothing'").fetchone()[0] == 0
    finally:
        conn.close()
    assert count(path) >= 1


def test_audit_cli_prints_the_patients_trail(setup, monkeypatch):
    path, client, creds, headers, pid, _ = setup
    client.get(f"/api/v1/patients/{pid}/report", headers=headers)
    monkeypatch.setenv("DIARY_DATABASE", path)
    result = CliRunner().invoke(main, ["audit", "--patient", pid])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [row["action"] for row in lines] == [row["action"] for row in audit_rows(path, pid)]
    assert lines[-1]["action"] == "report"
