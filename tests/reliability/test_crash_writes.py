"""Issue 5, point 1: nothing the service acknowledged is lost when it is SIGKILLed.

The real service (gunicorn, 2 workers, loopback) takes single ``PUT /me/entries/{date}``,
``PUT /me/doses/{uuid}`` and 500-item ``POST /me/sync`` batches from several client
threads (one patient and device each). Each client remembers every item the server
acknowledged (2xx; for sync, items answered created/updated/unchanged/deleted) and the
one request it has in flight. The whole gunicorn process group (arbiter and workers) is
SIGKILLed at random moments and restarted. After each restart every acknowledged item is
stored with its acknowledged content (or the newer version that was in flight), and
``PRAGMA integrity_check`` is ok; then every client first resends its unanswered request,
which must succeed idempotently (200/201, sync created/updated/unchanged/deleted, never a
5xx) with the content sent. At the end the running service lists exactly what was sent last.

Sizes:
    CI default:  5 kills (about 30 s).
    Issue size:  DIARY_CRASH_KILLS=20 .venv/bin/python -m pytest tests/reliability/test_crash_writes.py -q
    DIARY_CRASH_SEED=<n> replays a run's kill moments and items.
"""

import random
import threading
import time
from datetime import date

import pytest
import requests

from diary import db as dbmod
from tests.reliability.harness import (
    ACK_SYNC,
    API,
    Gunicorn,
    ItemFactory,
    env_int,
    integrity,
    read_item,
    row_form,
    seed_patients,
    stored_form,
    sync_body,
    sync_statuses,
)

KILLS = env_int("DIARY_CRASH_KILLS", 5)
SEED = env_int("DIARY_CRASH_SEED", random.randrange(1_000_000))
# The clients and their modes: every request kind runs in every cycle.
MODES = ("entry", "dose", "sync", "sync")
SYNC_SIZE = 500
RUN_SECONDS_PER_KILL = (0.4, 2.5)
# Hard bound of the whole run, whatever happens.
DEADLINE_SECONDS = 60 + 20 * KILLS


class Control:
    def __init__(self):
        self.up = threading.Event()  # clients may send
        self.stop = threading.Event()  # clients finish their in-flight request and leave
        self.deadline = time.monotonic() + DEADLINE_SECONDS


