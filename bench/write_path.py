"""Write-path benchmark: PUT /me/entries against a bare durable upsert, side by side.

Starts, in one run and under the same gunicorn settings (2 sync workers):
  * the real app (wsgi:app) on a fresh migrated database, and
  * a bare WSGI handler doing the same durable upsert with raw sqlite3
    (WAL, synchronous=FULL, one kept connection per worker),
drives both with wrk at the same concurrency and prints the app's PUT
throughput as a ratio of the bare handler's (target >= 0.75). Then prints
entries per second through POST /me/sync in 500-entry batches, for one phone at a
time and for several phones at once (target >= 10,000/s).

Run: make bench-write   (or .venv/bin/python bench/write_path.py [--seconds 10])
Needs wrk (Debian package `wrk`; `make bench-deps` installs it).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from diary import auth, people  # noqa: E402
from diary import db as dbmod  # noqa: E402
from diary.clock import to_utc_text, utcnow  # noqa: E402

RAW_HANDLER = textwrap.dedent('''
    """A bare WSGI handler: parse JSON, durable upsert with raw sqlite3, answer JSON."""
    import json, os, sqlite3

    _conn = None

    def _db():
        global _conn
        if _conn is None:
            _conn = sqlite3.connect(os.environ["RAW_DB"], isolation_level=None)
            _conn.execute("PRAGMA journal_mode=WAL")
            _conn.execute("PRAGMA synchronous=FULL")
            _conn.execute("PRAGMA busy_timeout=10000")
            _conn.execute("CREATE TABLE IF NOT EXISTS entries (patient_id TEXT, date TEXT, pain INTEGER,"
                          " recorded_at TEXT, PRIMARY KEY (patient_id, date)) WITHOUT ROWID")
        return _conn

    def app(environ, start_response):
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(size))
        day = environ["PATH_INFO"].rsplit("/", 1)[-1]
        conn = _db()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO entries VALUES ('p', ?, ?, ?) ON CONFLICT (patient_id, date) DO UPDATE"
                     " SET pain = excluded.pain, recorded_at = excluded.recorded_at",
                     (day, body["pain"], body["recorded_at"]))
        conn.execute("COMMIT")
        out = json.dumps({"date": day, "pain": body["pain"], "recorded_at": body["recorded_at"]}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
        return [out]
''')

# The same upsert in a bare Flask view: the floor the fixed stack can reach.
FLASK_HANDLER = textwrap.dedent("""
    from flask import Flask, request
    import raw_handler

    app = Flask(__name__)

    @app.put("/api/v1/me/entries/<day>")
    def put(day):
        body = request.get_json()
        conn = raw_handler._db()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO entries VALUES ('p', ?, ?, ?) ON CONFLICT (patient_id, date) DO UPDATE"
                     " SET pain = excluded.pain, recorded_at = excluded.recorded_at",
                     (day, body["pain"], body["recorded_at"]))
        conn.execute("COMMIT")
        return {"date": day, "pain": body["pain"], "recorded_at": body["recorded_at"]}
