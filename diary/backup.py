"""Consistent online backups of the database, and restores that refuse a database in use.

Backup: SQLite's online backup API copies every page in one step, that is inside one
read transaction, so the copy is the database as of one commit while web workers and
the scheduler keep writing (WAL readers never block writers). The copy is made next
to the destination, switched to a self-contained rollback-journal file, checked with
``PRAGMA integrity_check``, fsynced, and only then linked into place; ``os.link``
fails when the destination exists, so an existing file is never overwritten, even by
a race.

Restore: the backup is copied next to the target and checked there first (a diary
database: its migrations table and tables; ``integrity_check`` ok; no migration this
code does not know). Then the target must be idle:

* the reminder scheduler holds an flock on ``<database>.scheduler.lock`` for its whole
  life; we take the same lock without waiting (and keep it, so no scheduler starts
  while we restore);
* no other process has the file open (``/proc/*/fd``, where readable);
* every open WAL-mode connection, in any process, holds a shared lock on the ``-shm``
  file for as long as it is open, and SQLite can leave WAL mode only when it holds the
  only connection. So ``PRAGMA journal_mode=DELETE`` fails with "database is locked"
  while any web worker or scheduler still has the database open, idle or not. When it
  succeeds it has also checkpointed and removed the ``-wal``, and ``BEGIN EXCLUSIVE``
  in rollback mode then keeps every new reader out until the new file is in place.
  (A process that opens the old file inside that window of milliseconds would read
  the replaced file: the checks above are why nothing of the service is there to.)

Then the stale ``-wal``/``-shm`` names are removed (nothing can be using them: the old
file is in rollback mode under our exclusive lock) and the checked copy is renamed over
the target, atomically, and the directory fsynced.
"""

import fcntl
import os
import shutil
import sqlite3
import tempfile

from diary.db import open_private
from diary.migrations import migrations

REQUIRED_TABLES = {"_sqlite_migrations", "patients", "entries", "doses", "reminders", "deliveries"}
# A web worker may be mid-transaction when we probe; a running one keeps its connection open anyway.
PROBE_TIMEOUT_SECONDS = 2


class BackupError(Exception):
    """A backup or restore was refused; the message says why and what to do."""


def backup(source, dest):
    """Copy the database at ``source`` to the new file ``dest``; return {path, bytes, integrity}."""
    dest = os.path.abspath(dest)
    if os.path.lexists(dest):
        raise BackupError(f"{dest} already exists; refusing to overwrite it (choose a new file name)")
    if not os.path.isfile(source):
        raise BackupError(f"no database at {source}")
    directory = os.path.dirname(dest)
    os.makedirs(directory, exist_ok=True)
    tmp = _temp_next_to(dest)
    try:
        src = sqlite3.connect(source, timeout=10)
        try:
            dst = sqlite3.connect(tmp, isolation_level=None)
            try:
                # pages=-1 (the default): one step, one read transaction, one consistent snapshot.
                src.backup(dst)
                # A self-contained file: readable without a -wal or -shm next to it.
                dst.execute("PRAGMA journal_mode = DELETE")
                integrity = _integrity(dst)
            finally:
                dst.close()
        finally:
            src.close()
        if integrity != "ok":
            raise BackupError(f"the copy failed integrity_check ({integrity}); the source may be damaged")
        _fsync(tmp)
        try:
            os.link(tmp, dest)
        except FileExistsError:
            raise BackupError(f"{dest} appeared while backing up; refusing to overwrite it") from None
        except OSError:
            # A file system without hard links: rename, after one more look.
            if os.path.lexists(dest):
                raise BackupError(f"{dest} appeared while backing up; refusing to overwrite it") from None
            os.rename(tmp, dest)
        _fsync(directory)
    finally:
        _remove(tmp, tmp + "-journal", tmp + "-wal", tmp + "-shm")
    return {"path": dest, "bytes": os.path.getsize(dest), "integrity": integrity}


