"""Fixtures for report tests: the demo clinic and patient in a real SQLite file."""

import pytest

from diary import create_app, demo
from diary import db as dbmod
from diary.clock import utcnow


@pytest.fixture
def demo_db(tmp_path):
    """A migrated database holding the demo clinic, clinician and LDN patient."""
    path = str(tmp_path / "demo.sqlite3")
    dbmod.migrate(path)
    conn = dbmod.connect(path)
    creds, _ = demo.load_demo(conn, utcnow())
    conn.close()
    yield path, creds
    dbmod.close_thread_connections()


@pytest.fixture
def demo_app(demo_db):
    path, creds = demo_db
    return create_app({"DATABASE": path}), creds


@pytest.fixture
def demo_client(demo_app):
    """A test client, the demo credentials and a clinician bearer header."""
    app, creds = demo_app
    client = app.test_client()
    r = client.post("/api/v1/auth/login", json={"email": creds["email"], "password": creds["password"]})
    assert r.status_code == 200, r.json
    return client, creds, {"Authorization": "Bearer " + r.json["token"]}
