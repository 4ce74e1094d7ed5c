"""Benchmark the reminder engine at 100,000 patients against one-cron-job-per-reminder.

Run by hand: `.venv/bin/python bench/reminders.py [--patients N]`. Prints a
quiet tick, a tick claiming 5,000 due reminders, the scheduler's peak memory,
and the naive APScheduler design's registration time and memory as ratios.
"""

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from diary import db as dbmod
from diary.clock import to_utc_text, utcnow
from diary.reminders import rules
from diary.reminders.tick import tick

ZONES = [
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Adelaide",
    "Asia/Kolkata",
    "Europe/Berlin",
    "UTC",
]
CONFIG = {"REMINDER_GRACE_MINUTES": 120, "PUSH_WEBHOOK_URL": ""}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def build(path, patients, now):
    """Create a database of ``patients`` patients with both reminders spread over the day."""
    if os.path.exists(path):
        os.remove(path)
    dbmod.migrate(path)
    conn = dbmod.connect(path)
    rnd = random.Random(1)
    now_text = to_utc_text(now)
    began = time.perf_counter()
    patient_rows, reminder_rows = [], []
    for i in range(patients):
        pid = str(uuid.UUID(int=rnd.getrandbits(128)))
        tz = ZONES[i % len(ZONES)]
        patient_rows.append((pid, tz, now_text))
        for kind in ("dose", "diary"):
            wall = f"{rnd.randrange(24):02d}:{rnd.randrange(60):02d}"
            day, due = rules.next_occurrence(rules.parse_time(wall), rules.ALL_DAYS, tz, now)
            reminder_rows.append((pid, kind, wall, to_utc_text(due), day.isoformat(), now_text))
    computed = time.perf_counter() - began
    with dbmod.write(conn):
        conn.execute("INSERT INTO clinics (id, name, created_at) VALUES (1, 'Bench', ?)", (now_text,))
        conn.executemany(
            "INSERT INTO patients (id, clinic_id, display_name, timezone, created_at)"
            " VALUES (?, 1, 'P', ?, ?)",
            patient_rows,
        )
        conn.executemany(
            "INSERT INTO reminders (patient_id, kind, time, next_due_utc, next_local_date, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            reminder_rows,
        )
    stored = time.perf_counter() - began
    conn.close()
    return (
        len(reminder_rows),
        computed,
        stored,
        [(r[2], patient_rows[i // 2][1]) for i, r in enumerate(reminder_rows)],
    )


def make_due(conn, count, instant, rnd):
    """Make ``count`` reminders (not yet delivered) due at ``instant``."""
    ids = [
        r[0] for r in conn.execute("SELECT id FROM reminders WHERE next_due_utc > ?", (to_utc_text(instant),))
    ]
    chosen = rnd.sample(ids, count)
    with dbmod.write(conn):
        conn.executemany(
            "UPDATE reminders SET next_due_utc = ? WHERE id = ?",
            [(to_utc_text(instant - timedelta(minutes=1)), i) for i in chosen],
        )


# Measures from a small launcher: on Linux a child's ru_maxrss starts at the
# RSS of the process it was forked from, and this benchmark's own is large.
LAUNCHER = textwrap.dedent("""
    import resource, signal, subprocess, sys
    child = subprocess.Popen(sys.argv[1:], stdin=sys.stdin, stderr=subprocess.DEVNULL)
    signal.signal(signal.SIGTERM, lambda *a: child.send_signal(signal.SIGTERM))
    out = child.wait()
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, flush=True)
""")


def child_maxrss_mib(argv, env=None, until=None, stdin_text=None, timeout=600):
    """Run ``argv`` (SIGTERM it once ``until()`` holds); return (peak RSS MiB, child stdout)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, *argv],
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    if stdin_text is not None:
        proc.stdin.write(stdin_text)
    proc.stdin.close()
    began = time.perf_counter()
    if until is not None:
        while not until() and time.perf_counter() - began < timeout:
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
    lines = proc.stdout.read().split()
    proc.wait()
    return float(lines[-1]), lines[:-1]


NAIVE = textwrap.dedent("""
    import json, sys, time, resource
    from datetime import timezone
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.triggers.cron import CronTrigger
    specs = json.load(sys.stdin)
    def send(): pass
    scheduler = BackgroundScheduler(timezone=timezone.utc, jobstores={"default": MemoryJobStore()})
    scheduler.start(paused=True)
    began = time.perf_counter()
    for i, (wall, tz) in enumerate(specs):
        hour, minute = wall.split(":")
        scheduler.add_job(send, CronTrigger(hour=int(hour), minute=int(minute), timezone=tz), id=str(i))
    print(time.perf_counter() - began)
    scheduler.shutdown(wait=False)
""")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=5_000)
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "reminders.sqlite3")
    # Built around the real clock: the scheduler process below ticks in real time.
    now = utcnow().replace(second=0, microsecond=0)
    rnd = random.Random(2)

    count, computed, stored, specs = build(path, args.patients, now)
    print(
        f"database: {args.patients:,} patients, {count:,} reminders; next due computed in {computed:.2f} s, "
        f"stored in {stored:.2f} s total"
    )

    conn = dbmod.connect(path)
    quiet = []
    for _ in range(50):
        began = time.perf_counter()
        summary = tick(conn, now, CONFIG)
        quiet.append(time.perf_counter() - began)
        assert summary["due"] == 0
    print(
        f"quiet tick (nothing due): median {statistics.median(quiet) * 1000:.2f} ms, "
        f"max {max(quiet) * 1000:.2f} ms   (target <= 20 ms)"
    )

    claims = []
    for run in range(3):
        at = now + timedelta(minutes=run + 1)
        make_due(conn, args.due, at, rnd)
        began = time.perf_counter()
        summary = tick(conn, at, CONFIG)
        claims.append(time.perf_counter() - began)
        # Plus the few reminders naturally due in that minute.
        assert summary["due"] == summary["sent"] >= args.due, summary
    print(
        f"tick claiming {args.due:,}+ due reminders into the outbox: median {statistics.median(claims):.3f} s, "
        f"max {max(claims):.3f} s   (target <= 1 s)"
    )

    # The real `diary scheduler` process on this database, with a 5,000-claim tick in its life.
    real_now = utcnow()
    make_due(conn, args.due, real_now, rnd)
    before = conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
    env = dict(os.environ, DIARY_DATABASE=path, DIARY_LOG_LEVEL="WARNING")
    ours_rss, _ = child_maxrss_mib(
        [sys.executable, "-m", "diary.cli", "scheduler", "--tick-seconds", "1"],
        env=env,
        until=lambda: conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] >= before + args.due,
    )
    claimed = conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] - before
    print(
        f"scheduler process peak RSS (start, one {claimed:,}-claim tick, SIGTERM): {ours_rss:.1f} MiB   "
        f"(target <= 100 MiB)"
    )
    conn.close()

    naive_rss, out = child_maxrss_mib([sys.executable, "-c", NAIVE], stdin_text=json.dumps(specs))
    naive_register = float(out[-1])
    print(
        f"naive design ({count:,} CronTrigger jobs in a MemoryJobStore): registration {naive_register:.1f} s, "
        f"peak RSS {naive_rss:.1f} MiB"
    )
    print(
        f"naive / ours: registration time {naive_register / stored:.1f}x "
        f"(ours = computing and storing every next_due_utc, {stored:.2f} s), "
        f"memory {naive_rss / ours_rss:.1f}x"
    )


if __name__ == "__main__":
    main()
