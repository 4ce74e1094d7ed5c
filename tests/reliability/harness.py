"""Real processes for the reliability tests: gunicorn and scheduler process groups, seeding, checks.

Every process is started in its own session (process group) so one SIGKILL reaches
the gunicorn arbiter and its workers together, and every start has a matching kill.
"""

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import requests

from diary import auth, people
from diary import db as dbmod
from diary.clock import to_utc_text, utcnow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
API = "/api/v1"


def env_int(name, default):
    """An integer from the environment (the larger documented sizes), else the CI default."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- process groups -----------------------------------------------------------


def group_pids(pgid):
    """Live (not zombie) pids of a process group, read from /proc."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces; the fields after it are fixed.
        fields = stat.rsplit(")", 1)[1].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            pids.append(int(name))
    return pids


def kill_group(proc, sig=signal.SIGKILL, timeout=15):
    """Send ``sig`` to the whole process group of ``proc`` and wait until none of it is alive."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
    deadline = time.monotonic() + timeout
    while group_pids(proc.pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"process group {proc.pid} still alive: {group_pids(proc.pid)}")
        time.sleep(0.02)


class Gunicorn:
    """The real service: ``python -m gunicorn wsgi:app`` with our settings and 2 workers on a loopback port."""

    def __init__(self, db_path, log_path, workers=2, port=None, extra_env=None):
        self.db_path = db_path
        self.log_path = log_path
        self.workers = workers
        self.port = port or free_port()
        self.extra_env = extra_env or {}
        self.proc = None
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30):
        """Start the arbiter in a new session and wait until /healthz answers 200."""
        env = dict(os.environ, DIARY_DATABASE=self.db_path, DIARY_LOG_LEVEL="WARNING", **self.extra_env)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--config",
                    "python:diary.gunicorn_conf",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    str(self.workers),
                    "--graceful-timeout",
                    "5",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if requests.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.kill()
        raise AssertionError("gunicorn did not answer /healthz: " + self.log_tail())

    def kill(self, sig=signal.SIGKILL):
        """Kill the arbiter and every worker at once (SIGKILL to the process group)."""
        if self.proc is not None and (self.proc.poll() is None or group_pids(self.proc.pid)):
            kill_group(self.proc, sig)

    def log_tail(self, chars=3000):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-chars:]
        except OSError:
            return ""


# -- seeding ------------------------------------------------------------------


def seed_patients(db_path, count, tz="UTC"):
    """A clinic and ``count`` patients with one device token each; returns [{id, token, headers}]."""
    conn = dbmod.connect(db_path)
    now = utcnow()
    out = []
    try:
        with dbmod.write(conn):
            clinic = people.create_clinic(conn, "Reliability clinic", now)
            for i in range(count):
                created = people.create_patient(
                    conn, clinic["id"], {"display_name": f"P{i}", "timezone": tz}, now, 7
                )
                token, token_hash = auth.new_token()
                conn.execute(
                    "INSERT INTO tokens (token_hash, kind, patient_id, device_name, created_at, last_used_at)"
                    " VALUES (?, 'patient', ?, ?, ?, ?)",
                    (token_hash, created["id"], f"device-{i}", to_utc_text(now), to_utc_text(now)),
                )
                out.append(
                    {"id": created["id"], "token": token, "headers": {"Authorization": f"Bearer {token}"}}
                )
    finally:
        conn.close()
    return out


def integrity(db_path):
    """``PRAGMA integrity_check`` of a database file, joined into one string ('ok' when sound)."""
    conn = sqlite3.connect(db_path, timeout=10)
    try:
        return "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


# -- the diary items the clients write ------------------------------------------
#
# A key is ("entry", date) or ("dose", uuid); a content is the dict sent, or None
# for a deletion. stored_form() (a content) and row_form() (a database row) give
# the same comparable tuple, so "present with its acknowledged content" is one ==.


class ItemFactory:
    """Generates entry and dose versions for one client with strictly increasing recorded_at."""

    def __init__(self, seed, today):
        self.rng = random.Random(seed)
        self.today = today
        self.clock = datetime.now(UTC)
        self.n = 0

    def stamp(self):
        # Each new version is later than every earlier one of this client and than a
        # DELETE the server stamped with its own clock before: a newer edit wins.
        self.n += 1
        self.clock = max(self.clock + timedelta(microseconds=1), datetime.now(UTC))
        return to_utc_text(self.clock)

    def entry(self, day_back):
        rng = self.rng
        day = (self.today - timedelta(days=day_back)).isoformat()
        content = {
            "pain": rng.randint(0, 10),
            "mood": rng.randint(0, 10),
            "sleep_hours": rng.randint(0, 48) / 4,
            "side_effects": (
                [{"name": "vivid_dreams", "severity": rng.choice(["mild", "moderate"]), "note": None}]
                if rng.random() < 0.3
                else []
            ),
            "notes": f"v{self.n}",
            "recorded_at": self.stamp(),
        }
        return ("entry", day), content

    def dose(self, dose_id=None, day_back=None):
        rng = self.rng
        day_back = rng.randint(0, 300) if day_back is None else day_back
        taken = datetime.combine(
            self.today - timedelta(days=day_back), datetime.min.time(), tzinfo=UTC
        ) + timedelta(hours=22, seconds=rng.randint(0, 3000))
        content = {
            "medication": "naltrexone",
            "amount_mg": rng.choice([0.5, 1, 1.5, 2.25, 3, 4.5]),
            "taken_at": to_utc_text(taken),
            "status": rng.choice(["taken", "taken", "skipped"]),
            "note": f"v{self.n}",
            "recorded_at": self.stamp(),
        }
        return ("dose", dose_id or str(uuid.uuid4())), content


def stored_form(kind, content):
    """The comparable form of a sent content (None: absent or deleted)."""
    if content is None:
        return None
    if kind == "entry":
        return (
            content["pain"],
            content["mood"],
            float(content["sleep_hours"]),
            json.dumps(content["side_effects"], separators=(",", ":")),
            content["notes"],
            _utc(content["recorded_at"]),
        )
    return (
        content["medication"],
        round(content["amount_mg"] * 1000),
        _utc(content["taken_at"]),
        content["status"],
        content["note"],
        _utc(content["recorded_at"]),
    )


def _utc(text):
    return to_utc_text(datetime.fromisoformat(text))


def row_form(kind, row):
    """The comparable form of a stored row (None: absent or tombstone)."""
    if row is None or row["deleted"]:
        return None
    if kind == "entry":
        return (
            row["pain"],
            row["mood"],
            row["sleep_hours"],
            row["side_effects"],
            row["notes"],
            row["recorded_at"],
        )
    return (
        row["medication"],
        row["amount_ug"],
        row["taken_at"],
        row["status"],
        row["note"],
        row["recorded_at"],
    )


def read_item(conn, patient_id, key):
    """The comparable stored form of one key of a patient."""
    kind, ident = key
    if kind == "entry":
        row = conn.execute(
            "SELECT * FROM entries WHERE patient_id = ? AND date = ?", (patient_id, ident)
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT * FROM doses WHERE patient_id = ? AND id = ?", (patient_id, ident)
        ).fetchone()
    return row_form(kind, row)


def sync_body(items):
    """A /me/sync body from [(key, content)] (content None: a deletion with its recorded_at)."""
    body = {"entries": [], "doses": [], "deleted_entries": [], "deleted_doses": []}
    for (kind, ident), content, deleted_at in items:
        if kind == "entry" and content is not None:
            body["entries"].append({"date": ident, **content})
        elif kind == "dose" and content is not None:
            body["doses"].append({"id": ident, **content})
        elif kind == "entry":
            body["deleted_entries"].append({"date": ident, "recorded_at": deleted_at})
        else:
            body["deleted_doses"].append({"id": ident, "recorded_at": deleted_at})
    return body


def sync_statuses(answer):
    """Every item status of a /me/sync answer, in the order sent."""
    return [
        r["status"] for part in ("entries", "doses", "deleted_entries", "deleted_doses") for r in answer[part]
    ]


ACK_SYNC = {"created", "updated", "unchanged", "deleted"}
