"""Data rights: a patient (or their clinician) exports everything, or erases it leaving only audit rows."""

import threading
import uuid
from datetime import timedelta

import pytest

from diary import db as dbmod
from diary.clock import parse_utc_text
from diary.reminders.tick import tick
from tests.conftest import bearer, make_clinic, make_patient, recorded, today_in
from tests.reminders.receiver import Receiver

API = "/api/v1"
MARK = "Zq8erase"  # every string of the victim contains it; nothing else does
CONFIRM = {"confirm": "DELETE"}


def _every_value(conn):
    """Yield (table, column, text) of every value in every table, cast to text."""
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]
        for row in conn.execute(f"SELECT * FROM {table}"):
            for column, value in zip(columns, row):
                if value is not None:
                    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    yield table, column, text


def traces(conn, patient_id):
    """Every place the patient's id or a marker still appears, the audit log's id columns excepted."""
    found = []
    for table, column, text in _every_value(conn):
        for needle in (patient_id, MARK):
            if needle in text and not (
                table == "audit_log" and column in ("patient_id", "actor_id") and needle == patient_id
            ):
                found.append((table, column, needle))
    return found


def rows_of(conn, patient_id):
    """Every row that names a patient (by id), table by table, the audit log excepted."""
    out = {}
    for table, _column, text in _every_value(conn):
        if patient_id in text and table != "audit_log":
            out.setdefault(table, 0)
            out[table] += 1
    return out


def file_bytes(db_path):
    """The database file and its WAL, as bytes (what a disk image would show)."""
    data = b""
    for suffix in ("", "-wal"):
        try:
            with open(db_path + suffix, "rb") as f:
                data += f.read()
        except FileNotFoundError:
            pass
    return data


