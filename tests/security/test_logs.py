"""No health data in logs: every log line of a full run names ids, counts and route templates only.

One run touches every path that handles health data: the API (enrollment, entries, doses, sync,
changes, exports, errors that echo input), the clinician pages, reports and snapshots, the
reminder tick sending to a loopback gateway (one push refused), the scheduler process and a
real gunicorn server. Every log line is captured: the root logger at DEBUG in this process, and
the stderr of each real process. The markers below are in the data; the test first proves the
HTTP answers and the gateway do carry them, so the final check can fail.
"""

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from diary import create_app
from diary import db as dbmod
from diary.cli import gunicorn_argv
from diary.clock import parse_utc_text, to_utc_text, utcnow
from diary.logging_setup import FORMAT
from tests.conftest import PASSWORD, bearer, csrf_of, make_clinic, recorded, today_in
from tests.reminders.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
API = "/api/v1"
MARK = "Kx9Logmark"
NOTES = f"notes {MARK} slept badly after the step up"
NAME = f"Jonquil {MARK}"
MEDICATION = f"ldn-{MARK}"
# Measure values no log line could hold by accident (durations are logged with one decimal).
SLEEP_HOURS, DOSE_MG = 11.83, 2.375
SIDE_EFFECTS = ("vivid_dreams", "headache", "nausea")


def forbidden(day):
    """(label, regex) of everything that must never reach a log line."""
    found = [
        ("marker", re.escape(MARK)),
        ("sleep hours", r"(?<![\d.])11\.83(?!\d)"),
        ("dose mg", r"(?<![\d.])2\.375(?!\d)"),
        ("raw path with a date", re.escape(f"/entries/{day}")),
        ("query string", r"[?&](from|to|since)="),
    ]
    return found + [(name, re.escape(name)) for name in SIDE_EFFECTS]


