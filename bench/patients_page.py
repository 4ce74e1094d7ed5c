"""The /patients page: stored summaries against today's page (one analysis per patient per view).

Builds one clinic of 1,000 and one of 10,000 patients (60 diary days each: an entry on
most days, a bedtime dose, a 3-step naltrexone titration, a few severe side effects,
some opioid co-medication, some appointments), refreshes every summary once (what the
scheduler does after the writes), then prints medians of the server time of
GET /patients through the Flask test client (session check, the page query, on-demand
refresh of due rows on the page, audit row, rendering), next to the previous page's
work measured in the same run: the same query plus ``make_report(series=False)`` for
every patient (its rendering left out, so the old figure is a floor).

Targets: <= 150 ms at 1,000 patients, <= 300 ms at 10,000.

Run: .venv/bin/python bench/patients_page.py [--sizes 1000,10000] [--runs 15] [--old-runs 3]
Databases go to bench/out/ (git-ignored) and are rebuilt each run.
"""

import argparse
import os
import random
import re
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from diary import create_app, people, summaries  # noqa: E402
from diary import db as dbmod  # noqa: E402
from diary.clock import to_utc_text, utcnow  # noqa: E402
from diary.reports import service  # noqa: E402
from diary.reports.fetch import resolve_period  # noqa: E402

DAYS = 60
ZONE = "Europe/London"
EMAIL = "bench@clinic.example"
PASSWORD = "bench-password-2026"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def build(path, patients, seed=11):
    """A fresh database with one clinic of ``patients`` patients; return the seconds it took."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    started = time.perf_counter()
    dbmod.migrate(path)
    conn = dbmod.connect(path)
    rng = random.Random(seed)
    now = utcnow()
    now_text = to_utc_text(now)
    today = now.astimezone(ZoneInfo(ZONE)).date()
    first = today - timedelta(days=DAYS - 1)
    with dbmod.write(conn):
        clinic = people.create_clinic(conn, "Bench Clinic", now)
        people.create_clinician(conn, clinic["id"], EMAIL, "Dr Bench", PASSWORD, now)
        seq = 0
        for n in range(patients):
            pid = str(uuid.UUID(int=rng.getrandbits(128)))
            conn.execute(
                "INSERT INTO patients (id, clinic_id, display_name, timezone, external_ref, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    pid,
                    clinic["id"],
                    f"Patient {n:05d}",
                    ZONE,
                    f"MRN-{n:06d}",
                    to_utc_text(now - timedelta(days=DAYS)),
                ),
            )
            others = '["oxycodone 5 mg"]' if n % 25 == 0 else "[]"
            conn.execute(
                "INSERT INTO regimens (patient_id, medication, dose_time, other_medications, updated_at) "
                "VALUES (?, 'naltrexone', '22:00', ?, ?)",
                (pid, others, now_text),
            )
            conn.executemany(
                "INSERT INTO regimen_steps (patient_id, start_date, dose_ug) VALUES (?, ?, ?)",
                [
                    (pid, (first + timedelta(days=d)).isoformat(), ug)
                    for d, ug in ((14, 1500), (28, 3000), (42, 4500))
                ],
            )
            entries, doses = [], []
            keep = 0.9 if n % 7 else 0.3  # some sparse diaries
            for d in range(DAYS):
                day = first + timedelta(days=d)
                if rng.random() > keep:
                    continue
                seq += 1
                severe = '[{"name": "headache", "severity": "severe"}]' if n % 40 == 0 and d > 50 else "[]"
                entries.append(
                    (
                        pid,
                        day.isoformat(),
                        rng.randint(2, 8),
                        rng.randint(3, 9),
                        rng.randint(2, 8),
                        rng.randint(3, 8),
                        rng.randint(3, 8),
                        rng.randint(3, 8),
                        7.0,
                        severe,
                        now_text,
                        now_text,
                        seq,
                    )
                )
                if d >= 14:
                    seq += 1
                    taken = datetime.combine(day, datetime.min.time().replace(hour=22), tzinfo=ZoneInfo(ZONE))
                    doses.append(
                        (
                            pid,
                            str(uuid.UUID(int=rng.getrandbits(128))),
                            "naltrexone",
                            1500 if d < 28 else 3000,
                            to_utc_text(taken),
                            0,
                            day.isoformat(),
                            now_text,
                            now_text,
                            seq,
                        )
                    )
            conn.executemany(
                "INSERT INTO entries (patient_id, date, pain, pain_worst, fatigue, mood, sleep_quality, function, "
                "sleep_hours, side_effects, recorded_at, updated_at, seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                entries,
            )
            conn.executemany(
                "INSERT INTO doses (patient_id, id, medication, amount_ug, taken_at, utc_offset_minutes, local_date, "
                "status, recorded_at, updated_at, seq) VALUES (?,?,?,?,?,?,?,'taken',?,?,?)",
                doses,
            )
            if n % 3 == 0:
                conn.execute(
                    "INSERT INTO appointments (patient_id, starts_at, created_at) VALUES (?, ?, ?)",
                    (pid, to_utc_text(now + timedelta(days=rng.randint(1, 60))), now_text),
                )
        conn.execute("UPDATE change_counter SET value = ?", (seq,))
    conn.close()
    return time.perf_counter() - started


def refresh_all(path, app):
    """Refresh every summary as the scheduler's ticks would; return the seconds it took."""
    conn = dbmod.connect(path)
    started = time.perf_counter()
    with app.app_context():
        while summaries.refresh_due(conn, utcnow(), app.config["REPORT_LAG_DAYS"], limit=1000):
            pass
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def logged_in(app):
    client = app.test_client()
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD})
    assert r.status_code == 303, r.status_code
    return client