@pytest.fixture
def world(client, conn):
    """A victim with a row in every patient table, and a bystander in the same clinic."""
    clinic = make_clinic(conn, "Rights Clinic")
    h = clinic["headers"]
    r = client.post(
        f"{API}/patients",
        headers=h,
        json={"display_name": f"Victim {MARK}", "timezone": "Europe/London", "external_ref": f"MRN-{MARK}"},
    )
    assert r.status_code == 201
    pid = r.json["id"]
    phone = client.post(
        f"{API}/enroll", json={"code": r.json["enrollment_code"], "device_name": f"{MARK}-phone"}
    )
    vh = bearer(phone.json["token"])
    # A fresh, unused enrollment code stays in enrollment_codes.
    assert client.post(f"{API}/patients/{pid}/enrollment-code", headers=h).status_code == 201
    assert (
        client.put(
            f"{API}/patients/{pid}/regimen",
            headers=h,
            json={
                "medication": f"naltrexone-{MARK}",
                "dose_time": "22:00",
                "steps": [
                    {
                        "start_date": (today_in("Europe/London") - timedelta(days=20)).isoformat(),
                        "dose_mg": 1.5,
                    }
                ],
                "other_medications": [f"med-{MARK}"],
            },
        ).status_code
        == 200
    )
    days = [(today_in("Europe/London") - timedelta(days=i + 1)).isoformat() for i in range(4)]
    for i, day in enumerate(days):
        assert (
            client.put(
                f"{API}/me/entries/{day}",
                headers=vh,
                json={
                    "pain": 6 - i,
                    "sleep_hours": 7.37,
                    "notes": f"notes-{MARK}-{i}",
                    "side_effects": [
                        {"name": "vivid_dreams", "severity": "mild"},
                        {"name": "other", "severity": "moderate", "note": f"effect-{MARK}"},
                    ],
                    "recorded_at": recorded(30),
                },
            ).status_code
            == 201
        )
    # A tombstone: deleted entry and dose (their notes must not linger either).
    assert client.delete(f"{API}/me/entries/{days[3]}", headers=vh).status_code == 204
    r = client.put(
        f"{API}/me/questionnaires/pgic/{days[0]}",
        headers=vh,
        json={"answers": {"pgic": 2}, "recorded_at": recorded()},
    )
    assert r.status_code == 201, r.json
    dose_id, gone_dose = str(uuid.uuid4()), str(uuid.uuid4())
    for ident in (dose_id, gone_dose):
        assert (
            client.put(
                f"{API}/me/doses/{ident}",
                headers=vh,
                json={
                    "medication": f"naltrexone-{MARK}",
                    "amount_mg": 1.5,
                    "taken_at": recorded(60 * 24),
                    "status": "taken",
                    "note": f"dose-{MARK}",
                },
            ).status_code
            == 201
        )
    assert client.delete(f"{API}/me/doses/{gone_dose}", headers=vh).status_code == 204
    assert client.put(f"{API}/me/reminder-settings", headers=vh, json={"detail": True}).status_code == 200
    assert (
        client.put(
            f"{API}/me/push", headers=vh, json={"platform": "ios", "token": f"push-{MARK}"}
        ).status_code
        == 204
    )
    assert (
        client.post(
            f"{API}/patients/{pid}/appointments",
            headers=h,
            json={"starts_at": "2026-06-01T09:00:00+01:00", "note": f"appt-{MARK}"},
        ).status_code
        == 201
    )
    assert client.post(f"{API}/patients/{pid}/reports", headers=h, json={}).status_code == 201
    # Deliveries and push attempts: tick the reminders through a real loopback gateway.
    receiver = Receiver()
    # A short poll: shutdown() otherwise waits up to serve_forever's default 0.5 s.
    receiver.thread = threading.Thread(
        target=receiver.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    with receiver:
        # Earliest first: after 20:00 the diary reminder is due tomorrow, and ticking at
        # that instant first would find tonight's dose reminder 22 hours late (expired).
        due = conn.execute(
            "SELECT next_due_utc FROM reminders WHERE patient_id = ? ORDER BY next_due_utc", (pid,)
        ).fetchall()
        for row in due:
            tick(conn, parse_utc_text(row[0]), receiver.config())
    assert any(MARK in req["json"]["body"] for req in receiver.requests), (
        "the dose reminder names the medication"
    )

    bystander = make_patient(client, clinic, name="Bystander Person", device="bystander-phone")
    assert (
        client.put(
            f"{API}/me/entries/{days[0]}",
            headers=bystander["headers"],
            json={"pain": 3, "notes": "bystander's own", "recorded_at": recorded()},
        ).status_code
        == 201
    )
    return {
        "patient_id": pid,
        "headers": vh,
        "token": phone.json["token"],
        "clinic": clinic,
        "h": h,
        "dose_id": dose_id,
        "gone_dose": gone_dose,
        "days": days,
        "bystander": bystander,
    }


def test_the_victim_has_a_row_in_every_patient_table(conn, world):
    """The erasure tests below start from data in every table that can hold a patient's data."""
    tables = set(rows_of(conn, world["patient_id"]))
    assert tables >= {
        "patients",
        "enrollment_codes",
        "tokens",
        "regimens",
        "regimen_steps",
        "entries",
        "doses",
        "reminders",
        "deliveries",
        "push_tokens",
        "appointments",
        "report_snapshots",
        "questionnaire_responses",
    }
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id "
            "WHERE d.patient_id = ?",
            (world["patient_id"],),
        ).fetchone()[0]
        >= 1
    )