""")

# Each wrk thread writes its own recorded_at sequence, so every request is a real update.
WRK_SCRIPT = textwrap.dedent("""
    local counter = 0
    local thread_id = 0
    local token = os.getenv("BENCH_TOKEN")
    local base = 1767225600
    -- Each run starts later than the last, so its versions are the newest.
    local at_base = tonumber(os.getenv("BENCH_AT_BASE"))
    function setup(thread) thread_id = thread_id + 1; thread:set("tid", thread_id) end
    function request()
        counter = counter + 1
        -- Threads write disjoint days, so no request is a stale conflict.
        local day = os.date("!%Y-%m-%d", base - ((counter % 700) + 700 * (tid - 1)) * 86400)
        local at = os.date("!%Y-%m-%dT%H:%M:%S+00:00", at_base + counter)
        local body = '{"pain": ' .. (counter % 11) .. ', "recorded_at": "' .. at .. '"}'
        return wrk.format("PUT", "/api/v1/me/entries/" .. day,
            {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
    end
    function done(summary, latency, requests)
        io.write(string.format("NON2XX %d\\n", summary.errors.status))
    end
""")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, path, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on {port} did not start")


def gunicorn(app_spec, port, env, chdir, log_path):
    # The app logs one line per request (ids only); a file keeps that cost real
    # without a pipe that nobody reads filling up and blocking the workers.
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--chdir",
                chdir,
                "--log-level",
                "warning",
                app_spec,
            ],
            env=env,
            stdout=log,
            stderr=log,
        )


def setup_database(path, patients=1):
    """A migrated database with ``patients`` enrolled devices; return their tokens."""
    dbmod.migrate(path)
    conn = dbmod.connect(path)
    now = utcnow()
    tokens = []
    with dbmod.write(conn):
        clinic = people.create_clinic(conn, "Bench Clinic", now)
        for n in range(patients):
            patient = people.create_patient(
                conn, clinic["id"], {"display_name": f"Bench {n}", "timezone": "Europe/London"}, now, 7
            )
            token, token_hash = auth.new_token()
            conn.execute(
                "INSERT INTO tokens (token_hash, kind, patient_id, device_name, created_at, last_used_at) "
                "VALUES (?, 'patient', ?, 'bench', ?, ?)",
                (token_hash, patient["id"], to_utc_text(now), to_utc_text(now)),
            )
            tokens.append(token)
    conn.close()
    return tokens


def run_wrk(port, seconds, connections, script, token, at_base):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", script, f"http://127.0.0.1:{port}"],
        env=dict(os.environ, BENCH_TOKEN=token, BENCH_AT_BASE=str(at_base)),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = int(re.search(r"NON2XX (\d+)", out).group(1))
    return rps, non2xx


def sync_batches(port, token, batches):
    """Send ``batches`` 500-entry syncs one after another as one phone; return entries sent."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    base = datetime.now(UTC)
    total = 0
    for b in range(batches):
        recorded_at = (base + timedelta(microseconds=b)).isoformat()
        entries = [
            {
                "date": (base - timedelta(days=2 + i + 500 * (b % 4))).date().isoformat(),
                "pain": (i + b) % 11,
                "sleep_hours": 7.25,
                "mood": 5,
                "side_effects": [{"name": "headache", "severity": "mild"}] if i % 7 == 0 else [],
                "recorded_at": recorded_at,
            }
            for i in range(500)
        ]
        conn.request(
            "POST",
            "/api/v1/me/sync",
            body=json.dumps({"entries": entries}),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        resp = conn.getresponse()
        payload = json.loads(resp.read())
        assert resp.status == 200, payload
        statuses = {e["status"] for e in payload["entries"]}
        assert statuses <= {"created", "updated"}, statuses
        total += len(entries)
    return total


def sync_throughput(port, tokens, batches):
    """Entries per second stored through /me/sync by one phone per token at once."""
    with ThreadPoolExecutor(len(tokens)) as pool:
        start = time.perf_counter()
        total = sum(pool.map(lambda t: sync_batches(port, t, batches), tokens))
        return total / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--sync-batches", type=int, default=20, help="batches per syncing phone")
    parser.add_argument(
        "--sync-clients", type=int, default=4, help="phones syncing at once (as wrk's connections for PUT)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: run `make bench-deps` (apt-get install wrk)")
    work = tempfile.mkdtemp(prefix="bench-write-")
    app_db = os.path.join(work, "app.sqlite3")
    tokens = setup_database(app_db, patients=1 + args.sync_clients)
    token = tokens[0]
    with open(os.path.join(work, "raw_handler.py"), "w") as fh:
        fh.write(RAW_HANDLER)
    with open(os.path.join(work, "flask_handler.py"), "w") as fh:
        fh.write(FLASK_HANDLER)
    script = os.path.join(work, "put.lua")
    with open(script, "w") as fh:
        fh.write(WRK_SCRIPT)
    ports = {"app": free_port(), "raw": free_port(), "flask": free_port()}
    env = dict(os.environ, DIARY_DATABASE=app_db, RAW_DB=os.path.join(work, "raw.sqlite3"), PYTHONPATH=ROOT)
    log_path = os.path.join(work, "servers.log")
    servers = [
        gunicorn("wsgi:app", ports["app"], env, ROOT, log_path),
        gunicorn("raw_handler:app", ports["raw"], env, work, log_path),
        gunicorn("flask_handler:app", ports["flask"], env, work, log_path),
    ]
    try:
        wait_for(ports["app"], "/healthz")
        for name in ("raw", "flask"):
            wait_for(ports[name], "/warmup")
        print(
            f"# write_path benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
            f"{os.cpu_count()} cores, gunicorn 2 workers each, wrk -t2 -c{args.connections} "
            f"-d{args.seconds}s"
        )
        # Alternate the order so drift on a noisy machine hits both sides alike.
        results = {"raw": [], "flask": [], "app": []}
        at_base = int(time.time()) - 10_000_000
        for order in (("raw", "flask", "app"), ("app", "flask", "raw")):
            for name in order:
                port = ports[name]
                at_base += 1_000_000
                rps, non2xx = run_wrk(port, args.seconds // 2 or 1, args.connections, script, token, at_base)
                if non2xx:
                    print(f"warning: {name} answered {non2xx} non-2xx responses")
                results[name].append(rps)
        raw, flask, app = (sum(results[k]) / 2 for k in ("raw", "flask", "app"))
        print(f"raw durable upsert handler (bare WSGI): {raw:8.0f} req/s")
        print(f"same upsert in a bare Flask view:        {flask:8.0f} req/s  ratio to raw {flask / raw:.2f}")
        print(
            f"PUT /me/entries (the app):               {app:8.0f} req/s  ratio to raw {app / raw:.2f}"
            f"  (target >= 0.75); to the bare Flask view {app / flask:.2f}"
        )
        one = sync_throughput(ports["app"], tokens[1:2], args.sync_batches)
        many = sync_throughput(ports["app"], tokens[1:], args.sync_batches)
        print(f"POST /me/sync, 500-entry batches, one phone at a time:  {one:8.0f} entries/s")
        print(
            f"POST /me/sync, 500-entry batches, {args.sync_clients} phones at once:    {many:8.0f} entries/s"
            "  (target >= 10,000/s)"
        )
    finally:
        for s in servers:
            s.terminate()
            s.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
