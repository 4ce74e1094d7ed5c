"""Connections (pragmas), write transactions and the migrations runner."""

import contextlib
import fcntl
import itertools
import os
import sqlite3
import threading

import sqlite_utils

from diary.migrations import migrations

BUSY_TIMEOUT_MS = 10_000
# Writers queue on an OS file lock before BEGIN IMMEDIATE: the kernel wakes the
# next writer the moment the lock is free, where SQLite's busy handler sleeps
# 1, 2, 5, 10 ... ms between retries (measured: 4x the PUT throughput with 2 workers).
WRITE_LOCK_SUFFIX = ".write.lock"

_local = threading.local()


class DiaryConnection(sqlite3.Connection):
    """A connection that also holds the file used to queue writers (see ``write``)."""

    write_lock = None

    def close(self):
        super().close()
        if self.write_lock is not None:
            self.write_lock.close()


# Diary notes are health data: the database, its -wal and -shm, and our lock files are
# readable by the service account only, whatever the umask (SQLite gives -wal and -shm
# the mode of the database file).
PRIVATE_FILE_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700


def make_private_folder(folder):
    """Create ``folder`` and any missing parents with mode 0700 (an existing folder is left alone)."""
    folder = os.path.abspath(folder)
    if os.path.isdir(folder):
        return
    make_private_folder(os.path.dirname(folder))
    try:
        os.mkdir(folder, PRIVATE_FOLDER_MODE)
    except FileExistsError:
        return  # another process made it first
    os.chmod(folder, PRIVATE_FOLDER_MODE)


def open_private(path, mode="a+b"):
    """Open (creating when missing) a file only the service account can read or write."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    _tighten(path, fd)
    return os.fdopen(fd, mode)


def _tighten(path, fd=None):
    # An older release created these 0644 under the default umask. By path, never by opening
    # the database: closing any descriptor of it drops every POSIX lock this process holds on
    # it, the locks SQLite's other connections rely on (sqlite.org/howtocorrupt.html, 2.2).
    info = os.fstat(fd) if fd is not None else os.stat(path)
    if info.st_mode & 0o077 and info.st_uid == os.geteuid():
        if fd is not None:
            os.fchmod(fd, PRIVATE_FILE_MODE)
        else:
            os.chmod(path, PRIVATE_FILE_MODE)


def _private_database_files(path):
    make_private_folder(os.path.dirname(os.path.abspath(path)))
    # A new database is created here, owner-only, so SQLite opens it as it is and copies its
    # mode to -wal and -shm. O_EXCL: an existing file is never opened (see _tighten).
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE))
    except FileExistsError:
        pass
    for name in (path, path + "-wal", path + "-shm"):
        try:
            _tighten(name)
        except FileNotFoundError:
            pass


def connect(path):
    """Open a connection with the pragmas every connection must have."""
    path = str(path)
    if path != ":memory:":
        _private_database_files(path)
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so the
    # driver never opens a deferred transaction that later fails to upgrade.
    conn = sqlite3.connect(
        path,
        isolation_level=None,
        check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000,
        factory=DiaryConnection,
    )
    if path != ":memory:":
        conn.write_lock = open_private(path + WRITE_LOCK_SUFFIX)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    # journal_mode is persistent in the file; setting it again is cheap.
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: an acknowledged entry survives a power cut (the phone may delete
    # its copy once we answer 200).
    conn.execute("PRAGMA synchronous = FULL")
    # Deleted and overwritten content is zeroed, so an erased patient's notes
    # do not linger in free space (DELETE /me). Measured here: 1,500 one-row
    # upsert transactions, median of 5, 3,638/s off vs 3,231/s on (fsync noise +-20%).
    conn.execute("PRAGMA secure_delete = ON")
    return conn


def get_conn(path):
    """Return this thread's kept connection to ``path``, opening it once."""
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    conn = conns.get(path)
    if conn is None:
        conn = conns[path] = connect(path)
    return conn


def close_thread_connections():
    """Close every connection this thread keeps (tests, CLI exit)."""
    for conn in getattr(_local, "conns", {}).values():
        conn.close()
    _local.conns = {}


@contextlib.contextmanager
def write(conn):
    """Run a block in one ``BEGIN IMMEDIATE`` transaction, or a SAVEPOINT inside an open one."""
    if conn.in_transaction:
        with _savepoint(conn):
            yield conn
        return
    lock = getattr(conn, "write_lock", None)
    if lock is not None:
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            # A failed COMMIT (a deferred constraint, a full disk) leaves the transaction
            # open: it is rolled back below like any other failure.
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_UN)


_savepoints = itertools.count()


@contextlib.contextmanager
def _savepoint(conn):
    # Already inside the caller's transaction (and its write lock): an inner failure undoes
    # only the inner block; the outer transaction decides whether anything commits.
    name = f"diary_{next(_savepoints)}"
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield conn
    except BaseException:
        # A constraint with ON CONFLICT ROLLBACK can end the whole transaction first.
        if conn.in_transaction:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
        raise
    else:
        conn.execute(f"RELEASE {name}")


@contextlib.contextmanager
def read(conn):
    """Run reads in one read transaction, so they all see the same commit."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def rollback_leftover(path):
    """Roll back a transaction this thread's kept connection to ``path`` left open; True if one was."""
    conn = getattr(_local, "conns", {}).get(path)
    if conn is None or not conn.in_transaction:
        return False
    conn.execute("ROLLBACK")
    return True


def next_seq(conn):
    """Take the next change sequence number inside the open write transaction."""
    return conn.execute(
        "UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value"
    ).fetchone()[0]


def migrate(path):
    """Create or upgrade the database at ``path``; return applied migration names."""
    conn = connect(path)
    try:
        db = sqlite_utils.Database(conn, execute_plugins=False)
        before = {m.name for m in migrations.applied(db)}
        migrations.apply(db)
        after = [m.name for m in migrations.applied(db)]
        return [name for name in after if name not in before]
    finally:
        conn.close()


def pending_migrations(path):
    """Names of migrations not yet applied to the database at ``path``."""
    conn = connect(path)
    try:
        db = sqlite_utils.Database(conn, execute_plugins=False)
        return [m.name for m in migrations.pending(db)]
    finally:
        conn.close()
