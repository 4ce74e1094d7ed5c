"""Done-when 4 (second half): two tick loops at once, lock bypassed, still one delivery per date."""

import multiprocessing
import random
from collections import Counter
from datetime import timedelta

from diary import db as dbmod
from diary.clock import to_utc_text
from tests.reminders.helpers import add_patient, deliveries, utc
from tests.reminders.receiver import Receiver

START = utc(2026, 10, 24, 0, 0)
END = START + timedelta(hours=26)


def _tick_loop(path, config, minute, out):
    """Tick minute by minute over the whole window, like a second scheduler would."""
    from diary.reminders.tick import tick

    conn = dbmod.connect(path)
    total = Counter()
    now = START
    while now <= END:
        # Two real schedulers share one wall clock: keep the simulated clocks in step.
        minute.wait(60)
        total.update(tick(conn, now, config))
        now += timedelta(minutes=1)
    conn.close()
    out.put(dict(total))


def test_two_tick_loops_in_two_processes_claim_each_date_once(rdb, rconn):
    rnd = random.Random(7)
    zones = ["Europe/London", "America/New_York", "Australia/Adelaide", "Asia/Kolkata", "UTC"]
    pids = []
    for i in range(120):
        pid = add_patient(
            rconn,
            zones[i % len(zones)],
            START,
            dose_time=f"{rnd.randrange(24):02d}:{rnd.randrange(60):02d}",
            diary_time=f"{rnd.randrange(24):02d}:{rnd.randrange(60):02d}",
        )
        pids.append(pid)
        if i % 2:
            with dbmod.write(rconn):
                rconn.execute(
                    "INSERT INTO push_tokens (patient_id, platform, token, updated_at)"
                    " VALUES (?, 'android', ?, ?)",
                    (pid, f"tok-{i}", to_utc_text(START)),
                )
    expected = Counter()
    ctx = multiprocessing.get_context("spawn")
    with Receiver() as gw:
        minute, out = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_tick_loop, args=(rdb, gw.config(), minute, out)) for _ in range(2)]
        for p in procs:
            p.start()
        results = [out.get(timeout=240) for _ in procs]
        for p in procs:
            p.join(30)

    rows = deliveries(rconn)
    per_date = Counter((r["reminder_id"], r["local_date"]) for r in rows)
    assert per_date and max(per_date.values()) == 1
    # Every reminder fires on every local date whose due instant lies in the window.
    from diary.reminders import rules

    for r in rconn.execute(
        "SELECT r.id, r.time, p.timezone FROM reminders r JOIN patients p ON p.id = r.patient_id"
        " WHERE r.enabled = 1"
    ):
        occ = rules.occurrences(rules.parse_time(r["time"]), rules.ALL_DAYS, r["timezone"], START, 5)
        for day, due in occ:
            if due <= END:
                expected[(r["id"], day.isoformat())] += 1
    assert set(per_date) == set(expected)
    assert sum(res.get("due", 0) for res in results) == len(rows)
    assert all(res.get("due", 0) > 0 for res in results), results  # both loops really claimed
    assert {r["status"] for r in rows} == {"sent"}
    # The push leases kept the two loops from posting the same delivery twice.
    pushed = Counter(req["key"] for req in gw.requests)
    with_push = {r["id"] for r in rows if r["patient_id"] in set(pids[1::2])}
    assert set(pushed) == with_push and max(pushed.values()) == 1
