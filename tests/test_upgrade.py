"""Upgrades: a release-1 database (tests/fixtures/release1.sql) migrates to the current schema intact."""

import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils

from diary import auth, create_app
from diary import db as dbmod
from diary.clock import to_utc_text, utcnow
from diary.migrations import migrations
from diary.reminders.tick import tick
from tests.conftest import bearer
from tests.fixtures.make_release1 import P1, P2, PATIENT_TOKEN, RELEASE1, SNAPSHOT_ID

FIXTURE = Path(__file__).parent / "fixtures" / "release1.sql"
MIGRATIONS_TABLE = "_sqlite_migrations"


def all_names():
    """Every migration of the current set, in order."""
    db = sqlite_utils.Database(sqlite3.connect(":memory:"), execute_plugins=False)
    return [m.name for m in migrations.pending(db)]


def schema(conn):
    """{(type, name): sql with whitespace collapsed} of every schema object but the migrations table."""
    return {
        (r[0], r[1]): re.sub(r"\s+", " ", r[2]).strip()
        for r in conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name != ?",
            (MIGRATIONS_TABLE,),
        )
    }


def snapshot(conn, tables):
    """{table: (columns, sorted rows)} of the given tables."""
    out = {}
    for table in tables:
        columns = [c[1] for c in conn.execute(f'PRAGMA table_info("{table}")')]
        rows = conn.execute(f'SELECT {", ".join(columns)} FROM "{table}"').fetchall()
        out[table] = (columns, sorted(tuple(r) for r in rows))
    return out


def tables_of(conn):
    return [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]


@pytest.fixture
def release1_db(tmp_path):
    path = str(tmp_path / "release1.sqlite3")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(FIXTURE.read_text(encoding="utf-8"))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    yield path
    dbmod.close_thread_connections()


def test_released_migrations_still_build_the_release1_schema(release1_db):
    """Migrations 0001-0003 are frozen: today's code builds exactly the fixture's schema."""
    fresh = sqlite3.connect(":memory:", isolation_level=None)
    db = sqlite_utils.Database(fresh, execute_plugins=False)
    later = [n for n in all_names() if n not in RELEASE1]
    migrations.apply(db, stop_before=later or None)
    assert all_names()[:3] == list(RELEASE1)
    fixture = sqlite3.connect(release1_db)
    assert schema(fresh) == schema(fixture)
    # The fixture is not empty anywhere: every release-1 table holds rows.
    empty = [
        t for t in tables_of(fixture) if fixture.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] == 0
    ]
    assert empty == []


def test_release1_upgrades_with_every_row_intact(release1_db):
    conn = sqlite3.connect(release1_db)
    release1_tables = [t for t in tables_of(conn) if t != MIGRATIONS_TABLE]
    before = snapshot(conn, release1_tables)
    recorded = conn.execute(f"SELECT id, name, applied_at FROM {MIGRATIONS_TABLE} ORDER BY id").fetchall()
    conn.close()
    assert sum(len(rows) for _, rows in before.values()) >= 35

    applied = dbmod.migrate(release1_db)
    assert applied == [n for n in all_names() if n not in RELEASE1]
    assert dbmod.pending_migrations(release1_db) == []
    assert dbmod.migrate(release1_db) == []

    conn = dbmod.connect(release1_db)
    try:
        after = {}
        for table, (columns, _) in before.items():
            rows = conn.execute(f'SELECT {", ".join(columns)} FROM "{table}"').fetchall()
            after[table] = (columns, sorted(tuple(r) for r in rows))
        for table in release1_tables:
            assert after[table] == before[table], f"{table} changed in the upgrade"
        assert [
            tuple(r)
            for r in conn.execute(
                f"SELECT id, name, applied_at FROM {MIGRATIONS_TABLE} WHERE id <= 3 ORDER BY id"
            )
        ] == recorded
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # 0005: release 1's reminders start with nothing set aside.
        assert [
            tuple(r)
            for r in conn.execute(
                "SELECT DISTINCT claim_failures, claim_error, claim_retry_at FROM reminders"
            )
        ] == [(0, None, None)]
    finally:
        conn.close()


