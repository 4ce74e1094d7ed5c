"""Fixtures of the patient app tests: a live server on a real SQLite file, a clinic with an LDN patient."""

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from diary import create_app
from diary import db as dbmod
from tests.conftest import make_clinic
from tests.live import serve

ZONE = "Europe/London"


@pytest.fixture
def live(tmp_path):
    """(base URL, Flask test client, clinic) on one database."""
    path = str(tmp_path / "app.sqlite3")
    dbmod.migrate(path)
    conn = dbmod.connect(path)
    clinic = make_clinic(conn)
    conn.close()
    app = create_app({"DATABASE": path})
    with serve(app) as base:
        yield {"base": base, "client": app.test_client(), "clinic": clinic, "database": path}
    dbmod.close_thread_connections()


@pytest.fixture
def browser():
    from tests.browser import chromium

    with chromium() as b:
        yield b


def today():
    return datetime.now(ZoneInfo(ZONE)).date()


def new_patient(live, steps=None):
    """A patient with an LDN regimen (4.5 mg from 30 days ago); returns (patient id, enrollment code)."""
    client, headers = live["client"], live["clinic"]["headers"]
    r = client.post("/api/v1/patients", json={"display_name": "Pat App", "timezone": ZONE}, headers=headers)
    assert r.status_code == 201, r.json
    pid, code = r.json["id"], r.json["enrollment_code"]
    start = today().toordinal() - 30
    steps = steps or [{"start_date": datetime.fromordinal(start).date().isoformat(), "dose_mg": 4.5}]
    r = client.put(
        f"/api/v1/patients/{pid}/regimen",
        json={"medication": "naltrexone", "dose_time": "22:00", "steps": steps},
        headers=headers,
    )
    assert r.status_code == 200, r.json
    return pid, code


def fresh_code(live, pid):
    r = live["client"].post(f"/api/v1/patients/{pid}/enrollment-code", headers=live["clinic"]["headers"])
    return r.json["enrollment_code"]


def clinician_get(live, path):
    r = live["client"].get("/api/v1" + path, headers=live["clinic"]["headers"])
    assert r.status_code == 200, r.json
    return r.json


SHOTS = os.environ.get("DIARY_APP_SCREENSHOTS")