class Capture(logging.Handler):
    """Every record of every logger, formatted as the service formats it (tracebacks included)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter(FORMAT))
        self.lines = []

    def emit(self, record):
        # urllib3 is this test's own HTTP client (it logs the URLs it calls), not the service.
        if not record.name.startswith("urllib3"):
            self.lines.append(self.format(record))


@pytest.fixture
def captured():
    root = logging.getLogger()
    diary_logger = logging.getLogger("diary")
    saved = root.level, diary_logger.level
    handler = Capture()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(saved[0])
    diary_logger.setLevel(saved[1])


def _fast_receiver(statuses=()):
    receiver = Receiver(statuses=statuses)
    receiver.thread = threading.Thread(
        target=receiver.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    return receiver


def _env(db_path, **extra):
    env = dict(os.environ, DIARY_DATABASE=db_path, DIARY_LOG_LEVEL="DEBUG", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def _diary(*args):
    return [sys.executable, "-m", "diary.cli", *args]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api_run(client, conn, day):
    """Drive every API path that handles health data; return the answers' texts."""
    answers = []

    def call(method, url, status, **kwargs):
        r = client.open(url, method=method, **kwargs)
        assert r.status_code == status, (method, url, r.status_code, r.get_data(as_text=True)[:300])
        answers.append(r.get_data(as_text=True))
        return r

    clinic = make_clinic(conn, f"Clinic {MARK}")
    token = call(
        "POST", f"{API}/auth/login", 200, json={"email": clinic["email"], "password": PASSWORD}
    ).json["token"]
    h = bearer(token)
    created = call(
        "POST",
        f"{API}/patients",
        201,
        headers=h,
        json={"display_name": NAME, "timezone": "Europe/London", "external_ref": f"MRN-{MARK}"},
    ).json
    pid = created["id"]
    enrolled = call(
        "POST",
        f"{API}/enroll",
        201,
        json={"code": created["enrollment_code"], "device_name": f"phone-{MARK}"},
    ).json
    ph = bearer(enrolled["token"])
    start = (today_in("Europe/London") - timedelta(days=30)).isoformat()
    call(
        "PUT",
        f"{API}/patients/{pid}/regimen",
        200,
        headers=h,
        json={
            "medication": MEDICATION,
            "dose_time": "22:00",
            "steps": [{"start_date": start, "dose_mg": DOSE_MG}],
            "other_medications": [f"tramadol-{MARK}"],
        },
    )
    effects = [{"name": n, "severity": "moderate"} for n in SIDE_EFFECTS]
    effects.append({"name": "other", "severity": "mild", "note": f"effect {MARK}"})
    call(
        "PUT",
        f"{API}/me/entries/{day}",
        201,
        headers=ph,
        json={
            "pain": 7,
            "sleep_hours": SLEEP_HOURS,
            "side_effects": effects,
            "notes": NOTES,
            "recorded_at": recorded(5),
        },
    )
    # A stale resend: 409 with the stored version (notes included) in the answer.
    call(
        "PUT",
        f"{API}/me/entries/{day}",
        409,
        headers=ph,
        json={"pain": 1, "notes": f"older {MARK}", "recorded_at": recorded(60)},
    )
    dose_id = str(uuid.uuid4())
    call(
        "PUT",
        f"{API}/me/doses/{dose_id}",
        201,
        headers=ph,
        json={
            "medication": MEDICATION,
            "amount_mg": DOSE_MG,
            # Last night's dose (at 20 hours ago it was today's after 20:00, and the
            # dose reminder this test ticks was then rightly skipped as done).
            "taken_at": datetime.combine(
                today_in("Europe/London") - timedelta(days=1), time_of_day(21, 0), ZoneInfo("Europe/London")
            ).isoformat(),
            "status": "taken",
            "note": f"dose {MARK}",
        },
    )
    other_day = (today_in("Europe/London") - timedelta(days=3)).isoformat()
    r = call(
        "POST",
        f"{API}/me/sync",
        200,
        headers=ph,
        json={
            "entries": [
                {"date": other_day, "sleep_hours": SLEEP_HOURS, "notes": NOTES, "recorded_at": recorded()},
                {"date": other_day, f"field-{MARK}": 1, "recorded_at": recorded()},
            ],
            "doses": [
                {
                    "id": str(uuid.uuid4()),
                    "medication": MEDICATION,
                    "amount_mg": DOSE_MG,
                    "taken_at": recorded(60 * 44),
                    "status": "taken",
                    "recorded_at": recorded(),
                }
            ],
            "deleted_entries": [],
            "deleted_doses": [],
        },
    )
    assert [e["status"] for e in r.json["entries"]] == ["created", "rejected"]
    call("GET", f"{API}/me/changes", 200, headers=ph)
    call("GET", f"{API}/me/entries?from={other_day}&to={day}", 200, headers=ph)
    call("GET", f"{API}/me/doses?from={other_day}&to={day}", 200, headers=ph)
    call("GET", f"{API}/me/report", 200, headers=ph)
    call("GET", f"{API}/me/export", 200, headers=ph)
    call("PUT", f"{API}/me/reminder-settings", 200, headers=ph, json={"detail": True})
    call("PUT", f"{API}/me/push", 204, headers=ph, json={"platform": "android", "token": f"push-{MARK}"})
    # Reports in every rendering, snapshots, an appointment the scheduler will snapshot.
    period = f"from={start}&to={day}"
    call("GET", f"{API}/patients/{pid}/report?{period}", 200, headers=h)
    call("GET", f"{API}/patients/{pid}/export.csv?{period}", 200, headers=h)
    call("GET", f"{API}/patients/{pid}/fhir?{period}", 200, headers=h)
    call("GET", f"{API}/patients/{pid}/entries?{period}", 200, headers=h)
    call("GET", f"{API}/patients/{pid}/export", 200, headers=h)
    soon = to_utc_text(utcnow() + timedelta(hours=2))
    call(
        "POST",
        f"{API}/patients/{pid}/appointments",
        201,
        headers=h,
        json={"starts_at": soon, "note": f"appt {MARK}"},
    )
    snap = call("POST", f"{API}/patients/{pid}/reports", 201, headers=h, json={}).json["id"]
    call("GET", f"{API}/patients/{pid}/reports/{snap}", 200, headers=h)
    call("GET", f"{API}/patients/{pid}/audit", 200, headers=h)
    # The clinician pages.
    login_page = call("GET", "/login", 200).get_data(as_text=True)
    csrf = csrf_of(login_page)
    call("POST", "/login", 303, data={"email": clinic["email"], "password": PASSWORD, "csrf_token": csrf})
    call("GET", "/patients", 200)
    call("GET", f"/patients/{pid}/report?{period}", 200)
    call("GET", f"/patients/{pid}/snapshots/{snap}", 200)
    call("GET", f"/patients/{pid}/snapshots/{snap}/compare", 200)
    call("GET", f"/patients/{pid}/snapshots", 200)
    call("GET", f"/patients/{pid}/audit", 200)
    # Errors whose answers echo what was sent.
    r = call(
        "PUT",
        f"{API}/me/entries/{day}",
        422,
        headers=ph,
        json={
            "notes": NOTES,
            f"field-{MARK}": SLEEP_HOURS,
            "side_effects": [{"name": f"dreams-{MARK}", "severity": "x"}],
            "recorded_at": recorded(),
        },
    )
    assert f"field-{MARK}" in r.get_data(as_text=True)
    call(
        "PUT",
        f"{API}/me/entries/{day}",
        422,
        headers=ph,
        json={"notes": NOTES * 60, "recorded_at": recorded()},
    )
    call("PATCH", f"{API}/me", 422, headers=ph, json={"timezone": f"Mars/{MARK}"})
    call(
        "PUT",
        f"{API}/me/doses/not-a-uuid-{MARK}",
        422,
        headers=ph,
        json={"medication": MEDICATION, "amount_mg": DOSE_MG, "taken_at": recorded(), "status": "taken"},
    )
    call(
        "POST", f"{API}/patients", 422, headers=h, json={"display_name": NAME, "timezone": f"Nowhere/{MARK}"}
    )
    call("PUT", f"{API}/me/entries/{day}", 401, headers=bearer(f"stolen-{MARK}"), json={"notes": NOTES})
    call("GET", f"{API}/patients/{uuid.uuid4()}/report?{period}", 404, headers=h)
    call("DELETE", f"{API}/me", 422, headers=ph, json={"confirm": MARK})
    return {"pid": pid, "patient_headers": ph, "clinician_headers": h, "answers": answers}