def test_export_holds_all_of_the_patients_live_data(client, world):
    r = client.get(f"{API}/me/export", headers=world["headers"])
    assert r.status_code == 200
    data = r.json
    assert data["patient"]["id"] == world["patient_id"] and MARK in data["patient"]["display_name"]
    assert data["patient"]["external_ref"] == f"MRN-{MARK}" and data["patient"]["reminder_detail"] is True
    assert (
        data["regimen"]["medication"] == f"naltrexone-{MARK}"
        and data["regimen"]["steps"][0]["dose_mg"] == 1.5
    )
    assert [e["date"] for e in data["entries"]] == sorted(world["days"][:3])
    assert data["entries"][0]["sleep_hours"] == 7.37
    assert {s["name"] for s in data["entries"][0]["side_effects"]} == {"vivid_dreams", "other"}
    # Live data only: the deleted dose and entry are not exported.
    assert [d["id"] for d in data["doses"]] == [world["dose_id"]] and data["doses"][0]["amount_mg"] == 1.5
    assert [(q["instrument"], q["score"]) for q in data["questionnaires"]] == [("pgic", 2)]
    assert {r["kind"] for r in data["reminders"]} == {"dose", "diary", "questionnaire"}
    assert data["notifications"] and any(MARK in n["body"] for n in data["notifications"])
    assert {n["status"] for n in data["notifications"]} <= {
        "sent",
        "skipped_done",
        "pending",
        "failed",
        "expired",
    }
    assert data["appointments"][0]["note"] == f"appt-{MARK}"
    assert len(data["report_snapshots"]) == 1 and data["report_snapshots"][0]["report"]["period"]
    assert [d["device_name"] for d in data["devices"]] == [f"{MARK}-phone"]
    assert data["push"] == {"platform": "ios", "updated_at": data["push"]["updated_at"]}
    assert any(a["action"] == "create_snapshot" for a in data["audit"])
    # No credentials: no token, token hash, push token or enrollment code hash.
    text = r.get_data(as_text=True)
    assert world["token"] not in text and f"push-{MARK}" not in text
    assert "token_hash" not in text and "code_hash" not in text
    assert "bystander" not in text.lower()


def test_the_clinician_export_is_the_same_and_audited(client, conn, world):
    mine = client.get(f"{API}/me/export", headers=world["headers"]).json
    r = client.get(f"{API}/patients/{world['patient_id']}/export", headers=world["h"])
    assert r.status_code == 200
    theirs = r.json
    for key in set(mine) - {"exported_at", "audit"}:
        assert theirs[key] == mine[key], key
    actions = [
        row[0]
        for row in conn.execute(
            "SELECT action FROM audit_log WHERE patient_id = ? AND actor_kind = 'clinician'",
            (world["patient_id"],),
        )
    ]
    assert actions[-1] == "export_patient"
    other = make_clinic(conn, "Other Clinic")
    assert (
        client.get(f"{API}/patients/{world['patient_id']}/export", headers=other["headers"]).status_code
        == 404
    )


@pytest.mark.parametrize("who", ["patient", "clinician"])
def test_erasure_needs_the_confirmation(client, conn, world, who):
    before = rows_of(conn, world["patient_id"])
    for body in [
        None,
        {},
        {"confirm": "delete"},
        {"confirm": "yes"},
        {"confirm": True},
        {"confirm": "DELETE", "also": 1},
    ]:
        if who == "patient":
            r = client.delete(f"{API}/me", headers=world["headers"], json=body)
        else:
            r = client.delete(f"{API}/patients/{world['patient_id']}", headers=world["h"], json=body)
        assert r.status_code == 422, (body, r.json)
        assert set(r.json) == {"code", "status", "message", "errors"}
        named = r.json["errors"]["json"]
        assert ("also" in named) if body and "also" in body else ("confirm" in named), (body, named)
    assert rows_of(conn, world["patient_id"]) == before
    assert client.get(f"{API}/me", headers=world["headers"]).status_code == 200


def _assert_erased(client, conn, world, actor_kind, actor_id):
    pid = world["patient_id"]
    assert traces(conn, pid) == [], "something of the patient remains"
    erase_rows = conn.execute(
        "SELECT actor_kind, actor_id, action, patient_id FROM audit_log WHERE action = 'erase_patient'"
    ).fetchall()
    assert [tuple(r) for r in erase_rows] == [(actor_kind, str(actor_id), "erase_patient", pid)]
    # The bystander is untouched and still works.
    b = world["bystander"]
    r = client.get(f"{API}/me/entries/{world['days'][0]}", headers=b["headers"])
    assert r.status_code == 200 and r.json["notes"] == "bystander's own"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_patient_erases_themselves(client, conn, world):
    r = client.delete(f"{API}/me", headers=world["headers"], json=CONFIRM)
    assert r.status_code == 204
    _assert_erased(client, conn, world, "patient", world["patient_id"])
    # Every device token died with the data.
    assert client.get(f"{API}/me", headers=world["headers"]).status_code == 401
    assert client.get(f"{API}/patients/{world['patient_id']}", headers=world["h"]).status_code == 404
    assert client.delete(f"{API}/me", headers=world["headers"], json=CONFIRM).status_code == 401


