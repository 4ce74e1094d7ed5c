"""Issue 5, point 2: SIGKILL of the real `diary scheduler` while it sends loses no reminder.

200 patients (five zones, most with a push token) have their dose and diary reminders
due: most a few minutes ago, some hours ago (beyond the grace window: `expired`), some
for a day the patient already logged (`skipped_done`). The real `diary scheduler`
(tick every second) sends to a loopback push gateway that answers slowly and with a 500
to the first attempt of one delivery in eight. Its whole process group is SIGKILLed N
times while it claims or sends, and restarted each time; after each kill the ledger holds
at most one delivery per reminder and local date, every key the gateway saw is a ledger
delivery id, and `integrity_check` is ok. Then ticks run to completion (the scheduler's own
tick function, at simulated minutes so leases and backoffs run out without waiting) and:
every due reminder has exactly one delivery for its local date, ending `sent`,
`skipped_done` or `expired` as its situation says (no `pending`, none missing, none
`failed`); each pushed delivery reached the gateway with a 2xx under exactly one
Idempotency-Key (its delivery id), so any repeat the gateway saw carries a key it had seen.

Sizes:
    CI default:  5 kills (about 20 s).
    Issue size:  DIARY_CRASH_KILLS=10 .venv/bin/python -m pytest tests/reliability/test_crash_reminders.py -q
    DIARY_CRASH_SEED=<n> replays a run's kill moments and patients.
"""

import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from diary import db as dbmod
from diary.clock import to_utc_text, utcnow
from diary.reminders.tick import tick
from tests.reliability.harness import ROOT, env_int, integrity, kill_group
from tests.reminders.helpers import add_patient
from tests.reminders.receiver import SECRET, Receiver

KILLS = env_int("DIARY_CRASH_KILLS", 5)
SEED = env_int("DIARY_CRASH_SEED", random.randrange(1_000_000))
PATIENTS = 200
ZONES = ("UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Pacific/Auckland")
# Slow enough that every kill finds pushes in flight, also at the larger sizes.
GATEWAY_DELAY = 0.03 * max(1.0, KILLS / 8)
FINAL = {"sent", "skipped_done", "expired"}


class Gateway:
    """Decides the loopback gateway's answer per request: a 500 to some first attempts, else 200."""

    def __init__(self):
        self.lock = threading.Lock()
        self.local = threading.local()
        self.log = []  # (key, body delivery_id, signature ok, status)

    def on_request(self, handler):
        key = handler.headers.get("Idempotency-Key")
        with self.lock:
            first = all(k != key for k, *_ in self.log)
            status = 500 if first and int(uuid.UUID(key).hex[:8], 16) % 8 == 0 else 200
            # The Receiver records the body first: pair it with this answer.
            req = next(r for r in reversed(self.receiver.requests) if r["key"] == key)
            self.log.append((key, req["json"]["delivery_id"], req["signature_ok"], status))
        self.local.status = status

    # The Receiver pops its scripted statuses; this answers what on_request decided.
    def __bool__(self):
        return True

    def pop(self, index):
        return self.local.status


def seed(conn, rng, now):
    """Patients with due reminders; returns {reminder_id: (local_date, expected final status, has_push)}."""
    expected = {}
    for i in range(PATIENTS):
        tz = ZONES[i % len(ZONES)]
        pid = add_patient(conn, tz, now, dose_time="21:00", diary_time="20:00")
        push = rng.random() < 0.9
        late = rng.random() < 0.1
        done = rng.random() < 0.15
        with dbmod.write(conn):
            if push:
                conn.execute(
                    "INSERT INTO push_tokens (patient_id, platform, token, updated_at)"
                    " VALUES (?, 'android', ?, ?)",
                    (pid, f"tok-{i}", to_utc_text(now)),
                )
            for rid, kind in conn.execute(
                # The weekly questionnaire reminder stays off (tests/reminders/helpers.py).
                "SELECT id, kind FROM reminders WHERE patient_id = ? AND enabled = 1",
                (pid,),
            ).fetchall():
                due = now - (timedelta(hours=3) if late else timedelta(seconds=rng.randint(30, 600)))
                local = due.astimezone(ZoneInfo(tz))
                # The wall time of the due instant: the next occurrence is a day later, never in this test.
                conn.execute(
                    "UPDATE reminders SET time = ?, enabled = 1, next_due_utc = ?,"
                    " next_local_date = ? WHERE id = ?",
                    (local.strftime("%H:%M"), to_utc_text(due), local.date().isoformat(), rid),
                )
                if kind == "dose":
                    # The dose reminder follows the regimen's dose time, which also decides
                    # which planned day a logged dose belongs to (diary.dosing).
                    conn.execute(
                        "UPDATE regimens SET dose_time = ? WHERE patient_id = ?",
                        (local.strftime("%H:%M"), pid),
                    )
                status = "skipped_done" if done else "expired" if late else "sent"
                expected[rid] = (local.date().isoformat(), status, push)
                if done:
                    _log_day(conn, pid, kind, local, now)
    return expected