def restore(backup_path, target, lock_path):
    """Replace the database ``target`` by the backup; refuse while anything uses the target.

    ``lock_path`` is the scheduler's single-instance lock file of ``target``.
    """
    backup_path, target = os.path.abspath(backup_path), os.path.abspath(target)
    if not os.path.isfile(backup_path):
        raise BackupError(f"no backup file at {backup_path}")
    if os.path.exists(backup_path + "-wal") and os.path.getsize(backup_path + "-wal") > 0:
        raise BackupError(
            f"{backup_path} has a -wal file next to it: it looks like a live database, "
            "not a backup; make one with `diary backup`"
        )
    directory = os.path.dirname(target)
    os.makedirs(directory, exist_ok=True)
    tmp = _temp_next_to(target)
    try:
        shutil.copyfile(backup_path, tmp)
        if os.path.exists(target):
            # mkstemp made the copy owner-only; a replaced database keeps its own mode.
            os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        _check_backup(tmp, backup_path)
        _fsync(tmp)
        with open_private(lock_path, "a+") as scheduler_lock:
            try:
                fcntl.flock(scheduler_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                scheduler_lock.seek(0)
                holder = scheduler_lock.read().strip() or "unknown"
                raise BackupError(
                    f"the reminder scheduler (pid {holder}) is running on {target}; "
                    "stop it and the web server first"
                ) from None
            users = _other_processes_with_open(target)
            if users:
                raise BackupError(
                    f"{target} is open in process(es) {', '.join(map(str, users))}; "
                    "stop the web server and the scheduler first"
                )
            old = _lock_out_everyone(target)
            try:
                _remove(target + "-wal", target + "-shm", target + "-journal")
                os.rename(tmp, target)
                _fsync(directory)
            except BaseException:
                if old is not None:
                    _give_back(old)
                raise
            if old is not None:
                old.close()  # its locks were on the replaced file
    finally:
        _remove(tmp, tmp + "-journal", tmp + "-wal", tmp + "-shm")
    return {"path": target, "bytes": os.path.getsize(target), "integrity": "ok", "restored_from": backup_path}


def _check_backup(path, shown):
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = REQUIRED_TABLES - tables
            if missing:
                raise BackupError(f"{shown} is not a diary database (no {', '.join(sorted(missing))} table)")
            integrity = _integrity(conn)
            if integrity != "ok":
                raise BackupError(f"{shown} fails integrity_check: {integrity}")
            applied = {
                r[0]
                for r in conn.execute(
                    "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (migrations.name,)
                )
            }
            unknown = applied - {m.name for m in migrations._migrations}
            if unknown:
                raise BackupError(f"{shown} was made by a newer version (migrations {sorted(unknown)})")
            # The service runs in WAL mode; the restored file starts in it.
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{shown} is not a diary database ({exc})") from None


def _lock_out_everyone(target):
    """An exclusive rollback-mode transaction on ``target``, or BackupError when anyone has it open.

    Returns None when the target does not exist or is not a database at all (a damaged
    file is exactly what one restores over; the /proc check above still applies).
    """
    if not os.path.exists(target):
        return None
    conn = sqlite3.connect(target, isolation_level=None, timeout=PROBE_TIMEOUT_SECONDS)
    try:
        try:
            mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise BackupError(
                    f"{target} is in use by another process (a web server or the scheduler "
                    "has it open); stop them first"
                ) from None
            raise
        if mode.lower() != "delete":
            raise BackupError(f"{target} is in use by another process (journal mode stays {mode})")
        conn.execute("BEGIN EXCLUSIVE")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError):
            raise BackupError(f"{target} is in use or unreadable: {exc}") from None
        return None  # not a database: nothing to protect inside it
    except BaseException:
        conn.close()
        raise
    return conn


def _give_back(conn):
    """Undo the lock-out after a failed restore: the old database goes back to WAL mode."""
    try:
        conn.execute("ROLLBACK")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()


def _other_processes_with_open(path):
    """Pids (other than ours) with ``path`` or its -wal/-shm open, as far as /proc lets us see."""
    names = {os.path.realpath(p) for p in (path, path + "-wal", path + "-shm") if os.path.exists(p)}
    if not names or not os.path.isdir("/proc"):
        return []
    users = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in names:
                    users.append(int(pid))
                    break
            except OSError:
                continue
    return sorted(users)


def _integrity(conn):
    return "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))


def _temp_next_to(path):
    fd, tmp = tempfile.mkstemp(
        prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=os.path.dirname(path)
    )
    os.close(fd)
    return tmp


def _fsync(path):
    """fsync a file, or a directory so a rename in it is durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(*paths):
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
