"""Hostile input: Schemathesis against /api/v1/openapi.json, as a patient and as a clinician.

Every operation of the document gets generated requests, valid and invalid,
sent in-process through WSGI with real tokens for a fixture database (a
clinic, a patient with entries, doses, a regimen, an appointment, a snapshot
and a notification). Each response must not be a server error and must
conform to the document: a documented status code, content type and body.

CI runs a bounded, seeded profile. The longer run is

    DIARY_FUZZ_EXAMPLES=500 .venv/bin/python -m pytest tests/security/test_fuzz.py -q

(``DIARY_FUZZ_SEED`` picks another seed; ``DIARY_FUZZ_SEED=random`` draws a fresh one.)
"""

import os
import shutil
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from diary import auth, create_app
from diary import db as dbmod
from diary.clock import to_utc_text, utcnow
from tests.conftest import bearer, make_clinic, make_patient, recorded, today_in

API = "/api/v1"
EXAMPLES = int(os.environ.get("DIARY_FUZZ_EXAMPLES", "25"))
_SEED = os.environ.get("DIARY_FUZZ_SEED", "20260501")


@schemathesis.check
def status_code_named_in_the_document(ctx, response, case):
    """Stricter than status_code_conformance: ``default`` does not count, every status is listed."""
    if case.method.upper() != case.operation.method.upper():
        return None  # schemathesis probing a method the operation is not (405, or Flask's OPTIONS)
    listed = {str(code) for code in case.operation.definition.raw.get("responses", {}) if code != "default"}
    if str(response.status_code) not in listed:
        raise AssertionError(
            f"{case.method} {case.path} answered {response.status_code}, "
            f"which its responses do not list ({sorted(listed)})"
        )
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    status_code_named_in_the_document,
]
# The patient's working device token gets an id generated device ids do not hit.
PATIENT_TOKEN_ID = 900_000_001

# One app for the document and for the calls; the fixture points it at its database.
# A low per-address login limit: wrong passwords cost a real scrypt each, and
# the refusals (429) are part of what must conform.
APP = create_app({"DATABASE": ":memory:", "LOGIN_MAX_FAILURES_PER_ADDRESS": 4, "ENROLL_MAX_FAILURES": 4})
schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", APP)
WORLD = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half of the cases use the fixture's real ids, so deeper code runs, not only the 404s."""
    real = {name: WORLD[name] for name in path_parameters or {} if name in WORLD}
    if not real:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {**path_parameters, **real}])


