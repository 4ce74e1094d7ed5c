"""Write transactions: a failed COMMIT rolls back, blocks nest, a failed migration leaves nothing,
and a transaction left open by a handled error never leaks into the next request."""

import sqlite3

import pytest
import sqlite_utils
from sqlite_utils import Migrations

from diary import create_app
from diary import db as dbmod
from diary.migrations import m0001_foundation
from tests.conftest import count_rows


def _defer_a_broken_foreign_key(conn):
    # With deferred foreign keys the violation is only checked at COMMIT, so COMMIT itself fails
    # (and SQLite leaves the transaction open).
    conn.execute("PRAGMA defer_foreign_keys = ON")
    conn.execute(
        "INSERT INTO patients (id, clinic_id, display_name, timezone, created_at) "
        "VALUES ('orphan', 999, 'x', 'UTC', '2026-01-01T00:00:00+00:00')"
    )


def test_a_failed_commit_rolls_back_and_frees_the_connection(conn):
    with pytest.raises(sqlite3.IntegrityError), dbmod.write(conn):
        conn.execute("INSERT INTO clinics (name, created_at) VALUES ('kept?', '2026-01-01T00:00:00+00:00')")
        _defer_a_broken_foreign_key(conn)
    assert not conn.in_transaction
    assert count_rows(conn, "clinics") == 0
    # The next transaction on the same connection starts cleanly and commits.
    with dbmod.write(conn):
        conn.execute("INSERT INTO clinics (name, created_at) VALUES ('next', '2026-01-01T00:00:00+00:00')")
    assert count_rows(conn, "clinics") == 1


def test_a_failed_commit_releases_the_database_to_other_writers(db_path, conn):
    with pytest.raises(sqlite3.IntegrityError), dbmod.write(conn):
        _defer_a_broken_foreign_key(conn)
    other = sqlite3.connect(db_path, timeout=0.2)
    try:
        other.execute("BEGIN IMMEDIATE")  # "database is locked" if the failed transaction were still open
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_an_inner_block_is_a_savepoint_of_the_outer_transaction(conn):
    with dbmod.write(conn):
        conn.execute("INSERT INTO clinics (name, created_at) VALUES ('outer', '2026-01-01T00:00:00+00:00')")
        with pytest.raises(RuntimeError), dbmod.write(conn):
            conn.execute(
                "INSERT INTO clinics (name, created_at) VALUES ('inner', '2026-01-01T00:00:00+00:00')"
            )
            raise RuntimeError("inner fails")
        with dbmod.write(conn):
            conn.execute(
                "INSERT INTO clinics (name, created_at) VALUES ('inner ok', '2026-01-01T00:00:00+00:00')"
            )
        # Still inside the outer transaction: nothing is committed yet.
        assert conn.in_transaction
    names = [r[0] for r in conn.execute("SELECT name FROM clinics ORDER BY id")]
    assert names == ["outer", "inner ok"]


def test_an_outer_failure_rolls_back_the_inner_blocks_too(conn):
    with pytest.raises(RuntimeError), dbmod.write(conn):
        with dbmod.write(conn):
            conn.execute(
                "INSERT INTO clinics (name, created_at) VALUES ('inner', '2026-01-01T00:00:00+00:00')"
            )
        raise RuntimeError("outer fails")
    assert count_rows(conn, "clinics") == 0
    assert not conn.in_transaction


def test_a_failing_migration_leaves_nothing_behind(tmp_path):
    # Our real first migration (db.executescript inside sqlite-utils' per-migration transaction),
    # followed by a statement that fails: not one of its tables may remain, and it stays pending.
    trial = Migrations("trial")

    @trial(name="foundation_then_failure")
    def foundation_then_failure(db):
        m0001_foundation(db)
        db.executescript("CREATE TABLE fine (id INTEGER);\nINSERT INTO no_such_table VALUES (1);")

    path = str(tmp_path / "trial.sqlite3")
    conn = dbmod.connect(path)
    try:
        db = sqlite_utils.Database(conn, execute_plugins=False)
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            trial.apply(db)
        assert not conn.in_transaction
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables <= {"_sqlite_migrations"}
        assert [m.name for m in trial.pending(db)] == ["foundation_then_failure"]
    finally:
        conn.close()


@pytest.fixture
def leaky_app(db_path):
    app = create_app({"DATABASE": db_path})

    @app.post("/api/v1/test-leaves-a-transaction-open")
    def leave_open():
        # A view that opened a transaction by hand and then failed with an error the API answers.
        conn = dbmod.get_conn(app.config["DATABASE"])
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO clinics (name, created_at) VALUES ('leaked', '2026-01-01T00:00:00+00:00')")
        raise ValueError("handled by the catch-all error handler")

    return app


def test_a_transaction_left_open_by_a_handled_error_is_rolled_back(leaky_app, db_path, conn):
    client = leaky_app.test_client()
    r = client.post("/api/v1/test-leaves-a-transaction-open")
    assert r.status_code == 500
    assert r.json["code"] == 500
    # The next request on this thread (the same kept connection) is unaffected: the login attempt is
    # counted in a transaction of its own, and the leaked row never reaches the database.
    r = client.post(
        "/api/v1/auth/login", json={"email": "nobody@clinic.example", "password": "wrong-password"}
    )
    assert r.status_code == 401
    assert not dbmod.get_conn(db_path).in_transaction
    assert count_rows(conn, "clinics") == 0
    assert count_rows(conn, "rate_limit_events") >= 1
