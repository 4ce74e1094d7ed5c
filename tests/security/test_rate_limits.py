"""Brute force: login and enrollment are limited per account and per client address, in the database.

The rule is a pure function (tested first); the counts are rows shared by every
worker, so the last test runs the real service with 2 gunicorn workers and
fires guesses at both at once.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from diary import create_app, ratelimit
from diary import db as dbmod
from diary.clock import to_utc_text, utcnow
from tests.conftest import PASSWORD, count_rows, make_clinic

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/api/v1/auth/login"
ENROLL = "/api/v1/enroll"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


# -- the pure rule ---------------------------------------------------------------


def test_under_the_limit_is_allowed():
    times = [T0 - timedelta(minutes=m) for m in (1, 2, 3, 4)]
    assert ratelimit.retry_after_seconds(times, T0, 5, WINDOW) == 0


def test_at_the_limit_waits_until_the_oldest_counted_failure_leaves_the_window():
    times = [T0 - timedelta(minutes=m) for m in (10, 4, 3, 2, 1)]
    # The failure 10 minutes ago leaves the window in 5 minutes.
    assert ratelimit.retry_after_seconds(times, T0, 5, WINDOW) == 300


def test_failures_older_than_the_window_do_not_count():
    times = [T0 - timedelta(minutes=m) for m in (15, 16, 30, 2, 1)]
    assert ratelimit.retry_after_seconds(times, T0, 5, WINDOW) == 0


def test_over_the_limit_waits_for_enough_failures_to_leave():
    times = [T0 - timedelta(minutes=m) for m in (14, 12, 9, 8, 7, 6, 1)]
    # 7 in the window, limit 5: three must leave; the third-oldest (9 minutes ago) leaves in 6.
    assert ratelimit.retry_after_seconds(times, T0, 5, WINDOW) == 360


def test_retry_after_is_at_least_one_second_and_zero_turns_the_limit_off():
    times = [T0 - WINDOW + timedelta(milliseconds=10)] * 5
    assert ratelimit.retry_after_seconds(times, T0, 5, WINDOW) == 1
    assert ratelimit.retry_after_seconds(times, T0, 0, WINDOW) == 0


# -- in process ------------------------------------------------------------------


@pytest.fixture
def limited_app(db_path):
    return create_app(
        {
            "DATABASE": db_path,
            "LOGIN_MAX_FAILURES": 3,
            "LOGIN_MAX_FAILURES_PER_ADDRESS": 5,
            "ENROLL_MAX_FAILURES": 3,
            "ENROLL_MAX_FAILURES_GLOBAL": 5,
        }
    )


def _from(address):
    return {"REMOTE_ADDR": address}


def _login(client, email, password, address="10.0.0.1"):
    return client.post(LOGIN, json={"email": email, "password": password}, environ_base=_from(address))


def _assert_429(r):
    assert r.status_code == 429, r.get_data(as_text=True)
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 15 * 60
    assert set(r.json) == {"code", "status", "message", "errors"} and r.json["code"] == 429
    return retry


def _age_events(conn, minutes):
    """Move every counted attempt ``minutes`` into the past (the clock moves, not the code)."""
    rows = conn.execute("SELECT id, at FROM rate_limit_events").fetchall()
    with dbmod.write(conn):
        for row in rows:
            at = datetime.fromisoformat(row["at"]) - timedelta(minutes=minutes)
            conn.execute("UPDATE rate_limit_events SET at = ? WHERE id = ?", (to_utc_text(at), row["id"]))


def test_account_lockout_refuses_even_the_right_password_then_lifts(limited_app, conn):
    client, clinic = limited_app.test_client(), make_clinic(conn)
    tokens_before = count_rows(conn, "tokens")
    for _ in range(3):
        assert _login(client, clinic["email"], "wrong-password-123").status_code == 401
    _assert_429(_login(client, clinic["email"], PASSWORD))
    # From another address too: the limit is the account's.
    r = _login(client, clinic["email"].upper(), PASSWORD, address="10.9.9.9")
    _assert_429(r)
    assert "token" not in r.json
    assert count_rows(conn, "tokens") == tokens_before, "no token was issued during the lock-out"
    # The refused attempts were not counted: 15 minutes after the failures, it works.
    _age_events(conn, 15)
    r = _login(client, clinic["email"], PASSWORD)
    assert r.status_code == 200 and r.json["token"]


def test_a_success_clears_the_accounts_failures(limited_app, conn):
    client, clinic = limited_app.test_client(), make_clinic(conn)
    for _ in range(2):
        assert _login(client, clinic["email"], "wrong-password-123").status_code == 401
    assert _login(client, clinic["email"], PASSWORD).status_code == 200
    for _ in range(2):
        assert _login(client, clinic["email"], "wrong-password-123").status_code == 401
    assert _login(client, clinic["email"], PASSWORD).status_code == 200


def test_address_limit_spans_accounts_and_spares_other_addresses(limited_app, conn):
    client, clinic = limited_app.test_client(), make_clinic(conn)
    for i in range(5):
        assert _login(client, f"nobody{i}@clinic.example", "wrong-password-123").status_code == 401
    _assert_429(_login(client, clinic["email"], PASSWORD))
    assert _login(client, clinic["email"], PASSWORD, address="10.0.0.2").status_code == 200


def test_the_web_login_form_shares_the_count(limited_app, conn):
    client, clinic = limited_app.test_client(), make_clinic(conn)
    for _ in range(3):
        assert _login(client, clinic["email"], "wrong-password-123").status_code == 401
    page = client.get("/login", environ_base=_from("10.0.0.1"))
    csrf = page.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post(
        "/login",
        data={"email": clinic["email"], "password": PASSWORD, "csrf_token": csrf},
        environ_base=_from("10.0.0.1"),
    )
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.mimetype == "text/html" and "try again in" in r.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "clinician_id" not in session


def test_web_login_failures_lock_the_api_login_too(limited_app, conn):
    client, clinic = limited_app.test_client(), make_clinic(conn)
    page = client.get("/login", environ_base=_from("10.0.0.1"))
    csrf = page.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    for _ in range(3):
        r = client.post(
            "/login",
            data={"email": clinic["email"], "password": "wrong-password-123", "csrf_token": csrf},
            environ_base=_from("10.0.0.1"),
        )
        assert r.status_code == 401
    _assert_429(_login(client, clinic["email"], PASSWORD, address="10.0.0.7"))


def test_enrollment_guesses_are_limited_per_address_then_globally(limited_app, conn):
    client, clinic = limited_app.test_client(), make_clinic(conn)
    r = client.post(
        "/api/v1/patients", json={"display_name": "P", "timezone": "Europe/London"}, headers=clinic["headers"]
    )
    code = r.json["enrollment_code"]
    for _ in range(3):
        r = client.post(
            ENROLL, json={"code": "AAAA-BBBB-CCCC", "device_name": "x"}, environ_base=_from("10.1.0.1")
        )
        assert r.status_code == 404
    # Locked out: even the right code is refused from this address, and stays unused.
    _assert_429(client.post(ENROLL, json={"code": code, "device_name": "x"}, environ_base=_from("10.1.0.1")))
    assert conn.execute("SELECT used_at FROM enrollment_codes").fetchone()[0] is None
    # Two more failures from elsewhere reach the global limit of 5: everyone waits.
    for address in ("10.1.0.2", "10.1.0.3"):
        r = client.post(
            ENROLL, json={"code": "AAAA-BBBB-CCCD", "device_name": "x"}, environ_base=_from(address)
        )
        assert r.status_code == 404
    _assert_429(client.post(ENROLL, json={"code": code, "device_name": "x"}, environ_base=_from("10.1.0.4")))
    _age_events(conn, 15)
    r = client.post(ENROLL, json={"code": code, "device_name": "x"}, environ_base=_from("10.1.0.1"))
    assert r.status_code == 201


def test_a_successful_enrollment_is_not_counted(limited_app, conn):
    client, clinic = limited_app.test_client(), make_clinic(conn)
    for _ in range(4):
        r = client.post(
            "/api/v1/patients",
            json={"display_name": "P", "timezone": "Europe/London"},
            headers=clinic["headers"],
        )
        r = client.post(
            ENROLL,
            json={"code": r.json["enrollment_code"], "device_name": "x"},
            environ_base=_from("10.2.0.1"),
        )
        assert r.status_code == 201
    assert count_rows(conn, "rate_limit_events") == 0


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(db_path, conn):
    clinic = make_clinic(conn)
    for trusted, expect in ((0, 429), (1, 401)):
        with dbmod.write(conn):
            conn.execute("DELETE FROM rate_limit_events")
        app = create_app(
            {
                "DATABASE": db_path,
                "LOGIN_MAX_FAILURES": 100,
                "LOGIN_MAX_FAILURES_PER_ADDRESS": 2,
                "TRUSTED_PROXIES": trusted,
            }
        )
        client = app.test_client()
        statuses = []
        for i in range(3):
            # A client rotating a forged X-Forwarded-For must not dodge the per-address limit.
            r = client.post(
                LOGIN,
                json={"email": clinic["email"], "password": "wrong-password-123"},
                headers={"X-Forwarded-For": f"192.0.2.{i}"},
                environ_base=_from("10.3.0.1"),
            )
            statuses.append(r.status_code)
        assert statuses[-1] == expect, (trusted, statuses)


# -- across 2 gunicorn workers -------------------------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    db = str(tmp_path / "diary.sqlite3")
    dbmod.migrate(db)
    port = _free_port()
    env = {**os.environ, "DIARY_DATABASE": db, "DIARY_LOG_LEVEL": "WARNING"}
    log = open(tmp_path / "gunicorn.log", "w+")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:diary.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    import requests

    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            # Not up yet: refused before the bind, or accepted while a loaded machine
            # still imports the workers (a read timeout). The deadline bounds both.
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.seek(0) or log.read()
            time.sleep(0.1)
        yield base, db
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        log.close()


@pytest.mark.slow
def test_two_workers_share_one_count(gunicorn):
    import requests

    base, db = gunicorn
    conn = dbmod.connect(db)
    try:
        clinic = make_clinic(conn)
    finally:
        conn.close()

    def guess(_):
        # A new connection each time, so both workers take guesses.
        return requests.post(
            base + LOGIN,
            json={"email": clinic["email"], "password": "wrong-password-123"},
            headers={"Connection": "close"},
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(guess, range(12)))
    statuses = sorted(r.status_code for r in answers)
    # Default limit: 5 failures per account. Counts kept per worker would let up to 10 through.
    assert statuses == [401] * 5 + [429] * 7, statuses
    r = requests.post(base + LOGIN, json={"email": clinic["email"], "password": PASSWORD}, timeout=30)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "token" not in r.json()
    conn = dbmod.connect(db)
    try:
        issued = conn.execute(
            "SELECT COUNT(*) FROM tokens WHERE kind = 'clinician' AND created_at > ?",
            (to_utc_text(utcnow() - timedelta(minutes=1)),),
        ).fetchone()[0]
    finally:
        conn.close()
    assert issued == 1, "only make_clinic's own token exists; the lock-out issued none"
