"""Report benchmark: a 730-day trend report against fetching the same rows with raw SQL.

Builds a database of 1,000 patients with 730 days each (an entry and a dose
per day, a 3-step naltrexone titration, some side effects and gaps), then
prints medians over repeated runs of:
  * the raw SQL fetch of one patient's 730 entries and doses (the floor);
  * the JSON report: fetch + analysis + orjson, in process, and through the
    Flask test client (GET /api/v1/patients/{id}/report: auth, audit row, response);
    its ratio to the fetch (target <= 10x) and its time (target <= 50 ms);
  * the HTML report page (GET /patients/{id}/report) (target <= 150 ms);
  * the same JSON report on a 10,000-patient database, as a ratio to the
    1,000-patient one (target <= 1.5x).

Run: .venv/bin/python bench/report.py [--patients 1000] [--big 10000] [--runs 30]
Databases go to bench/out/ (git-ignored) and are reused when present.
"""

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
import uuid
from datetime import date, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from diary import auth, create_app  # noqa: E402
from diary import db as dbmod  # noqa: E402
from diary.clock import to_utc_text, utcnow  # noqa: E402
from diary.reports import service  # noqa: E402

DAYS = 730
FIRST_DAY = date(2024, 11, 29)
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
STEPS = ((14, 1500), (28, 3000), (42, 4500))
EMAIL = "bench@clinic.example"
PASSWORD = "bench-password-2026"
ENTRY_SQL = (
    "SELECT date, pain, pain_worst, fatigue, mood, sleep_quality, function, sleep_hours, "
    "side_effects, notes FROM entries WHERE patient_id = ? AND deleted = 0 AND date BETWEEN ? AND ?"
)
DOSE_SQL = (
    "SELECT id, medication, amount_ug, local_date, status, taken_at FROM doses WHERE patient_id = ? "
    "AND deleted = 0 AND local_date BETWEEN ? AND ?"
)


