"""Issue 5, point 3: 4 processes writing to one database at once never see "database is locked".

Each of 4 processes (multiprocessing, spawn) builds the real app on the same SQLite file
and, released together by a barrier, writes its items through the Flask test client:
entry PUTs, dose PUTs, small /me/sync batches and DELETEs, interleaved at random, with
exceptions propagating (app.testing) so a locked database surfaces as the exception
itself. Afterwards: zero "database is locked" (or any other) errors, every item present
with the content sent last (deleted ones gone), the four write phases overlapped in time,
and integrity_check is ok.

Sizes:
    CI default:  4 processes x 500 items.
    Larger:      DIARY_CONCURRENCY_ITEMS=5000 DIARY_CONCURRENCY_PROCESSES=8 \
                 .venv/bin/python -m pytest tests/reliability/test_concurrency.py -q
"""

import multiprocessing
import random
import time
import traceback
from datetime import date

import pytest

from diary import db as dbmod
from tests.reliability.harness import (
    ACK_SYNC,
    ItemFactory,
    env_int,
    integrity,
    read_item,
    seed_patients,
    stored_form,
    sync_body,
    sync_statuses,
)

PROCESSES = env_int("DIARY_CONCURRENCY_PROCESSES", 4)
ITEMS = env_int("DIARY_CONCURRENCY_ITEMS", 500)
SYNC_ITEMS = 10
TIMEOUT_SECONDS = 60 + ITEMS * PROCESSES // 20


def concurrent_writer(db_path, index, patient, barrier, results):
    """Write ITEMS mixed items for one patient; put (index, errors, final state, start, end) on results."""
    errors, final, started, ended = [], {}, None, None
    try:
        from diary import create_app

        app = create_app({"DATABASE": db_path, "LOG_LEVEL": "WARNING"})
        app.testing = True  # an exception (a locked database) reaches us instead of becoming a 500
        client = app.test_client()
        headers = patient["headers"]
        rng = random.Random(index)
        items = ItemFactory(index, date.today())
        client.get("/healthz")
        barrier.wait(60)
        started = time.time()
        written = 0
        while written < ITEMS:
            live = [k for k, c in final.items() if c is not None]
            roll = rng.random()
            try:
                if roll < 0.1 and live:
                    kind, ident = key = rng.choice(live)
                    r = client.delete(
                        f"/api/v1/me/{'entries' if kind == 'entry' else 'doses'}/{ident}", headers=headers
                    )
                    ok, sent = r.status_code == 204, [(key, None)]
                elif roll < 0.45:
                    key, content = items.entry(rng.randint(1, 300))
                    r = client.put(f"/api/v1/me/entries/{key[1]}", json=content, headers=headers)
                    ok, sent = r.status_code in (200, 201), [(key, content)]
                elif roll < 0.8:
                    doses = [k for k in live if k[0] == "dose"]
                    key, content = items.dose(rng.choice(doses)[1] if doses and rng.random() < 0.3 else None)
                    r = client.put(f"/api/v1/me/doses/{key[1]}", json=content, headers=headers)
                    ok, sent = r.status_code in (200, 201), [(key, content)]
                else:
                    batch = [
                        (*items.entry(back), None) for back in rng.sample(range(301, 600), SYNC_ITEMS // 2)
                    ]
                    batch += [(*items.dose(), None) for _ in range(SYNC_ITEMS - len(batch))]
                    r = client.post("/api/v1/me/sync", json=sync_body(batch), headers=headers)
                    ok = r.status_code == 200 and set(sync_statuses(r.json)) <= ACK_SYNC
                    sent = [(key, content) for key, content, _ in batch]
            except Exception as exc:  # the point of the test: nothing may raise here
                errors.append(f"process {index}: {type(exc).__name__}: {exc}")
                written += 1
                continue
            if not ok:
                errors.append(f"process {index}: HTTP {r.status_code} {r.get_data(as_text=True)[:200]}")
            else:
                for key, content in sent:
                    final[key] = content
            written += len(sent)
        ended = time.time()
    except Exception:
        errors.append(f"process {index}: {traceback.format_exc()}")
    results.put((index, errors, final, started, ended))


@pytest.mark.slow
def test_four_processes_write_at_once_without_locked_errors(tmp_path):
    db_path = str(tmp_path / "diary.sqlite3")
    dbmod.migrate(db_path)
    patients = seed_patients(db_path, PROCESSES)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=concurrent_writer, args=(db_path, i, patients[i], barrier, results), daemon=True)
        for i in range(PROCESSES)
    ]
    outcomes = {}
    try:
        for p in procs:
            p.start()
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while len(outcomes) < PROCESSES and time.monotonic() < deadline:
            try:
                index, errors, final, started, ended = results.get(timeout=1)
            except Exception:
                assert all(p.is_alive() or p.exitcode == 0 for p in procs), "a writer process died"
                continue
            outcomes[index] = (errors, final, started, ended)
        for p in procs:
            p.join(10)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(5)
    assert len(outcomes) == PROCESSES, "writers did not finish in time"
    errors = [e for errors, *_ in outcomes.values() for e in errors]
    locked = [e for e in errors if "locked" in e]
    assert locked == [] and errors == [], errors[:5]
    # The write phases really overlapped.
    starts = [o[2] for o in outcomes.values()]
    ends = [o[3] for o in outcomes.values()]
    assert max(starts) < min(ends)
    conn = dbmod.connect(db_path)
    try:
        present = 0
        for index, (_, final, *_) in outcomes.items():
            pid = patients[index]["id"]
            for key, content in final.items():
                assert read_item(conn, pid, key) == stored_form(key[0], content), (index, key)
                present += content is not None
        live = conn.execute(
            "SELECT (SELECT COUNT(*) FROM entries WHERE deleted = 0)"
            " + (SELECT COUNT(*) FROM doses WHERE deleted = 0)"
        ).fetchone()[0]
    finally:
        conn.close()
    assert live == present > PROCESSES * ITEMS // 3
    assert integrity(db_path) == "ok"
    print(
        f"\nconcurrency: {PROCESSES} processes x {ITEMS} items, {present} live items, "
        f"write phase {max(ends) - min(starts):.1f} s"
    )