def _tick(db_path, now, receiver):
    """`diary reminders tick --now`, a real process; return its stderr."""
    run = subprocess.run(
        _diary("reminders", "tick", "--now", to_utc_text(now)),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=_env(
            db_path, DIARY_PUSH_WEBHOOK_URL=receiver.url, DIARY_PUSH_WEBHOOK_SECRET="test-webhook-secret"
        ),
    )
    assert run.returncode == 0, run.stderr
    return run.stdout, run.stderr


def _scheduler_run(db_path, conn, pid):
    """A real `diary scheduler` until it has snapshotted the coming appointment; return its stderr."""
    proc = subprocess.Popen(
        _diary("scheduler", "--tick-seconds", "1"),
        cwd=ROOT,
        env=_env(db_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            done = conn.execute(
                "SELECT snapshot_id FROM appointments WHERE patient_id = ?", (pid,)
            ).fetchone()[0]
            if done or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert done, "the scheduler did not snapshot the appointment"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    return err


def _gunicorn_run(db_path, patient_headers, day):
    """A real gunicorn (debug log level) serving a few health-data requests; return its stderr."""
    port = _free_port()
    # The production command line (diary serve), at gunicorn's most talkative level.
    argv = gunicorn_argv("127.0.0.1", port, 1)
    argv[-1:-1] = ["--log-level", "debug"]
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=_env(db_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and proc.poll() is None, "gunicorn did not start"
                time.sleep(0.1)
        later = recorded(-1)
        r = requests.put(
            f"{base}{API}/me/entries/{day}",
            headers=patient_headers,
            timeout=10,
            json={
                "sleep_hours": SLEEP_HOURS,
                "notes": NOTES,
                "side_effects": [{"name": "headache", "severity": "mild"}],
                "recorded_at": later,
            },
        )
        assert r.status_code == 200 and r.json()["notes"] == NOTES
        r = requests.put(
            f"{base}{API}/me/entries/{day}",
            headers=patient_headers,
            timeout=10,
            json={"notes": NOTES, f"field-{MARK}": 1, "recorded_at": later},
        )
        assert r.status_code == 422 and MARK in r.text
        r = requests.get(f"{base}{API}/me/entries?from={day}&to={day}", headers=patient_headers, timeout=10)
        assert r.status_code == 200 and MARK in r.text
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    return err


@pytest.mark.slow
def test_no_health_data_in_any_log_line(tmp_path, captured):
    db_path = str(tmp_path / "logs.sqlite3")
    dbmod.migrate(db_path)
    app = create_app({"DATABASE": db_path, "LOG_LEVEL": "DEBUG"})
    client = app.test_client()
    conn = dbmod.connect(db_path)
    day = (today_in("Europe/London") - timedelta(days=1)).isoformat()
    try:
        run = _api_run(client, conn, day)
        pid = run["pid"]
        assert logging.getLogger("diary").isEnabledFor(logging.DEBUG)

        # Reminders: a real tick process per due reminder; the gateway takes the first, refuses the second.
        stderr = []
        dues = conn.execute(
            "SELECT kind, next_due_utc FROM reminders WHERE patient_id = ? AND kind IN ('dose', 'diary')"
            " ORDER BY next_due_utc",
            (pid,),
        ).fetchall()
        assert {d["kind"] for d in dues} == {"dose", "diary"}
        with _fast_receiver(statuses=[200, 400]) as receiver:
            outcomes = []
            for due in dues:
                out, err = _tick(db_path, parse_utc_text(due["next_due_utc"]), receiver)
                outcomes.append(out)
                stderr.append(err)
        assert any('"sent": 1' in o for o in outcomes) and any('"failed": 1' in o for o in outcomes), outcomes
        assert any(MEDICATION in req["json"]["body"] for req in receiver.requests), (
            "the push names the medication"
        )
        assert any("failed" in e for e in stderr), "the refused push is logged (by id)"

        stderr.append(_scheduler_run(db_path, conn, pid))
        stderr.append(_gunicorn_run(db_path, run["patient_headers"], day))
    finally:
        conn.close()
        dbmod.close_thread_connections()

    # A route that fails with the patient's words in the exception message.
    boom_app = create_app({"DATABASE": db_path, "LOG_LEVEL": "DEBUG"})

    @boom_app.get("/boom")
    def boom():
        raise ValueError(f"could not store {NOTES}")

    assert boom_app.test_client().get("/boom").status_code == 500
    dbmod.close_thread_connections()

    # Sanity: the markers were there to leak. The answers and the gateway carry them.
    answers = "\n".join(run["answers"])
    for label, pattern in forbidden(day):
        if label not in ("raw path with a date", "query string"):
            assert re.search(pattern, answers), (
                f"the run never produced {label}; the check below would be empty"
            )

    lines = captured.lines + [line for err in stderr for line in err.splitlines()]
    text = "\n".join(lines)
    # The capture works: request lines with route templates and actor ids, from this process and gunicorn.
    assert f"PUT {API}/me/entries/<day> 201" in text and f"patient:{pid}" in text
    assert f"GET {API}/patients/<patient_id>/fhir 200" in text and "clinician:" in text
    assert "GET /patients/<patient_id>/report 200" in text
    assert f"PUT {API}/me/entries/<day> 422" in text and f"PUT {API}/me/entries/<day> 200" in "\n".join(
        stderr
    )
    assert "unhandled error: builtins.ValueError (message withheld)" in text
    assert "report snapshots made" in text and "tick" in text
    leaks = [(label, line) for label, pattern in forbidden(day) for line in lines if re.search(pattern, line)]
    assert leaks == [], "health data in the logs:\n" + "\n".join(f"{label}: {line}" for label, line in leaks)
    for name in (NAME, MEDICATION, f"push-{MARK}"):
        assert name not in text
