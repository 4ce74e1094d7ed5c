"""Patient app benchmark: a year of diary queued offline, synced once the network returns.

In one run, under the same server (gunicorn, 2 workers, a fresh migrated database, as `make run`):
  * the patient app in headless Chromium (phone viewport) is enrolled, taken offline, and 365
    days are queued through its own outbox (an entry and a dose per day: 730 changes), then the
    network returns; the time from the browser's `online` event to the status line saying
    "All synced" is measured in the page (target <= 3 s);
  * the same 730 changes, posted straight to POST /me/sync from Python in the same batches,
    are timed side by side: what the server alone needs, so the app's own share shows.

Run: make bench-app   (or .venv/bin/python bench/app_sync.py [--days 365] [--runs 3])
Needs Debian's chromium and the test extra (playwright), like the browser tests.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from diary import db as dbmod  # noqa: E402
from diary import people  # noqa: E402
from diary.cli import gunicorn_argv  # noqa: E402
from diary.clock import utcnow  # noqa: E402
from tests.browser import PHONE, chromium  # noqa: E402

TARGET_SECONDS = 3.0
ZONE = "Europe/London"
BATCH = 250  # the app's batch size (diary/web/app/js/sync.js)

QUEUE_YEAR = """async (days) => {
    const { saveEntries, saveDose } = await import('./js/outbox.js');
    const { addDays, isoWithOffset, localInstant } = await import('./js/days.js');
    const { today } = await import('./js/state.js');
    const list = [];
    for (let i = 1; i <= days; i++) {
        const day = addDays(today(), -i);
        list.push({ date: day, fields: { pain: i % 11, mood: (i * 7) % 11, sleep_hours: 7.25,
            side_effects: [{ name: 'vivid_dreams', severity: 'mild', note: null }], notes: `day ${i}` } });
        await saveDose({ medication: 'naltrexone', amount_mg: 4.5, status: 'taken', note: null,
            taken_at: isoWithOffset(localInstant(day, '22:00')) });
    }
    await saveEntries(list);
}"""

# Stamps, in page time, the browser's online event and the status line turning "All synced".
WATCH = """() => {
    window.__bench = {};
    addEventListener('online', () => { window.__bench.online = performance.now(); });
    const status = document.getElementById('sync-status');
    new MutationObserver(() => {
        if (window.__bench.online && !window.__bench.synced && status.textContent === 'All synced') {
            window.__bench.synced = performance.now();
        }
    }).observe(status, { childList: true, characterData: true, subtree: true });
}"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(database):
    port = free_port()
    env = dict(os.environ, DIARY_DATABASE=database, DIARY_LOG_LEVEL="WARNING")
    proc = subprocess.Popen(gunicorn_argv("127.0.0.1", port, 2), cwd=ROOT, env=env)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def new_patient(database):
    """A patient with an LDN regimen; returns (patient id, enrollment code)."""
    conn = dbmod.connect(database)
    now = utcnow()
    with dbmod.write(conn):
        clinic = people.create_clinic(conn, "Bench clinic", now)
        patient = people.create_patient(
            conn, clinic["id"], {"display_name": "Bench", "timezone": ZONE}, now, 7
        )
        people.put_regimen(
            conn,
            patient["id"],
            {
                "medication": "naltrexone",
                "dose_time": "22:00",
                "steps": [{"start_date": (now - timedelta(days=400)).date(), "dose_mg": 4500}],
            },
            now,
        )
    conn.close()
    return patient["id"], patient["enrollment_code"]


def app_run(browser, base, code, days):
    """Seconds from `online` to "All synced" in the app, and how many /me/sync requests it sent."""
    ctx = browser.new_context(viewport=PHONE, timezone_id=ZONE, service_workers="allow")
    page = ctx.new_page()
    page.goto(f"{base}/app/enroll#code={code}")
    page.get_by_role("button", name="Connect").click()
    page.locator("#sync-status", has_text="All synced").wait_for(timeout=30_000)
    ctx.set_offline(True)
    page.evaluate(QUEUE_YEAR, days)
    page.locator("#sync-status", has_text=f"{2 * days} changes waiting to sync").wait_for(timeout=30_000)
    page.evaluate(WATCH)
    posts = []
    page.on("request", lambda r: posts.append(r) if r.url.endswith("/me/sync") else None)
    ctx.set_offline(False)
    page.locator("#sync-status", has_text="All synced").wait_for(timeout=60_000)
    stamps = page.evaluate("() => window.__bench")
    ctx.close()
    return (stamps["synced"] - stamps["online"]) / 1000, len(posts)


def api_run(port, code, days):
    """The same changes posted straight to /me/sync in the app's batch size: the server's share."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/api/v1/enroll", json.dumps({"code": code, "device_name": "bench"}),
                 {"Content-Type": "application/json"})  # fmt: skip
    token = json.loads(conn.getresponse().read())["token"]
    today = datetime.now(UTC).date()
    now = datetime.now(UTC).isoformat()
    items = []
    for i in range(1, days + 1):
        day = (today - timedelta(days=i)).isoformat()
        items.append(("entries", {"date": day, "pain": i % 11, "mood": (i * 7) % 11, "sleep_hours": 7.25,
                                  "side_effects": [{"name": "vivid_dreams", "severity": "mild", "note": None}],
                                  "notes": f"day {i}", "recorded_at": now}))  # fmt: skip
        items.append(("doses", {"id": f"00000000-0000-4000-8000-{i:012d}", "medication": "naltrexone",
                                "amount_mg": 4.5, "status": "taken", "note": None,
                                "taken_at": f"{day}T22:00:00+00:00", "recorded_at": now}))  # fmt: skip
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    for at in range(0, len(items), BATCH):
        body = {"entries": [], "doses": [], "deleted_entries": [], "deleted_doses": []}
        for kind, item in items[at : at + BATCH]:
            body[kind].append(item)
        conn.request("POST", "/api/v1/me/sync", json.dumps(body), headers)
        answer = conn.getresponse()
        assert answer.status == 200, answer.read()
        answer.read()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = os.path.join(tmp, "bench.sqlite3")
        dbmod.migrate(database)
        server, port = start_server(database)
        base = f"http://127.0.0.1:{port}"
        app_times, api_times, posts = [], [], 0
        try:
            with chromium() as browser:
                for _ in range(args.runs):
                    _, code = new_patient(database)
                    seconds, posts = app_run(browser, base, code, args.days)
                    app_times.append(seconds)
                    _, code = new_patient(database)
                    api_times.append(api_run(port, code, args.days))
        finally:
            server.terminate()
            server.wait(15)
    changes = 2 * args.days
    app_median, api_median = statistics.median(app_times), statistics.median(api_times)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# app_sync benchmark {stamp}, {os.cpu_count()} cores, gunicorn 2 workers, headless Chromium")
    print(f"{args.days} days queued offline = {changes} changes, sent in {posts} POST /me/sync batches")
    print(
        f"app, online -> 'All synced': median {app_median:.2f} s, max {max(app_times):.2f} s over {args.runs} runs"
        f"   (target <= {TARGET_SECONDS:.0f} s; median / target {app_median / TARGET_SECONDS:.2f})"
    )
    print(
        f"same batches posted from Python: median {api_median:.2f} s, max {max(api_times):.2f} s"
        f"   (app / server alone {app_median / api_median:.2f})"
    )


if __name__ == "__main__":
    main()
