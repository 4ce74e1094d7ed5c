"""Two instances of the service side by side (the way `diary serve` starts gunicorn) share nothing:
no gunicorn control socket at the per-user default path for one to replace the other's."""

import os
import signal
import subprocess
import time

import pytest
import requests

from diary import db as dbmod
from diary.cli import gunicorn_argv
from tests.reliability.harness import ROOT, free_port, kill_group


def _start(tmp_path, name, env):
    db_path = str(tmp_path / name / "diary.sqlite3")
    dbmod.migrate(db_path)
    port = free_port()
    log = open(tmp_path / f"{name}.log", "wb")
    proc = subprocess.Popen(
        gunicorn_argv("127.0.0.1", port, 1),
        cwd=ROOT,
        env=dict(env, DIARY_DATABASE=db_path, DIARY_LOG_LEVEL="WARNING"),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, (tmp_path / f"{name}.log").read_text()
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return proc, base
        except requests.RequestException:
            time.sleep(0.05)
    kill_group(proc)
    raise AssertionError("gunicorn did not start: " + (tmp_path / f"{name}.log").read_text())


@pytest.mark.slow
def test_two_instances_side_by_side_have_no_shared_control_socket(tmp_path):
    home, runtime = tmp_path / "home", tmp_path / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    # The same account for both, as on a server running a second instance (staging, a restore check).
    env = dict(os.environ, HOME=str(home), XDG_RUNTIME_DIR=str(runtime))
    first, first_base = _start(tmp_path, "first", env)
    try:
        second, second_base = _start(tmp_path, "second", env)
        try:
            assert requests.get(first_base + "/healthz", timeout=5).status_code == 200
            assert requests.get(second_base + "/healthz", timeout=5).status_code == 200
            # gunicorn 27's default would be $XDG_RUNTIME_DIR/gunicorn.ctl (else ~/.gunicorn/gunicorn.ctl),
            # one path for every instance of the account: the second replaced the first's.
            assert sorted(os.listdir(runtime)) == []
            assert not (home / ".gunicorn").exists()
            kill_group(first, signal.SIGTERM)
            assert requests.get(second_base + "/healthz", timeout=5).status_code == 200
        finally:
            kill_group(second, signal.SIGTERM)
    finally:
        kill_group(first, signal.SIGTERM)
