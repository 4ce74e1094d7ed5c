"""The live database is private to the service account: folder 0700, every database file 0600,
whatever the umask, and a database left readable by an older release is tightened."""

import os
import stat
import subprocess
import sys

import pytest

from diary import create_app
from diary import db as dbmod
from diary.reminders import process
from tests.conftest import PASSWORD, make_clinic


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    # The default umask of most accounts; a test must not depend on the runner's own.
    old = os.umask(0o022)
    yield
    os.umask(old)


def _database_files(path):
    names = [path, path + "-wal", path + "-shm", path + dbmod.WRITE_LOCK_SUFFIX, process.lock_path(path)]
    return {name: _mode(name) for name in names if os.path.exists(name)}


def test_a_new_database_is_private_to_the_service_account(tmp_path, open_umask):
    path = str(tmp_path / "instance" / "diary.sqlite3")
    dbmod.migrate(path)
    app = create_app({"DATABASE": path})
    conn = dbmod.connect(path)
    clinic = make_clinic(conn)
    client = app.test_client()
    r = client.post(
        "/api/v1/patients", json={"display_name": "Pat", "timezone": "UTC"}, headers=clinic["headers"]
    )
    assert r.status_code == 201
    lock = process.acquire_lock(path)
    try:
        files = _database_files(path)
        assert set(files) == {
            path,
            path + "-wal",
            path + "-shm",
            path + dbmod.WRITE_LOCK_SUFFIX,
            process.lock_path(path),
        }
        assert files == {name: 0o600 for name in files}
        assert _mode(tmp_path / "instance") == 0o700
    finally:
        lock.close()
        conn.close()
        dbmod.close_thread_connections()


def test_the_cli_and_a_separate_process_create_private_files(tmp_path):
    path = str(tmp_path / "deep" / "folder" / "diary.sqlite3")
    env = dict(os.environ, DIARY_DATABASE=path)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; os.umask(0o022); from diary.cli import main; sys.argv=['diary', 'migrate']; main()",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    files = _database_files(path)
    assert path in files and files == {name: 0o600 for name in files}
    assert _mode(tmp_path / "deep" / "folder") == 0o700
    assert _mode(tmp_path / "deep") == 0o700


def test_a_readable_database_of_an_older_release_is_tightened(tmp_path, open_umask):
    path = str(tmp_path / "diary.sqlite3")
    dbmod.migrate(path)
    conn = dbmod.connect(path)
    conn.execute("SELECT 1").fetchone()
    conn.close()
    for name in (path, path + "-wal", path + "-shm", path + dbmod.WRITE_LOCK_SUFFIX):
        if os.path.exists(name):
            os.chmod(name, 0o644)
    conn = dbmod.connect(path)
    try:
        files = _database_files(path)
        assert files == {name: 0o600 for name in files}
    finally:
        conn.close()


def test_a_web_login_leaves_no_readable_file_behind(tmp_path, open_umask):
    path = str(tmp_path / "diary.sqlite3")
    dbmod.migrate(path)
    conn = dbmod.connect(path)
    clinic = make_clinic(conn)
    conn.close()
    client = create_app({"DATABASE": path}).test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post("/login", data={"email": clinic["email"], "password": PASSWORD, "csrf_token": csrf})
    assert r.status_code == 303
    readable = [p.name for p in tmp_path.iterdir() if _mode(p) & 0o077]
    assert readable == []
    dbmod.close_thread_connections()


def _posix_locks_on(path):
    """Lines of /proc/locks held by this process on the file at ``path``."""
    info = os.stat(path)
    inode = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    with open("/proc/locks", encoding="ascii") as f:
        return [line for line in f if " POSIX " in line and f" {os.getpid()} " in line and inode in line]


@pytest.mark.skipif(not os.path.exists("/proc/locks"), reason="needs Linux /proc/locks")
def test_opening_another_connection_keeps_the_locks_of_the_open_ones(tmp_path):
    # Closing any descriptor of the database file drops every POSIX lock this process holds on it
    # (SQLite's "how to corrupt a database", 2.2): making files private must never open the live file.
    path = str(tmp_path / "diary.sqlite3")
    dbmod.migrate(path)
    reader = dbmod.connect(path)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM patients").fetchone()
        held = _posix_locks_on(path)
        assert held, "SQLite holds a shared lock on the database file during a read"
        other = dbmod.connect(path)
        try:
            assert _posix_locks_on(path) == held
        finally:
            other.close()
        reader.execute("COMMIT")
    finally:
        reader.close()
