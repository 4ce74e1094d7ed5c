"""Storage rules: pragmas, idempotent migrations, integer micrograms, UTC text, concurrent writers."""

import multiprocessing
import re
import sqlite3
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from diary import db as dbmod
from diary import people, records
from diary.clock import utcnow
from tests.conftest import count_rows

UTC_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00:00$")


def pragmas(conn):
    return {
        name: conn.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
    }


def test_every_connection_has_the_pragmas(db_path, app):
    kept = dbmod.get_conn(db_path)
    with app.app_context():
        from diary import auth

        served = auth.app_conn()
    for conn in (dbmod.connect(db_path), kept, served):
        got = pragmas(conn)
        assert got["journal_mode"] == "wal"
        assert got["synchronous"] == 2  # FULL
        assert got["foreign_keys"] == 1
        assert got["busy_timeout"] >= 5000
    # One kept connection per thread, reused.
    assert dbmod.get_conn(db_path) is kept


def test_foreign_keys_are_enforced(conn):
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO patients (id, clinic_id, display_name, timezone, created_at) "
            "VALUES ('p', 999, 'x', 'UTC', '2026-01-01T00:00:00+00:00')"
        )


def test_migrations_are_idempotent(tmp_path):
    path = str(tmp_path / "fresh.sqlite3")
    applied = dbmod.migrate(path)
    assert applied and applied == sorted(applied)
    c = dbmod.connect(path)
    schema = c.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    c.close()
    assert dbmod.migrate(path) == []
    assert dbmod.pending_migrations(path) == []
    c = dbmod.connect(path)
    assert c.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall() == schema
    c.close()


def test_doses_are_integer_micrograms(client, conn, patient, clinic):
    for amount in (4.5, 0.001, 1000, 1.5, 2.25):
        r = client.put(
            f"/api/v1/me/doses/{uuid.uuid4()}",
            headers=patient["headers"],
            json={
                "medication": "naltrexone",
                "amount_mg": amount,
                "taken_at": "2026-03-01T22:00:00+00:00",
                "status": "taken",
            },
        )
        assert r.status_code == 201
    rows = conn.execute("SELECT amount_ug, typeof(amount_ug) FROM doses ORDER BY amount_ug").fetchall()
    assert [tuple(r) for r in rows] == [
        (1, "integer"),
        (1500, "integer"),
        (2250, "integer"),
        (4500, "integer"),
        (1000000, "integer"),
    ]
    r = client.put(
        f"/api/v1/patients/{patient['id']}/regimen",
        headers=clinic["headers"],
        json={
            "medication": "naltrexone",
            "dose_time": "22:00",
            "steps": [
                {"start_date": "2026-01-01", "dose_mg": 1.5},
                {"start_date": "2026-01-15", "dose_mg": 4.5},
            ],
        },
    )
    assert r.status_code == 200
    steps = conn.execute("SELECT dose_ug, typeof(dose_ug) FROM regimen_steps ORDER BY start_date").fetchall()
    assert [tuple(s) for s in steps] == [(1500, "integer"), (4500, "integer")]


def test_instants_are_stored_as_utc_text(client, conn, patient, clinic):
    assert (
        client.put(
            "/api/v1/me/entries/2026-03-01",
            headers=patient["headers"],
            json={"pain": 3, "recorded_at": "2026-03-01T21:30:00-05:00"},
        ).status_code
        == 201
    )
    assert (
        client.put(
            f"/api/v1/me/doses/{uuid.uuid4()}",
            headers=patient["headers"],
            json={
                "medication": "naltrexone",
                "amount_mg": 3,
                "taken_at": "2026-03-01T23:30:00+05:30",
                "recorded_at": "2026-03-01T23:31:00+05:30",
                "status": "taken",
            },
        ).status_code
        == 201
    )
    client.post(f"/api/v1/patients/{patient['id']}/enrollment-code", headers=clinic["headers"])
    entry = conn.execute("SELECT date, recorded_at FROM entries").fetchone()
    # The diary day is the patient's date, not the UTC date of recorded_at (already 2 March).
    assert entry["date"] == "2026-03-01"
    assert entry["recorded_at"] == "2026-03-02T02:30:00.000000+00:00"
    dose = conn.execute("SELECT taken_at, local_date, utc_offset_minutes FROM doses").fetchone()
    assert tuple(dose) == ("2026-03-01T18:00:00.000000+00:00", "2026-03-01", 330)

    checked = 0
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_%' ESCAPE '\\'"
        )
    ]
    for table in tables:
        for column in [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]:
            if not (column.endswith("_at") or column.endswith("_utc")):
                continue
            for (value,) in conn.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"):
                assert isinstance(value, str) and UTC_TEXT.match(value), (table, column, value)
                assert datetime.fromisoformat(value).utcoffset() == timedelta(0)
                checked += 1
    assert checked >= 10


def _writer(path, patient_id, worker, transactions, start, results):
    """Read-then-write transactions from a separate process, as a web worker would do them."""
    conn = dbmod.connect(path)
    errors, seqs = [], []
    start.wait()
    for i in range(transactions):
        now = datetime.now(UTC)
        day = (date(2025, 1, 1) + timedelta(days=worker * transactions + i)).isoformat()
        try:
            with dbmod.write(conn):
                # Read first, then write: the pattern that fails with "database is
                # locked" when the transaction starts deferred.
                records.get_entry_row(conn, patient_id, day)
                conn.execute("SELECT COUNT(*) FROM doses WHERE patient_id = ?", (patient_id,)).fetchone()
                seq = dbmod.next_seq(conn)
                seqs.append(seq)
                records.upsert_entry(
                    conn,
                    patient_id,
                    day,
                    {"pain": i % 11, "side_effects": [], "notes": f"worker {worker}", "recorded_at": now},
                    now,
                    seq,
                )
                records.upsert_dose(
                    conn,
                    patient_id,
                    str(uuid.uuid4()),
                    {"medication": "naltrexone", "amount_mg": 4500, "taken_at": now, "status": "taken"},
                    now,
                    seq,
                )
        except Exception as exc:
            errors.append(repr(exc))
        # A web worker does other things between writes; without a pause one
        # process would take every turn while the others sit in the busy handler.
        time.sleep(0.002)
    conn.close()
    results.put((worker, errors, seqs))


def test_two_processes_writing_at_once_never_see_database_is_locked(db_path, conn):
    now = utcnow()
    with dbmod.write(conn):
        clinic = people.create_clinic(conn, "Clinic", now)
        patient = people.create_patient(conn, clinic["id"], {"display_name": "P", "timezone": "UTC"}, now, 7)
    ctx = multiprocessing.get_context("spawn")
    workers, transactions = 3, 60
    # All start together once every process has imported and connected.
    start, results = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(db_path, patient["id"], w, transactions, start, results))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    errors = [e for _, errs, _ in outcomes for e in errs]
    assert errors == []
    seqs = sorted(s for _, _, ss in outcomes for s in ss)
    # Each transaction took its own change number: writers were serialised, none lost.
    assert seqs == list(range(seqs[0], seqs[0] + workers * transactions))
    assert count_rows(conn, "entries") == workers * transactions
    assert count_rows(conn, "doses") == workers * transactions
    # The writers really took turns (otherwise this test proves nothing).
    by_worker = {w: ss for w, _, ss in outcomes}
    assert all(
        max(ss) > min(other) for w, ss in by_worker.items() for o, other in by_worker.items() if o != w
    )
