"""`make run` from the README: serves the demo data on 127.0.0.1 with the scheduler; Ctrl-C stops both."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _port():
    # The README's port when it is free, so the test checks what a newcomer gets.
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", 8000))
            return 8000
        except OSError:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


def _get(url, token=None, body=None):
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body else None,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, json.loads(resp.read())


@pytest.mark.slow
def test_make_run_serves_demo_and_stops_on_ctrl_c(tmp_path):
    port = _port()
    env = dict(
        os.environ,
        DIARY_DATABASE=str(tmp_path / "run.sqlite3"),
        PORT=str(port),
        DIARY_SCHEDULER_TICK_SECONDS="1",
    )
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = []
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            line = proc.stdout.readline()
            output.append(line)
            if "demo patient id:" in line:
                break
            assert proc.poll() is None, "".join(output)
        text = "".join(output)
        login = re.search(r"demo clinician: (\S+) / (\S+)", text)
        patient_id = re.search(r"demo patient id: (\S+)", text).group(1)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                assert _get(base + "/healthz")[0] == 200
                break
            except OSError:
                time.sleep(0.2)
        status, session = _get(
            base + "/api/v1/auth/login", body={"email": login.group(1), "password": login.group(2)}
        )
        assert status == 200
        status, entries = _get(f"{base}/api/v1/patients/{patient_id}/entries", token=session["token"])
        # 120 days with about 8% missed: the demo diary is there.
        assert 95 <= len(entries["entries"]) <= 118
        children = subprocess.run(
            ["pgrep", "-g", str(proc.pid), "-f", "gunicorn|scheduler"], capture_output=True, text=True
        ).stdout.split()
        assert len(children) >= 2, "gunicorn and the scheduler both run"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    left = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert left == [], "Ctrl-C stops the web server and the scheduler"