def _log_day(conn, pid, kind, local, now):
    seq = dbmod.next_seq(conn)
    if kind == "diary":
        conn.execute(
            "INSERT INTO entries (patient_id, date, pain, recorded_at, updated_at, seq)"
            " VALUES (?, ?, 3, ?, ?, ?)",
            (pid, local.date().isoformat(), to_utc_text(now), to_utc_text(now), seq),
        )
    else:
        conn.execute(
            "INSERT INTO doses (patient_id, id, medication, amount_ug, taken_at, utc_offset_minutes,"
            " local_date, status, recorded_at, updated_at, seq)"
            " VALUES (?, ?, 'naltrexone', 1500, ?, ?, ?, 'taken', ?, ?, ?)",
            (
                pid,
                str(uuid.uuid4()),
                to_utc_text(local),
                int(local.utcoffset().total_seconds() // 60),
                local.date().isoformat(),
                to_utc_text(now),
                to_utc_text(now),
                seq,
            ),
        )


def ledger_problems(conn, gateway_log):
    """What breaks exactly-once in the ledger and at the gateway so far (empty when sound)."""
    problems = []
    dupes = conn.execute(
        "SELECT reminder_id, local_date, COUNT(*) FROM deliveries"
        " GROUP BY reminder_id, local_date HAVING COUNT(*) > 1"
    ).fetchall()
    problems += [f"two deliveries for reminder {r[0]} on {r[1]}" for r in dupes]
    ids = {r[0] for r in conn.execute("SELECT id FROM deliveries")}
    for key, body_id, signature_ok, _ in gateway_log:
        if key not in ids:
            problems.append(f"gateway saw key {key} that is no delivery of the ledger")
        if body_id != key or not signature_ok:
            problems.append(f"request for {key}: body id {body_id}, signature ok {signature_ok}")
    bad = conn.execute(
        "SELECT status, COUNT(*) FROM deliveries WHERE status NOT IN"
        " ('pending', 'sent', 'skipped_done', 'expired') GROUP BY status"
    ).fetchall()
    problems += [f"{n} deliveries {status}" for status, n in bad]
    return problems


def start_scheduler(db_path, gw, log_path):
    """Start `diary scheduler` (tick every second) in its own session; return once it says it runs."""
    env = dict(
        os.environ,
        DIARY_DATABASE=db_path,
        DIARY_PUSH_WEBHOOK_URL=gw.url,
        DIARY_PUSH_WEBHOOK_SECRET=SECRET,
        DIARY_PUSH_WEBHOOK_TIMEOUT_SECONDS="2",
        DIARY_LOG_LEVEL="WARNING",
    )
    offset = os.path.getsize(log_path) if os.path.exists(log_path) else 0
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "diary.cli", "scheduler", "--tick-seconds", "1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if "running, tick every" in _read(log_path, offset):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    kill_group(proc)
    raise AssertionError("scheduler did not start: " + _read(log_path, offset)[-2000:])


def _read(path, offset):
    with open(path, errors="replace") as f:
        f.seek(offset)
        return f.read()


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.mark.slow
def test_sigkilled_scheduler_loses_and_doubles_no_reminder(tmp_path):
    rng = random.Random(SEED)
    db_path = str(tmp_path / "diary.sqlite3")
    log_path = str(tmp_path / "scheduler.log")
    dbmod.migrate(db_path)
    conn = dbmod.connect(db_path)
    expected = seed(conn, rng, utcnow())
    gateway = Gateway()
    moments = []
    proc = None
    try:
        with Receiver(delay=GATEWAY_DELAY, on_request=gateway.on_request) as gw:
            gateway.receiver = gw
            gw.statuses = gateway
            for kill in range(KILLS):
                proc = start_scheduler(db_path, gw, log_path)
                seen = len(gw.requests)
                if rng.random() < 0.25:
                    # Early: during the claim transaction or the first pushes.
                    time.sleep(rng.uniform(0.0, 0.3))
                    moments.append("early")
                else:
                    sending = wait_for(lambda: len(gw.requests) > seen, 10)
                    time.sleep(rng.uniform(0.0, 1.2))
                    moments.append("sending" if sending else "idle")
                kill_group(proc)
                assert integrity(db_path) == "ok", f"seed {SEED}, kill {kill}"
                assert ledger_problems(conn, gateway.log) == [], f"seed {SEED}, kill {kill}"
            # Let it finish: the same tick at simulated minutes, so leases and backoffs run out.
            gw.delay = 0
            now = utcnow()
            for minute in range(1, 31):
                tick(conn, now + timedelta(minutes=minute), gw.config())
                if not conn.execute("SELECT 1 FROM deliveries WHERE status = 'pending'").fetchone():
                    break
    finally:
        if proc is not None:
            kill_group(proc)
    rows = {r["reminder_id"]: dict(r) for r in conn.execute("SELECT * FROM deliveries")}
    count = conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
    problems = ledger_problems(conn, gateway.log)
    assert integrity(db_path) == "ok"
    conn.close()
    assert problems == [], f"seed {SEED}: {problems[:5]}"
    # One delivery per due reminder and local date, none missing, none extra, each ended as it should.
    assert count == len(rows) == len(expected), f"seed {SEED}"
    wrong = {
        rid: (rows.get(rid, {}).get("local_date"), rows.get(rid, {}).get("status"), want[:2])
        for rid, want in expected.items()
        if rid not in rows or (rows[rid]["local_date"], rows[rid]["status"]) != want[:2]
    }
    assert wrong == {}, f"seed {SEED}: {list(wrong.items())[:5]}"
    assert {r["status"] for r in rows.values()} <= FINAL
    # The gateway: each pushed delivery answered 2xx under its one key; nothing else was pushed.
    pushed = {rows[rid]["id"] for rid, (_, status, push) in expected.items() if status == "sent" and push}
    ok_keys = {key for key, _, _, status in gateway.log if status == 200}
    assert {key for key, *_ in gateway.log} == pushed == ok_keys, f"seed {SEED}"
    repeats = sum(n - 1 for n in Counter(key for key, *_ in gateway.log).values())
    retried_500 = sum(1 for *_, status in gateway.log if status == 500)
    print(
        f"\ncrash reminders: seed {SEED}, kills {moments}, {len(expected)} due, {len(pushed)} pushed, "
        f"{len(gateway.log)} requests, {repeats} repeats of a key ({retried_500} after a 500), "
        f"statuses {Counter(r['status'] for r in rows.values())}"
    )
    assert moments.count("idle") < KILLS, "no kill landed while the scheduler was sending"


def test_ledger_check_finds_a_second_key_for_one_reminder(tmp_path):
    """The exactly-once check can fail: a pushed key the ledger does not hold is reported."""
    db_path = str(tmp_path / "diary.sqlite3")
    dbmod.migrate(db_path)
    conn = dbmod.connect(db_path)
    try:
        now = utcnow()
        add_patient(
            conn, "UTC", now - timedelta(days=1), diary_time=(now - timedelta(minutes=5)).strftime("%H:%M")
        )
        tick(conn, now, {"REMINDER_GRACE_MINUTES": 120})
        [delivery_id] = [r[0] for r in conn.execute("SELECT id FROM deliveries")]
        assert ledger_problems(conn, [(delivery_id, delivery_id, True, 200)] * 2) == []  # a repeat: fine
        other = str(uuid.uuid4())
        assert (
            len(ledger_problems(conn, [(delivery_id, delivery_id, True, 200), (other, other, True, 200)]))
            == 1
        )
    finally:
        conn.close()
