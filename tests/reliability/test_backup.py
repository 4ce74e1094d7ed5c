"""Issue 5, point 9: `diary backup` under write load, `diary restore` and its refusals.

A client thread writes new doses, entries and small sync batches through the real
service (gunicorn, 2 workers) while `diary backup PATH` runs; the backup is restored
into a fresh path with `diary restore`, where every item acknowledged before the backup
started is present with its content, nothing there is anything but what was sent,
the change counter is consistent with the rows, and integrity_check is ok. `diary restore`
refuses to replace a database that the running gunicorn or a running `diary scheduler`
uses, and succeeds on the same database once they are stopped; it refuses a file that is
not a diary database and one that fails integrity_check; `diary backup` refuses to
overwrite a file.

Sizes: fixed (about 15 s); no larger profile.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import date

import pytest
import requests

from diary import backup as backupmod
from diary import db as dbmod
from tests.reliability.harness import (
    API,
    ROOT,
    Gunicorn,
    ItemFactory,
    integrity,
    kill_group,
    read_item,
    seed_patients,
    stored_form,
    sync_body,
)


def diary(*args, database, timeout=60):
    """Run the real `diary` command; return (exit code, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "diary.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ, DIARY_DATABASE=database, DIARY_LOG_LEVEL="WARNING"),
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


class Writer(threading.Thread):
    """Writes only new items (so an acknowledged item's content never changes) until stopped."""

    def __init__(self, base, patient):
        super().__init__(daemon=True)
        self.base, self.patient = base, patient
        self.items = ItemFactory(7, date.today())
        self.rng = random.Random(7)
        self.acked = {}
        self.sent = {}
        self.errors = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        day_back = 0
        deadline = time.monotonic() + 60
        while not self.stop.is_set() and time.monotonic() < deadline:
            roll = self.rng.random()
            if roll < 0.4 and day_back < 600:
                day_back += 1
                key, content = self.items.entry(day_back)
                batch, call = [(key, content)], ("PUT", f"/me/entries/{key[1]}", content)
            elif roll < 0.8:
                key, content = self.items.dose()
                batch, call = [(key, content)], ("PUT", f"/me/doses/{key[1]}", content)
            else:
                batch = [self.items.dose() for _ in range(20)]
                call = ("POST", "/me/sync", sync_body([(k, c, None) for k, c in batch]))
            self.sent.update(batch)
            method, path, body = call
            try:
                r = requests.request(
                    method, self.base + API + path, json=body, headers=self.patient["headers"], timeout=30
                )
            except requests.RequestException as exc:
                self.errors.append(repr(exc))
                continue
            if r.status_code not in (200, 201):
                self.errors.append(f"HTTP {r.status_code} {r.text[:200]}")
                continue
            with self.lock:
                self.acked.update(batch)

    def acked_now(self):
        with self.lock:
            return dict(self.acked)


@pytest.mark.slow
def test_backup_under_load_restores_everything_acknowledged(tmp_path):
    live = str(tmp_path / "live" / "diary.sqlite3")
    dbmod.migrate(live)
    [patient] = seed_patients(live, 1)
    backup_file = str(tmp_path / "backups" / "diary-backup.sqlite3")
    fresh = str(tmp_path / "restored" / "diary.sqlite3")
    server = Gunicorn(live, str(tmp_path / "gunicorn.log"))
    writer = Writer(server.base, patient)
    try:
        server.start()
        writer.start()
        time.sleep(1.5)
        before = writer.acked_now()
        code, out, err = diary("backup", backup_file, database=live)
        during = len(writer.acked_now()) - len(before)
        time.sleep(0.5)
        writer.stop.set()
        writer.join(30)
        assert code == 0, err
        made = json.loads(out)
        assert made == {"path": backup_file, "bytes": os.path.getsize(backup_file), "integrity": "ok"}
        assert len(before) > 20 and during > 0, "the backup ran while writes were acknowledged"

        # A running gunicorn has the database open: restore refuses and changes nothing.
        inode = os.stat(live).st_ino
        code, out, err = diary("restore", backup_file, database=live)
        assert code != 0 and "stop" in err and out == "", err
        assert os.stat(live).st_ino == inode
        assert requests.get(server.base + "/healthz", timeout=5).status_code == 200
    finally:
        writer.stop.set()
        server.kill()
    assert writer.errors == []

    code, out, err = diary("restore", backup_file, database=fresh)
    assert code == 0, err
    assert json.loads(out)["path"] == fresh and integrity(fresh) == "ok"
    conn = dbmod.connect(fresh)
    try:
        assert dbmod.pending_migrations(fresh) == []
        missing = [k for k, c in before.items() if read_item(conn, patient["id"], k) != stored_form(k[0], c)]
        assert missing == [], f"{len(missing)} acknowledged items not in the backup: {missing[:3]}"
        # Consistent: every stored item is one that was sent, and the change counter covers every row.
        rows = [("entry", r["date"]) for r in conn.execute("SELECT date FROM entries")] + [
            ("dose", r["id"]) for r in conn.execute("SELECT id FROM doses")
        ]
        assert all(read_item(conn, patient["id"], k) == stored_form(k[0], writer.sent[k]) for k in rows)
        assert len(rows) >= len(before)
        counter = conn.execute("SELECT value FROM change_counter").fetchone()[0]
        top = conn.execute(
            "SELECT MAX(s) FROM (SELECT MAX(seq) s FROM entries UNION ALL SELECT MAX(seq) FROM doses)"
        ).fetchone()[0]
        assert counter >= top
    finally:
        conn.close()

    # The service is stopped now: the same restore over the live database goes through.
    code, out, err = diary("restore", backup_file, database=live)
    assert code == 0, err
    assert integrity(live) == "ok" and not os.path.exists(live + "-wal")


@pytest.mark.slow
def test_restore_refuses_while_the_scheduler_runs(tmp_path):
    db_path = str(tmp_path / "diary.sqlite3")
    dbmod.migrate(db_path)
    backup_file = str(tmp_path / "copy.sqlite3")
    assert diary("backup", backup_file, database=db_path)[0] == 0
    log = str(tmp_path / "scheduler.log")
    with open(log, "wb") as f:
        proc = subprocess.Popen(
            [sys.executable, "-m", "diary.cli", "scheduler", "--tick-seconds", "1"],
            cwd=ROOT,
            env=dict(os.environ, DIARY_DATABASE=db_path),
            stdout=f,
            stderr=f,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(log) as f:
                if "running" in f.read():
                    break
            time.sleep(0.05)
        code, out, err = diary("restore", backup_file, database=db_path)
        assert code != 0 and "scheduler" in err and f"pid {proc.pid}" in err, err
    finally:
        kill_group(proc, signal.SIGTERM)
    assert diary("restore", backup_file, database=db_path)[0] == 0


def test_an_open_wal_connection_in_another_process_blocks_the_restore(tmp_path):
    """The journal-mode probe alone (no /proc) sees an idle connection of another process."""
    db_path = str(tmp_path / "diary.sqlite3")
    dbmod.migrate(db_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sqlite3, sys, time\n"
                f"c = sqlite3.connect({db_path!r}); c.execute('SELECT 1 FROM patients').fetchall()\n"
                "print('open', flush=True); sys.stdin.read()"
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(backupmod.BackupError, match="in use"):
            backupmod._lock_out_everyone(db_path)
    finally:
        holder.kill()
        holder.wait(10)
    conn = backupmod._lock_out_everyone(db_path)
    assert conn is not None
    backupmod._give_back(conn)
    check = dbmod.connect(db_path)
    try:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        check.close()


def test_restore_refuses_files_that_are_not_sound_diary_databases(tmp_path):
    db_path = str(tmp_path / "diary.sqlite3")
    dbmod.migrate(db_path)
    target = str(tmp_path / "target" / "diary.sqlite3")
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    code, _, err = diary("restore", str(junk), database=target)
    assert code != 0 and "not a diary database" in err and not os.path.exists(target)

    other = str(tmp_path / "other.sqlite3")
    c = dbmod.connect(other)
    c.execute("CREATE TABLE notes (x)")
    c.close()
    code, _, err = diary("restore", other, database=target)
    assert code != 0 and "not a diary database" in err and not os.path.exists(target)

    good = str(tmp_path / "good.sqlite3")
    assert diary("backup", good, database=db_path)[0] == 0
    broken = str(tmp_path / "broken.sqlite3")
    shutil.copyfile(good, broken)
    conn = dbmod.connect(broken)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'change_counter'").fetchone()[0]
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(broken, "r+b") as f:  # scribble over the change_counter table's page
        f.seek((root - 1) * page + 8)
        f.write(uuid.uuid4().bytes * 8)
    code, _, err = diary("restore", broken, database=target)
    assert code != 0 and ("integrity_check" in err or "malformed" in err), err
    assert not os.path.exists(target)
    assert [p for p in os.listdir(os.path.dirname(target)) if p.endswith(".tmp")] == []

    # And backup never overwrites.
    before = open(good, "rb").read()
    code, _, err = diary("backup", good, database=db_path)
    assert code != 0 and "already exists" in err and open(good, "rb").read() == before