def test_the_app_works_on_an_upgraded_release1_database(release1_db):
    dbmod.migrate(release1_db)
    app = create_app({"DATABASE": release1_db})
    client = app.test_client()
    ph = bearer(PATIENT_TOKEN)

    r = client.get("/api/v1/me/entries", headers=ph)
    assert r.status_code == 200
    entries = r.json["entries"]
    assert [e["date"] for e in entries] == ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"]
    assert entries[2]["notes"] == "slept badly – ünïcode ✓" and entries[2]["sleep_hours"] == 6.25
    assert entries[0]["side_effects"] == [{"name": "vivid_dreams", "severity": "moderate", "note": None}]
    doses = client.get("/api/v1/me/doses", headers=ph).json["doses"]
    assert [(d["amount_mg"], d["status"]) for d in doses] == [(0.5, "taken"), (0.5, "skipped")]
    changes = client.get("/api/v1/me/changes", headers=ph).json
    assert int(changes["cursor"]) == 8 and len(changes["entries"]) == 4
    # Writes continue the change sequence.
    r = client.put(
        "/api/v1/me/entries/2026-01-09",
        headers=ph,
        json={"pain": 4, "notes": "after the upgrade", "recorded_at": "2026-01-09T21:00:00+00:00"},
    )
    assert r.status_code == 201
    assert int(client.get("/api/v1/me/changes?since=8", headers=ph).json["cursor"]) == 9
    # 0007: the push target may now be a browser's Web Push subscription.
    r = client.put(
        "/api/v1/me/push",
        headers=ph,
        json={
            "platform": "web",
            "subscription": {
                "endpoint": "https://push.example.net/send/abc",
                "keys": {
                    "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                    "auth": "tBHItJI5svbpez7KI4CCXg",
                },
            },
        },
    )
    assert r.status_code == 204, r.json
    assert client.get("/api/v1/me/push/vapid-public-key", headers=ph).status_code == 200

    # A clinician (fresh login token; release 1's token is long expired) reads reports and the snapshot.
    conn = dbmod.connect(release1_db)
    try:
        assert client.get("/api/v1/patients", headers=bearer("release1-clinician-token")).status_code == 401
        token, token_hash = auth.new_token()
        now = utcnow()
        with dbmod.write(conn):
            conn.execute(
                "INSERT INTO tokens (token_hash, kind, clinician_id, created_at, expires_at, last_used_at)"
                " VALUES (?, 'clinician', 1, ?, ?, ?)",
                (token_hash, to_utc_text(now), to_utc_text(now + timedelta(hours=1)), to_utc_text(now)),
            )
        ch = bearer(token)
        listed = client.get("/api/v1/patients", headers=ch).json["patients"]
        assert {p["id"] for p in listed} == {P1, P2}
        r = client.get(f"/api/v1/patients/{P1}/report?from=2026-01-01&to=2026-01-09", headers=ch)
        assert r.status_code == 200 and r.json["completeness"]["days_logged"] == 5
        r = client.get(f"/api/v1/patients/{P1}/reports/{SNAPSHOT_ID}", headers=ch)
        assert r.status_code == 200 and r.json["report"]["completeness"]["days_logged"] == 4
        assert client.get(f"/api/v1/patients/{P1}/regimen", headers=ch).json["steps"][1]["dose_mg"] == 1.5
        # The reminder engine picks up release 1's schedule.
        counts = tick(
            conn,
            utcnow().replace(year=2026, month=1, day=9, hour=22, minute=0, second=30, microsecond=0),
            {"REMINDER_GRACE_MINUTES": 120},
        )
        assert counts["due"] == 2
    finally:
        conn.close()
