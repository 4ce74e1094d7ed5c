"""Shared fixtures: a real SQLite file per test, the Flask test client, real tokens."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from diary import auth, create_app, people
from diary import db as dbmod
from diary.clock import to_utc_text, utcnow

PASSWORD = "correct-horse-battery"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
_HASH_CACHE = {}


def password_hash():
    """One real scrypt hash per test session (hashing costs ~0.3 s by design)."""
    if PASSWORD not in _HASH_CACHE:
        _HASH_CACHE[PASSWORD] = auth.hash_password(PASSWORD)
    return _HASH_CACHE[PASSWORD]


@pytest.fixture
def db_path(tmp_path):
    path = str(tmp_path / "diary.sqlite3")
    dbmod.migrate(path)
    yield path
    dbmod.close_thread_connections()


@pytest.fixture
def app(db_path):
    return create_app({"DATABASE": db_path})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def conn(db_path):
    c = dbmod.connect(db_path)
    yield c
    c.close()


def make_clinic(conn, name="North Clinic", email=None):
    """A clinic with one clinician and a live clinician token; returns a dict."""
    now = utcnow()
    with dbmod.write(conn):
        clinic = people.create_clinic(conn, name, now)
        email = email or f"{uuid.uuid4().hex[:8]}@clinic.example"
        cur = conn.execute(
            "INSERT INTO clinicians (clinic_id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            (clinic["id"], email, "Dr Test", password_hash(), to_utc_text(now)),
        )
        token, token_hash = auth.new_token()
        conn.execute(
            "INSERT INTO tokens (token_hash, kind, clinician_id, created_at, expires_at, last_used_at) "
            "VALUES (?, 'clinician', ?, ?, ?, ?)",
            (
                token_hash,
                cur.lastrowid,
                to_utc_text(now),
                to_utc_text(now + timedelta(hours=12)),
                to_utc_text(now),
            ),
        )
    return {
        "clinic_id": clinic["id"],
        "clinician_id": cur.lastrowid,
        "email": email,
        "token": token,
        "headers": bearer(token),
    }


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def make_patient(client, clinic, timezone_name="Europe/London", name="Pat Test", device="phone-1"):
    """Create a patient through the API and enroll a device; returns a dict with headers."""
    r = client.post(
        "/api/v1/patients", json={"display_name": name, "timezone": timezone_name}, headers=clinic["headers"]
    )
    assert r.status_code == 201, r.json
    created = r.json
    r = client.post("/api/v1/enroll", json={"code": created["enrollment_code"], "device_name": device})
    assert r.status_code == 201, r.json
    return {
        "id": created["id"],
        "token": r.json["token"],
        "headers": bearer(r.json["token"]),
        "timezone": timezone_name,
    }


@pytest.fixture
def clinic(conn):
    return make_clinic(conn)


@pytest.fixture
def patient(client, clinic):
    return make_patient(client, clinic)


def recorded(minutes_ago=0):
    """An aware recorded_at text, ``minutes_ago`` before now."""
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


def today_in(tz_name):
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(tz_name)).date()


def count_rows(conn, table):
    return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def csrf_of(html):
    """The CSRF token of the first form on a page (the pages' forms post it as ``csrf_token``)."""
    found = CSRF_RE.search(html)
    assert found, "no csrf_token on the page"
    return found.group(1)