def test_a_clinician_erases_their_patient(client, conn, world):
    other = make_clinic(conn, "Other Clinic")
    assert (
        client.delete(
            f"{API}/patients/{world['patient_id']}", headers=other["headers"], json=CONFIRM
        ).status_code
        == 404
    )
    assert rows_of(conn, world["patient_id"])["entries"] >= 3
    r = client.delete(f"{API}/patients/{world['patient_id']}", headers=world["h"], json=CONFIRM)
    assert r.status_code == 204
    _assert_erased(client, conn, world, "clinician", world["clinic"]["clinician_id"])
    assert client.get(f"{API}/me", headers=world["headers"]).status_code == 401
    assert (
        client.delete(f"{API}/patients/{world['patient_id']}", headers=world["h"], json=CONFIRM).status_code
        == 404
    )
    # The audit trail of the erased patient is still readable from the command line's function.
    from diary import audit

    trail = audit.list_for_patient(conn, world["patient_id"])
    assert trail[-1]["action"] == "erase_patient" and not any(MARK in str(row) for row in trail)


def test_the_erased_notes_leave_the_database_file_and_the_wal(client, conn, world, db_path):
    """secure_delete zeroes freed space; the erase checkpoints and truncates the WAL."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    marker = MARK.encode()
    # Sanity: the grep can fail. The markers are in the file before the erase.
    assert marker in file_bytes(db_path)
    # ... but a tombstone's notes are gone already (secure_delete zeroed the old cell).
    assert f"notes-{MARK}-3".encode() not in file_bytes(db_path)
    assert client.delete(f"{API}/me", headers=world["headers"], json=CONFIRM).status_code == 204
    data = file_bytes(db_path)
    assert marker not in data
    assert world["patient_id"].encode() in data  # the audit rows keep the id, and only that
    assert b"vivid_dreams" not in data and b"bystander's own" in data


def test_secure_delete_is_on_for_every_connection(db_path):
    c = dbmod.connect(db_path)
    try:
        assert c.execute("PRAGMA secure_delete").fetchone()[0] == 1
    finally:
        c.close()


def test_write_racing_an_erasure_is_404_and_stores_nothing(db_path, conn, clinic):
    """A request already past its token check when its patient is erased gets 404, not a 500."""
    from flask import request as flask_request

    from diary import create_app, erasure
    from diary.auth import app_conn
    from diary.clock import utcnow
    from tests.conftest import count_rows, make_patient, recorded, today_in

    app = create_app({"DATABASE": db_path})
    victim = {}

    @app.before_request
    def erase_after_auth():
        # Runs after the token hook: the patient is loaded, then erased by "another worker".
        if flask_request.headers.get("X-Test-Erase"):
            erasure.erase_patient(
                app_conn(), victim["id"], "clinician", clinic["clinician_id"], None, utcnow()
            )

    client = app.test_client()
    patient = make_patient(client, clinic)
    victim["id"] = patient["id"]
    before = count_rows(conn, "entries")
    day = today_in(patient["timezone"]).isoformat()
    r = client.put(
        f"/api/v1/me/entries/{day}",
        json={"pain": 3, "recorded_at": recorded()},
        headers={**patient["headers"], "X-Test-Erase": "1"},
    )
    assert r.status_code == 404, r.get_data(as_text=True)
    assert r.json["code"] == 404
    assert count_rows(conn, "entries") == before