def page_ms(client, url, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.status_code
    return statistics.median(times)


def old_page_ms(path, app, runs):
    """Today's page's work: the clinic's patients, then a flags-only report of each one."""
    conn = dbmod.connect(path)
    times = []
    with app.app_context():
        for _ in range(runs):
            started = time.perf_counter()
            rows = conn.execute(
                "SELECT p.*, (SELECT max(date) FROM entries e WHERE e.patient_id = p.id AND e.deleted = 0) "
                "AS last_entry FROM patients p WHERE p.clinic_id = 1 ORDER BY p.display_name, p.id"
            ).fetchall()
            now = utcnow()
            for row in rows:
                patient = dict(row)
                start, end = resolve_period(conn, patient, None, None, now)
                service.make_report(
                    conn, patient, start, end, app.config["REPORT_LAG_DAYS"], now, series=False
                )
            times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--old-runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    targets = {1000: 150, 10000: 300}
    os.makedirs(os.path.join(ROOT, "bench", "out"), exist_ok=True)
    print(f"/patients benchmark: medians, new page {args.runs} runs, today's page {args.old_runs} runs")
    for size in sizes:
        path = os.path.join(ROOT, "bench", "out", f"patients-{size}.sqlite3")
        built = build(path, size)
        app = create_app({"DATABASE": path})
        refreshed = refresh_all(path, app)
        client = logged_in(app)
        new = {
            "flags": page_ms(client, "/patients", args.runs),
            "name": page_ms(client, "/patients?sort=name", args.runs),
            "last": page_ms(client, "/patients?sort=last_entry&page=7", args.runs),
            "search": page_ms(client, "/patients?q=MRN-0001", args.runs),
        }
        old = old_page_ms(path, app, args.old_runs if size <= 1000 else 1)
        target = targets.get(size)
        verdict = (
            ""
            if target is None
            else f" [target <= {target} ms {'ok' if new['flags'] <= target else 'MISSED'}]"
        )
        print(
            f"  {size} patients (built in {built:.1f} s; every summary refreshed once in {refreshed:.1f} s):"
        )
        print(
            f"    new GET /patients (sort flags): {new['flags']:.1f} ms{verdict}; sort name {new['name']:.1f} ms; "
            f"sort last entry page 7 {new['last']:.1f} ms; search {new['search']:.1f} ms"
        )
        print(
            f"    today's page (analysis of every patient, rendering left out): {old:.0f} ms "
            f"= {old / new['flags']:.0f}x the new page"
        )
        dbmod.close_thread_connections()


if __name__ == "__main__":
    main()