class World:
    """A fixture database with real tokens; re-enrolls the patient when a fuzzed call revoked it."""

    def __init__(self, app, conn):
        self.app, self.conn = app, conn
        self.client = app.test_client()
        self.clinic = make_clinic(conn, "Fuzz Clinic")
        self._populate()

    def _populate(self):
        """A patient with a regimen, 19 days of entries, a dose, an appointment, a snapshot, a notification."""
        h = self.clinic["headers"]
        patient = make_patient(self.client, self.clinic, name="Fuzz Patient", device="fuzz-phone")
        self.patient_id = patient["id"]
        self.patient_headers = self._park_patient_token(patient["token"])
        spare = self._enroll("spare-phone")
        self.spare_device_id = self.conn.execute(
            "SELECT id FROM tokens WHERE token_hash = ?", (auth.sha256(spare),)
        ).fetchone()[0]
        ph = self.patient_headers
        assert (
            self.client.put(
                f"{API}/patients/{self.patient_id}/regimen",
                headers=h,
                json={
                    "medication": "naltrexone",
                    "dose_time": "21:30",
                    "steps": [
                        {"start_date": "2026-01-01", "dose_mg": 0.5},
                        {"start_date": "2026-02-01", "dose_mg": 1.5},
                    ],
                    "other_medications": ["ibuprofen"],
                },
            ).status_code
            == 200
        )
        today = today_in("Europe/London")
        for i in range(1, 20):
            day = (today - timedelta(days=i)).isoformat()
            r = self.client.put(
                f"{API}/me/entries/{day}",
                headers=ph,
                json={
                    "pain": 7 - i % 5,
                    "sleep_hours": 6.5,
                    "mood": 5,
                    "notes": "fuzz",
                    "side_effects": [{"name": "vivid_dreams", "severity": "mild"}],
                    "recorded_at": recorded(30),
                },
            )
            assert r.status_code == 201, r.json
        self.day = (today - timedelta(days=1)).isoformat()
        self.dose_id = str(uuid.uuid4())
        assert (
            self.client.put(
                f"{API}/me/doses/{self.dose_id}",
                headers=ph,
                json={
                    "medication": "naltrexone",
                    "amount_mg": 1.5,
                    "taken_at": recorded(60 * 24),
                    "status": "taken",
                },
            ).status_code
            == 201
        )
        assert (
            self.client.post(
                f"{API}/patients/{self.patient_id}/appointments",
                headers=h,
                json={"starts_at": "2026-06-01T09:00:00+01:00", "note": "visit"},
            ).status_code
            == 201
        )
        r = self.client.post(f"{API}/patients/{self.patient_id}/reports", headers=h, json={})
        assert r.status_code == 201, r.json
        self.snapshot_id = r.json["id"]
        self.notification_id = self._notification()

    def _enroll(self, device):
        code = self.client.post(
            f"{API}/patients/{self.patient_id}/enrollment-code", headers=self.clinic["headers"]
        ).json["enrollment_code"]
        r = self.client.post(f"{API}/enroll", json={"code": code, "device_name": device})
        assert r.status_code == 201, r.json
        return r.json["token"]

    def _park_patient_token(self, token):
        with dbmod.write(self.conn):
            self.conn.execute("DELETE FROM tokens WHERE id = ?", (PATIENT_TOKEN_ID,))
            self.conn.execute(
                "UPDATE tokens SET id = ? WHERE token_hash = ?", (PATIENT_TOKEN_ID, auth.sha256(token))
            )
        return bearer(token)

    def _notification(self):
        now = to_utc_text(utcnow())
        delivery_id = str(uuid.uuid4())
        with dbmod.write(self.conn):
            reminder_id = self.conn.execute(
                "SELECT id FROM reminders WHERE patient_id = ? AND kind = 'diary'", (self.patient_id,)
            ).fetchone()[0]
            self.conn.execute(
                "INSERT INTO deliveries (id, reminder_id, patient_id, kind, local_date, due_at, claimed_at, "
                "status, title, body, attempts) VALUES (?, ?, ?, 'diary', '2026-03-01', ?, ?, 'sent', 't', 'b', 1)",
                (delivery_id, reminder_id, self.patient_id, now, now),
            )
        return delivery_id

    def _live(self, headers):
        token = headers["Authorization"].split(" ", 1)[1]
        row = self.conn.execute("SELECT * FROM tokens WHERE token_hash = ?", (auth.sha256(token),)).fetchone()
        return row is not None and auth.token_row_is_live(row, utcnow(), 30)

    def headers_for(self, path):
        """The caller of a path: the patient for /me, the clinician for /patients, nobody else."""
        if path == "/me" or path.startswith(("/me/", f"{API}/me")):
            if (
                self.conn.execute("SELECT 1 FROM patients WHERE id = ?", (self.patient_id,)).fetchone()
                is None
            ):
                # A fuzzed DELETE /me erased the patient: start over with a new one.
                self._populate()
                WORLD.update(self.path_values())
            elif not self._live(self.patient_headers):
                self.patient_headers = self._park_patient_token(self._enroll("fuzz-phone-again"))
            return dict(self.patient_headers)
        if "/patients" in path:
            return dict(self.clinic["headers"])
        if path.endswith("/auth/logout"):
            self.headers_for(f"{API}/me")
            # A throwaway token, so logging out does not end the fuzz run's session.
            return bearer(self._enroll("logout-phone"))
        return {}

    def path_values(self):
        return {
            "patient_id": self.patient_id,
            "day": self.day,
            "dose_id": self.dose_id,
            "snapshot_id": self.snapshot_id,
            "notification_id": self.notification_id,
            "device_id": self.spare_device_id,
            "kind": "dose",
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else tmp_path_factory.mktemp("fuzz")
    folder = Path(tempfile.mkdtemp(prefix="diary-fuzz-", dir=base))
    path = str(folder / "diary.sqlite3")
    dbmod.migrate(path)
    APP.config["DATABASE"] = path
    conn = dbmod.connect(path)
    world = World(APP, conn)
    WORLD.update(world.path_values())
    yield world
    WORLD.clear()
    conn.close()
    dbmod.close_thread_connections()
    shutil.rmtree(folder, ignore_errors=True)


def _seeded(func):
    if _SEED == "random":
        return func
    return seed(int(_SEED))(func)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    print_blob=True,
    phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)
@_seeded
def test_every_response_conforms_to_the_document(case, world):
    headers = world.headers_for(case.path if case.path.startswith(API) else API + case.path)
    case.call_and_validate(headers=headers, checks=CHECKS)