class Client(threading.Thread):
    """One phone: sends one request at a time and resends an unanswered one until it is answered."""

    def __init__(self, name, mode, patient, base, ctl, seed):
        super().__init__(name=name, daemon=True)
        self.mode, self.patient, self.base, self.ctl = mode, patient, base, ctl
        self.rng = random.Random(seed)
        self.items = ItemFactory(seed, date.today())
        self.lock = threading.Lock()
        self.acked = {}  # key -> content the server acknowledged last (None: deleted)
        self.inflight = None  # (method, path, body, [(key, content)]) not yet answered
        self.errors = []
        self.stats = {"requests": 0, "acked_items": 0, "resends": 0, "resends_found_committed": 0}

    # -- what to send next ------------------------------------------------------

    def _live(self, kind):
        return [k for k, c in self.acked.items() if k[0] == kind and c is not None]

    def _next(self):
        rng, items = self.rng, self.items
        if self.mode == "entry":
            key, content = items.entry(rng.randint(1, 60))
            return "PUT", f"/me/entries/{key[1]}", content, [(key, content)]
        if self.mode == "dose":
            live = self._live("dose")
            key, content = items.dose(rng.choice(live)[1] if live and rng.random() < 0.3 else None)
            return "PUT", f"/me/doses/{key[1]}", content, [(key, content)]
        batch, used = [], set()
        for back in rng.sample(range(1, 401), 200):
            key, content = items.entry(back)
            batch.append((key, content, None))
            used.add(key)
        live_doses = self._live("dose")
        updates = rng.sample(live_doses, min(50, len(live_doses)))
        for key in updates:
            batch.append((*items.dose(key[1]), None))
            used.add(key)
        for _ in range(250 - len(updates)):
            batch.append((*items.dose(), None))
        for kind, n in (("entry", 25), ("dose", 25)):
            candidates = [k for k in self._live(kind) if k not in used]
            for key in rng.sample(candidates, min(n, len(candidates))):
                batch.append((key, None, items.stamp()))
                used.add(key)
        while len(batch) < SYNC_SIZE:
            batch.append((*items.dose(), None))
        return "POST", "/me/sync", sync_body(batch), [(key, content) for key, content, _ in batch]

    # -- the loop -----------------------------------------------------------------

    def run(self):
        resend = False
        while time.monotonic() < self.ctl.deadline:
            with self.lock:
                if self.inflight is None:
                    if self.ctl.stop.is_set():
                        return
                    self.inflight = self._next()
                method, path, body, sent = self.inflight
            if not self.ctl.up.wait(0.5):
                continue
            self.stats["requests"] += 1
            if resend:
                self.stats["resends"] += 1
            try:
                answer = requests.request(
                    method, self.base + API + path, json=body, headers=self.patient["headers"], timeout=60
                )
            except requests.RequestException:
                # No answer: the server died. Resend the same request once it is back.
                resend = True
                time.sleep(0.02)
                continue
            acknowledged = self._check(answer, sent, resend)
            with self.lock:
                if acknowledged:
                    for key, content in sent:
                        self.acked[key] = content
                    self.stats["acked_items"] += len(sent)
                # A refused request is an error of the run (self.errors); it is not sent again.
                self.inflight = None
            resend = False

    def _check(self, answer, sent, resend):
        """Whether the answer acknowledges every item sent; record an error when it does not."""
        where = f"{self.name} {'resend' if resend else 'send'}"
        if self.mode != "sync":
            if answer.status_code not in (200, 201):
                self.errors.append(f"{where}: HTTP {answer.status_code} {answer.text[:300]}")
                return False
            ((key, content),) = sent
            got = answer.json()
            if (got["recorded_at"], got.get("notes", got.get("note"))) != (
                content["recorded_at"],
                content.get("notes", content.get("note")),
            ):
                self.errors.append(f"{where}: answered content differs for {key}")
                return False
            return True
        if answer.status_code != 200:
            self.errors.append(f"{where}: HTTP {answer.status_code} {answer.text[:300]}")
            return False
        statuses = sync_statuses(answer.json())
        bad = sorted(set(statuses) - ACK_SYNC)
        if len(statuses) != len(sent) or bad:
            self.errors.append(f"{where}: sync statuses {bad} ({len(statuses)} results for {len(sent)})")
            return False
        if resend and set(statuses) == {"unchanged"}:
            # The batch had committed before the kill: its resend changed nothing.
            self.stats["resends_found_committed"] += 1
        return True


def verify(db_path, clients):
    """Problems found: acknowledged items not stored with their content (empty list when sound)."""
    problems = []
    conn = dbmod.connect(db_path)
    try:
        for client in clients:
            # The client's lock: its acknowledged and in-flight sets cannot move while we read.
            with client.lock:
                inflight = dict(client.inflight[3]) if client.inflight else {}
                for key in set(client.acked) | set(inflight):
                    allowed = {stored_form(key[0], client.acked.get(key))}
                    if key in inflight:
                        allowed.add(stored_form(key[0], inflight[key]))
                    stored = read_item(conn, client.patient["id"], key)
                    if stored not in allowed:
                        problems.append(f"{client.name} {key}: stored {stored}, acknowledged {allowed}")
    finally:
        conn.close()
    return problems


def listed(base, patient):
    """What the running service lists for a patient: {key: comparable form}."""
    out = {}
    entries = requests.get(base + API + "/me/entries", headers=patient["headers"], timeout=30)
    doses = requests.get(base + API + "/me/doses", headers=patient["headers"], timeout=30)
    assert entries.status_code == 200 and doses.status_code == 200
    for e in entries.json()["entries"]:
        out[("entry", e["date"])] = stored_form("entry", e)
    for d in doses.json()["doses"]:
        out[("dose", d["id"])] = stored_form("dose", d)
    return out