def build(path, patients, seed=7):
    """Create (or reuse) a database of ``patients`` patients with DAYS days each; return (middle id, reused)."""
    if os.path.exists(path):
        dbmod.migrate(path)  # a file kept from an older schema gets the new migrations
        conn = dbmod.connect(path)
        ids = [r[0] for r in conn.execute("SELECT id FROM patients ORDER BY id")]
        conn.close()
        if len(ids) == patients:
            return ids[len(ids) // 2], True
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
    dbmod.migrate(path)
    conn = dbmod.connect(path)
    # Bulk load only: durability does not matter while building a throwaway file.
    conn.execute("PRAGMA synchronous = OFF")
    rng = random.Random(seed)
    now = to_utc_text(utcnow())
    conn.execute("BEGIN")
    conn.execute("INSERT INTO clinics (id, name, created_at) VALUES (1, 'Bench Clinic', ?)", (now,))
    conn.execute(
        "INSERT INTO clinicians (clinic_id, email, name, password_hash, created_at) VALUES (1, ?, ?, ?, ?)",
        (EMAIL, "Dr Bench", auth.hash_password(PASSWORD), now),
    )
    days = [(FIRST_DAY + timedelta(days=i)).isoformat() for i in range(DAYS)]
    ids = []
    for p in range(patients):
        pid = str(uuid.UUID(int=rng.getrandbits(128)))
        ids.append(pid)
        conn.execute(
            "INSERT INTO patients (id, clinic_id, display_name, timezone, created_at) "
            "VALUES (?, 1, ?, 'Europe/London', ?)",
            (pid, f"Patient {p}", now),
        )
        conn.execute(
            "INSERT INTO regimens (patient_id, medication, dose_time, other_medications, updated_at) "
            "VALUES (?, 'naltrexone', '22:00', '[\"amitriptyline\"]', ?)",
            (pid, now),
        )
        conn.executemany(
            "INSERT INTO regimen_steps (patient_id, start_date, dose_ug) VALUES (?, ?, ?)",
            [(pid, days[i], ug) for i, ug in STEPS],
        )
        entries, doses = [], []
        for i, day in enumerate(days):
            if rng.random() < 0.1:
                continue
            pain = max(0, min(10, round(7 - 3 * min(1, i / 200) + rng.gauss(0, 0.8))))
            effects = "[]"
            if 14 <= i < 30 and rng.random() < 0.5:
                effects = '[{"name": "vivid_dreams", "severity": "mild", "note": null}]'
            entries.append(
                (
                    pid,
                    day,
                    pain,
                    min(10, pain + 2),
                    rng.randint(2, 8),
                    rng.randint(2, 8),
                    rng.randint(2, 8),
                    rng.randint(2, 8),
                    round(rng.uniform(4, 9) * 4) / 4,
                    effects,
                    None,
                    now,
                    now,
                    0,
                    1,
                )
            )
            if i >= 14:
                doses.append(
                    (
                        pid,
                        str(uuid.UUID(int=rng.getrandbits(128))),
                        "naltrexone",
                        4500 if i >= 42 else 3000 if i >= 28 else 1500,
                        f"{day}T22:00:00.000000+00:00",
                        0,
                        day,
                        "taken" if rng.random() < 0.92 else "skipped",
                        None,
                        now,
                        now,
                        0,
                        1,
                    )
                )
        conn.executemany(
            "INSERT INTO entries (patient_id, date, pain, pain_worst, fatigue, mood, sleep_quality, "
            "function, sleep_hours, side_effects, notes, recorded_at, updated_at, deleted, seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            entries,
        )
        conn.executemany(
            "INSERT INTO doses (patient_id, id, medication, amount_ug, taken_at, utc_offset_minutes, "
            "local_date, status, note, recorded_at, updated_at, deleted, seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            doses,
        )
        if p % 1000 == 999:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return sorted(ids)[len(ids) // 2], False


def interleaved_medians(fns, runs):
    """Run every callable once per round, ``runs`` rounds, and return each one's median in ms.

    Interleaving puts the 1,000- and 10,000-patient runs under the same machine
    load, so their ratio is not skewed by whatever else the machine was doing.
    """
    for fn in fns.values():
        fn()  # warm caches and the kept connection
    times = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            began = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - began) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def workloads(path, patient_id):
    """Return the callables to time on one database: raw fetch, JSON in process, JSON via API, HTML page."""
    conn = dbmod.get_conn(path)
    period = (FIRST_DAY.isoformat(), LAST_DAY.isoformat())

    def raw_fetch():
        conn.execute(ENTRY_SQL, (patient_id,) + period).fetchall()
        conn.execute(DOSE_SQL, (patient_id,) + period).fetchall()

    patient = dict(conn.execute("SELECT * FROM patients WHERE id = ?", (patient_id,)).fetchone())

    def report_json():
        report, _ = service.make_report(conn, patient, FIRST_DAY, LAST_DAY)
        return service.to_json(report)

    app = create_app({"DATABASE": path})
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}).json["token"]
    headers = {"Authorization": "Bearer " + token}
    query = f"?from={period[0]}&to={period[1]}"
    api_url = f"/api/v1/patients/{patient_id}/report{query}"

    def report_api():
        r = client.get(api_url, headers=headers)
        assert r.status_code == 200

    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"csrf_token": csrf, "email": EMAIL, "password": PASSWORD})
    page_url = f"/patients/{patient_id}/report{query}"

    def report_page():
        r = client.get(page_url)
        assert r.status_code == 200

    return {"fetch": raw_fetch, "json": report_json, "api": report_api, "html": report_page}, len(
        report_json()
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--big", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--dir", default=os.path.join(ROOT, "bench", "out"))
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    started = time.perf_counter()
    small_path = os.path.join(args.dir, f"report-{args.patients}.sqlite3")
    small_id, small_reused = build(small_path, args.patients)
    built_small = time.perf_counter() - started
    started = time.perf_counter()
    big_path = os.path.join(args.dir, f"report-{args.big}.sqlite3")
    big_id, big_reused = build(big_path, args.big)
    built_big = time.perf_counter() - started
    small_fns, size = workloads(small_path, small_id)
    big_fns, _ = workloads(big_path, big_id)
    fns = {name: fn for name, fn in small_fns.items()}
    fns.update({"big_" + name: fn for name, fn in big_fns.items() if name != "html"})
    medians = interleaved_medians(fns, args.runs)
    dbmod.close_thread_connections()
    small = {name: medians[name] for name in small_fns}
    small["bytes"] = size
    big = {name: medians["big_" + name] for name in ("fetch", "json", "api")}

    def verdict(ok):
        return "ok" if ok else "MISSED"

    def built(reused, seconds):
        return "reused" if reused else f"built in {seconds:.0f} s"

    print(
        f"report benchmark: {DAYS}-day report, {args.runs} interleaved runs each, medians "
        f"({args.patients} patients {built(small_reused, built_small)}, "
        f"{args.big} patients {built(big_reused, built_big)})"
    )
    print(f"  raw SQL fetch of the same rows ({args.patients} patients): {small['fetch']:.2f} ms")
    print(
        f"  JSON report in process (fetch + analysis + orjson, {small['bytes'] // 1024} KiB): "
        f"{small['json']:.2f} ms = {small['json'] / small['fetch']:.1f}x fetch "
        f"[target <= 10x {verdict(small['json'] / small['fetch'] <= 10)}, "
        f"<= 50 ms {verdict(small['json'] <= 50)}]"
    )
    print(
        f"  JSON report via GET /api/v1/patients/{{id}}/report (auth, audit row, response): "
        f"{small['api']:.2f} ms = {small['api'] / small['fetch']:.1f}x fetch "
        f"[<= 50 ms {verdict(small['api'] <= 50)}]"
    )
    print(
        f"  HTML report page GET /patients/{{id}}/report: {small['html']:.2f} ms "
        f"[target <= 150 ms {verdict(small['html'] <= 150)}]"
    )
    ratio = big["json"] / small["json"]
    print(
        f"  JSON report in process on {args.big} patients: {big['json']:.2f} ms = {ratio:.2f}x the "
        f"{args.patients}-patient one [target <= 1.5x {verdict(ratio <= 1.5)}]; via API {big['api']:.2f} ms "
        f"= {big['api'] / small['api']:.2f}x; raw fetch {big['fetch']:.2f} ms"
    )
    print(json.dumps({"small": small, "big": big}))


if __name__ == "__main__":
    main()
