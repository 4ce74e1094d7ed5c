"""API test fixtures: a migrated template database and one app, so each test costs milliseconds."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from diary import create_app
from diary import db as dbmod

_CACHE = {}


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("template") / "diary.sqlite3")
    dbmod.migrate(path)
    return path


@pytest.fixture
def db_path(tmp_path, template_db):
    """A fresh, fully migrated database file of this test's own (a copy of the template).

    On tmpfs when there is one: these tests check behaviour, not durability, and
    synchronous=FULL costs a real fsync per commit on disk (tests/test_storage.py
    checks the pragmas on a disk file).
    """
    base = Path("/dev/shm")
    if base.is_dir() and os.access(base, os.W_OK):
        folder = Path(tempfile.mkdtemp(prefix="diary-test-", dir=base))
    else:
        folder = tmp_path
    path = str(folder / "diary.sqlite3")
    shutil.copyfile(template_db, path)
    yield path
    dbmod.close_thread_connections()
    if folder != tmp_path:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def app(db_path):
    """The app pointed at this test's database; built once, because create_app costs ~70 ms."""
    if "app" not in _CACHE:
        _CACHE["app"] = create_app({"DATABASE": db_path})
        _CACHE["config"] = dict(_CACHE["app"].config)
    app = _CACHE["app"]
    app.config.update(_CACHE["config"])
    app.config["DATABASE"] = db_path
    return app
