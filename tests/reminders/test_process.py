"""Done-when 4 (first half) and SIGTERM: real `diary scheduler` processes on one database."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from diary import db as dbmod
from diary.clock import to_utc_text, utcnow
from diary.reminders.tick import tick
from tests.reminders.helpers import add_patient, deliveries
from tests.reminders.receiver import SECRET, Receiver

pytestmark = pytest.mark.slow


def start_scheduler(db_path, **env_extra):
    env = dict(os.environ, DIARY_DATABASE=db_path, **env_extra)
    return subprocess.Popen(
        [sys.executable, "-m", "diary.cli", "scheduler", "--tick-seconds", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_running(proc, timeout=20):
    """Read stderr until the scheduler says it runs; keep draining it afterwards."""
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if "running" in line:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return
    proc.kill()
    raise AssertionError("scheduler did not start: " + "".join(lines))


def due_now(conn, patient_id):
    """Make the patient's reminders due one minute ago (real clock)."""
    with dbmod.write(conn):
        conn.execute(
            "UPDATE reminders SET next_due_utc = ?, next_local_date = ? WHERE patient_id = ?",
            (to_utc_text(utcnow() - timedelta(minutes=1)), utcnow().date().isoformat(), patient_id),
        )


def wait_for(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def stop(proc):
    """SIGTERM the scheduler; return (seconds to exit, exit code)."""
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(10)
    return time.monotonic() - began, code


def test_second_scheduler_refuses_and_sigterm_stops_quickly(rdb, rconn):
    pid = add_patient(rconn, "UTC", utcnow(), diary_time="20:00", diary_enabled=True)
    due_now(rconn, pid)
    first = start_scheduler(rdb)
    try:
        wait_running(first)
        # The running scheduler really ticks: the due reminder lands in the outbox.
        assert wait_for(lambda: [r["status"] for r in deliveries(rconn, pid)] == ["sent"])

        second = start_scheduler(rdb)
        out, err = second.communicate(timeout=30)
        assert second.returncode == 1
        assert "already running" in err and rdb + ".scheduler.lock" in err
    finally:
        elapsed, code = stop(first)
    assert code == 0 and elapsed < 5

    # The lock dies with its holder: a new scheduler may start now.
    third = start_scheduler(rdb)
    wait_running(third)
    elapsed, code = stop(third)
    assert code == 0 and elapsed < 5


def test_sigterm_during_a_slow_push_keeps_the_claimed_delivery(rdb, rconn):
    pid = add_patient(rconn, "UTC", utcnow(), diary_time="20:00")
    with dbmod.write(rconn):
        rconn.execute(
            "INSERT INTO push_tokens (patient_id, platform, token, updated_at) VALUES (?, 'ios', 't', ?)",
            (pid, to_utc_text(utcnow())),
        )
    due_now(rconn, pid)
    arrived = threading.Event()
    with Receiver(delay=8, on_request=lambda handler: arrived.set()) as gw:
        proc = start_scheduler(
            rdb,
            DIARY_PUSH_WEBHOOK_URL=gw.url,
            DIARY_PUSH_WEBHOOK_SECRET=SECRET,
            DIARY_PUSH_WEBHOOK_TIMEOUT_SECONDS="20",
        )
        wait_running(proc)
        assert arrived.wait(20)
        elapsed, _ = stop(proc)
        assert elapsed < 5
        [row] = deliveries(rconn, pid)
        assert row["status"] == "pending"  # claimed, not lost
        gw.delay = 0
        # The next start (here: one tick after the lease) resends with the same key.
        tick(rconn, utcnow() + timedelta(minutes=1), gw.config())
    [row] = deliveries(rconn, pid)
    assert row["status"] == "sent"
    assert [r["key"] for r in gw.requests] == [row["id"], row["id"]]


def test_scheduler_refuses_an_unmigrated_database(tmp_path):
    proc = start_scheduler(str(tmp_path / "missing.sqlite3"))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "diary migrate" in err


def test_running_scheduler_snapshots_reports_for_appointments_in_the_next_24_hours(rdb, rconn):
    pid = add_patient(rconn, "Europe/London", utcnow())
    soon = utcnow() + timedelta(hours=3)
    later = utcnow() + timedelta(hours=30)
    with dbmod.write(rconn):
        for starts_at in (soon, later):
            rconn.execute(
                "INSERT INTO appointments (patient_id, starts_at, created_at) VALUES (?, ?, ?)",
                (pid, to_utc_text(starts_at), to_utc_text(utcnow())),
            )
    proc = start_scheduler(rdb)
    try:
        wait_running(proc)
        assert wait_for(lambda: rconn.execute("SELECT COUNT(*) FROM report_snapshots").fetchone()[0] >= 1)
        time.sleep(2.5)  # two more ticks: still one snapshot, and none for the visit 30 hours away
    finally:
        stop(proc)
    rows = rconn.execute(
        "SELECT a.starts_at, a.snapshot_id, s.patient_id FROM appointments a "
        "LEFT JOIN report_snapshots s ON s.id = a.snapshot_id ORDER BY a.starts_at"
    ).fetchall()
    assert rows[0]["snapshot_id"] is not None and rows[0]["patient_id"] == pid
    assert rows[1]["snapshot_id"] is None
    assert rconn.execute("SELECT COUNT(*) FROM report_snapshots").fetchone()[0] == 1


def test_running_scheduler_refreshes_a_changed_patient_summary_within_a_tick(rdb, rconn):
    pid = add_patient(rconn, "Europe/London", utcnow())
    proc = start_scheduler(rdb)
    try:
        wait_running(proc)
        assert wait_for(
            lambda: (
                rconn.execute("SELECT stale FROM patient_summaries WHERE patient_id = ?", (pid,)).fetchone()[
                    0
                ]
                == 0
            )
        )
        starts_at = to_utc_text(utcnow() + timedelta(days=3))
        with dbmod.write(rconn):
            rconn.execute(
                "INSERT INTO appointments (patient_id, starts_at, created_at) VALUES (?, ?, ?)",
                (pid, starts_at, to_utc_text(utcnow())),
            )
        assert (
            rconn.execute("SELECT stale FROM patient_summaries WHERE patient_id = ?", (pid,)).fetchone()[0]
            > 0
        )
        assert wait_for(
            lambda: (
                tuple(
                    rconn.execute(
                        "SELECT next_appointment, stale FROM patient_summaries WHERE patient_id = ?", (pid,)
                    ).fetchone()
                )
                == (starts_at, 0)
            ),
            timeout=5,
        )
    finally:
        stop(proc)