@pytest.mark.slow
def test_acknowledged_writes_survive_sigkill_of_gunicorn(tmp_path):
    db_path = str(tmp_path / "diary.sqlite3")
    dbmod.migrate(db_path)
    patients = seed_patients(db_path, len(MODES))
    server = Gunicorn(db_path, str(tmp_path / "gunicorn.log"))
    ctl = Control()
    rng = random.Random(SEED)
    clients = [
        Client(f"{mode}-{i}", mode, patients[i], server.base, ctl, SEED * 10 + i)
        for i, mode in enumerate(MODES)
    ]
    report = []
    try:
        server.start()
        for client in clients:
            client.start()
        ctl.up.set()
        for kill in range(KILLS):
            time.sleep(rng.uniform(*RUN_SECONDS_PER_KILL))
            ctl.up.clear()
            server.kill()
            # The file exactly as the crash left it, before anything reopens it.
            assert integrity(db_path) == "ok", f"seed {SEED}, kill {kill}"
            server.start()
            problems = verify(db_path, clients)
            assert problems == [], f"seed {SEED}, kill {kill}: {problems[:5]}"
            assert integrity(db_path) == "ok"
            report.append(sum(c.stats["acked_items"] for c in clients))
            ctl.up.set()
        time.sleep(1.0)
        ctl.stop.set()
        for client in clients:
            client.join(timeout=max(1.0, ctl.deadline - time.monotonic()))
        assert not any(c.is_alive() for c in clients), f"seed {SEED}: clients did not finish in time"
        errors = [e for c in clients for e in c.errors]
        assert errors == [], f"seed {SEED}: {errors[:5]}"
        # Every resend has been answered: the running service lists exactly the last version sent.
        for client in clients:
            assert client.inflight is None
            expected = {k: stored_form(k[0], c) for k, c in client.acked.items() if c is not None}
            assert listed(server.base, client.patient) == expected, f"seed {SEED}: {client.name}"
        assert verify(db_path, clients) == []
    finally:
        ctl.stop.set()
        ctl.up.set()
        server.kill()
    stats = {k: sum(c.stats[k] for c in clients) for k in clients[0].stats}
    print(f"\ncrash writes: seed {SEED}, {KILLS} kills, acknowledged items after each kill {report}, {stats}")
    # The run really exercised the promise: many acknowledged items, and resends after kills.
    assert stats["acked_items"] > 1000 and stats["resends"] >= 1


def test_verify_finds_a_lost_or_changed_item(tmp_path):
    """The check above can fail: an acknowledged item missing or altered in the file is reported."""
    db_path = str(tmp_path / "diary.sqlite3")
    dbmod.migrate(db_path)
    [patient] = seed_patients(db_path, 1)

    class Fake:
        name, lock, inflight = "fake", threading.Lock(), None

    fake = Fake()
    fake.patient = patient
    items = ItemFactory(1, date.today())
    key, content = items.entry(3)
    fake.acked = {key: content}
    assert len(verify(db_path, [fake])) == 1  # never stored: lost
    conn = dbmod.connect(db_path)
    try:
        from diary import records
        from diary.schemas.diary import EntryIn

        with dbmod.write(conn):
            records.upsert_entry(
                conn, patient["id"], key[1], EntryIn().load(content), items.clock, dbmod.next_seq(conn)
            )
        assert verify(db_path, [fake]) == []  # stored as acknowledged
        assert read_item(conn, patient["id"], key) == stored_form("entry", content)
        conn.execute("UPDATE entries SET pain = (pain + 1) % 11 WHERE patient_id = ?", (patient["id"],))
        assert len(verify(db_path, [fake])) == 1  # stored, but not what was acknowledged
        fake.inflight = ("PUT", "", {}, [(key, None)])
        conn.execute("UPDATE entries SET deleted = 1 WHERE patient_id = ?", (patient["id"],))
        assert verify(db_path, [fake]) == []  # an in-flight deletion may have committed
        assert row_form("entry", None) is None
    finally:
        conn.close()
