"""Fixtures of the reminder tests: a migrated SQLite file under tmp_path."""

import pytest

from diary import db as dbmod


@pytest.fixture
def rdb(tmp_path):
    path = str(tmp_path / "reminders.sqlite3")
    dbmod.migrate(path)
    return path


@pytest.fixture
def rconn(rdb):
    conn = dbmod.connect(rdb)
    yield conn
    conn.close()
