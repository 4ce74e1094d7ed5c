"""The shipped proxy (config/nginx.conf) in front of a real gunicorn: slow clients cannot block the service.

gunicorn's sync workers serve one connection each, so 8 sockets sending their headers a
byte at a time hold both workers and /healthz goes unanswered. Through Debian's nginx,
run unprivileged with the shipped site file rendered into a temporary folder (TLS with a
throwaway self-signed certificate), the same 8 sockets held for 20 s do not delay
/healthz past 1 s. The direct run comes first, so the test shows it can fail.
"""

import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from config import defaults
from diary import db as dbmod
from tests.conftest import make_clinic
from tests.reliability.harness import ROOT, Gunicorn, free_port, kill_group

SITE = os.path.join(ROOT, "config", "nginx.conf")
SLOW_SOCKETS = 8
HOLD_SECONDS = 20
DRIP_SECONDS = 0.5
HEALTHZ_LIMIT_SECONDS = 1.0


def _nginx():
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def _skip_reason():
    if _nginx() is None:
        return "Debian's nginx is not installed (make test installs it with apt-get where it may)"
    if shutil.which("openssl") is None:
        return "openssl is not installed (make test installs it with apt-get where it may)"
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))]


def render_site(text, upstream_port, http_port, https_port, cert, key):
    """The shipped site file with this test's ports and certificate (each value must be found once)."""
    replacements = [
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("/etc/letsencrypt/live/diary.example.org/fullchain.pem", cert),
        ("/etc/letsencrypt/live/diary.example.org/privkey.pem", key),
    ]
    for old, new in replacements:
        assert text.count(old) == 1, f"config/nginx.conf no longer holds {old!r} once"
        text = text.replace(old, new)
    return text


class Nginx:
    """Debian's nginx as an unprivileged foreground process, all its files in one folder."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.http_port, self.https_port = free_port(), free_port()
        self.base = f"https://127.0.0.1:{self.https_port}"
        # As root, nginx runs as nobody: its folder must be one nobody can enter.
        self.user = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
        self.folder = tempfile.mkdtemp(prefix="diary-nginx-")
        self.proc = None

    def _write(self, name, text):
        path = os.path.join(self.folder, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def start(self):
        cert, key = os.path.join(self.folder, "cert.pem"), os.path.join(self.folder, "key.pem")
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", key, "-out", cert,
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        self.cert = cert
        with open(SITE, encoding="utf-8") as f:
            site = render_site(f.read(), self.upstream_port, self.http_port, self.https_port, cert, key)
        self._write("diary.conf", site)
        temp = {
            name: os.path.join(self.folder, name) for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")
        }
        conf = self._write(
            "nginx.conf",
            f"""
            worker_processes 1;
            pid {self.folder}/nginx.pid;
            error_log {self.folder}/error.log warn;
            events {{ worker_connections 512; }}
            http {{
                access_log off;
                client_body_temp_path {temp["body"]};
                proxy_temp_path {temp["proxy"]};
                fastcgi_temp_path {temp["fastcgi"]};
                uwsgi_temp_path {temp["uwsgi"]};
                scgi_temp_path {temp["scgi"]};
                include {self.folder}/diary.conf;
            }}
            """,
        )
        if self.user is not None:
            for root, dirs, files in os.walk(self.folder):
                for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                    os.chown(name, self.user.pw_uid, self.user.pw_gid)
        argv = [_nginx(), "-p", self.folder, "-c", conf, "-e", os.path.join(self.folder, "error.log")]
        as_user = {"user": self.user.pw_uid, "group": self.user.pw_gid} if self.user else {}
        check = subprocess.run([*argv, "-t"], capture_output=True, text=True, **as_user)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen(
            [*argv, "-g", "daemon off;"], stderr=subprocess.PIPE, start_new_session=True, **as_user
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read().decode(errors="replace")
            try:
                if requests.get(self.base + "/healthz", timeout=2, verify=cert).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.05)
        raise AssertionError("nginx did not answer /healthz")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            kill_group(self.proc)
        shutil.rmtree(self.folder, ignore_errors=True)


class SlowHeaders:
    """``count`` sockets that send a request's headers one byte every DRIP_SECONDS, reopened when closed."""

    def __init__(self, port, count, tls=False):
        self.port, self.count, self.tls = port, count, tls
        self.stop = threading.Event()
        self.opened = 0
        self.threads = [threading.Thread(target=self._hold, daemon=True) for _ in range(count)]

    def _open(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        self.opened += 1
        return sock

    def _hold(self):
        sock = None
        while not self.stop.is_set():
            try:
                if sock is None:
                    sock = self._open()
                sock.sendall(b"a")
            except OSError:
                if sock is not None:
                    sock.close()
                sock = None  # the server gave up on it: a real attacker just opens another
            self.stop.wait(DRIP_SECONDS)
        if sock is not None:
            sock.close()

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(10)


def _healthz_seconds(url, verify=True, timeout=5.0):
    """Seconds until /healthz answered 200 (``timeout`` when it did not answer in time)."""
    started = time.monotonic()
    try:
        r = requests.get(url + "/healthz", timeout=timeout, verify=verify)
    except requests.RequestException:
        return timeout
    assert r.status_code == 200
    return time.monotonic() - started


@pytest.fixture
def service(tmp_path):
    db_path = str(tmp_path / "diary.sqlite3")
    dbmod.migrate(db_path)
    gunicorn = Gunicorn(
        db_path, str(tmp_path / "gunicorn.log"), workers=2, extra_env={"DIARY_TRUSTED_PROXIES": "1"}
    )
    gunicorn.start()
    nginx = Nginx(gunicorn.port)
    try:
        nginx.start()
        yield gunicorn, nginx, db_path
    finally:
        nginx.stop()
        gunicorn.kill()


def test_slow_clients_block_gunicorn_alone_but_not_behind_the_shipped_nginx(service):
    gunicorn, nginx, _ = service

    # Straight at gunicorn: the slow sockets take both workers and /healthz waits.
    with SlowHeaders(gunicorn.port, SLOW_SOCKETS):
        time.sleep(1)
        direct = _healthz_seconds(gunicorn.base, timeout=3)
    assert direct > HEALTHZ_LIMIT_SECONDS, "gunicorn answered at once: the test could not fail"
    deadline = time.monotonic() + 30
    while _healthz_seconds(gunicorn.base, timeout=2) > HEALTHZ_LIMIT_SECONDS:
        assert time.monotonic() < deadline, "gunicorn did not recover after the slow sockets closed"

    # Through nginx: the same sockets (over TLS) held for 20 s, /healthz asked twice a second.
    slowest = 0.0
    asked = 0
    with SlowHeaders(nginx.https_port, SLOW_SOCKETS, tls=True) as slow:
        time.sleep(1)
        end = time.monotonic() + HOLD_SECONDS
        while time.monotonic() < end:
            slowest = max(slowest, _healthz_seconds(nginx.base, verify=nginx.cert))
            asked += 1
            time.sleep(0.5)
        opened = slow.opened
    assert opened >= SLOW_SOCKETS
    assert asked >= HOLD_SECONDS  # about two a second, each answered
    assert slowest < HEALTHZ_LIMIT_SECONDS, f"/healthz took {slowest:.2f} s behind nginx"


def test_the_proxy_passes_the_client_address_and_refuses_large_bodies_in_the_error_shape(service):
    gunicorn, nginx, db_path = service
    conn = dbmod.connect(db_path)
    try:
        clinic = make_clinic(conn)
        # A forged X-Forwarded-For is replaced by nginx, so the audit log names the real peer.
        r = requests.get(
            nginx.base + "/api/v1/patients",
            headers={**clinic["headers"], "X-Forwarded-For": "203.0.113.9"},
            verify=nginx.cert,
            timeout=10,
        )
        assert r.status_code == 200
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
        addresses = [row[0] for row in conn.execute("SELECT remote_addr FROM audit_log")]
        assert addresses == ["127.0.0.1"]
    finally:
        conn.close()

    too_big = b'{"notes": "' + b"x" * defaults.MAX_CONTENT_LENGTH + b'"}'
    r = requests.post(
        nginx.base + "/api/v1/auth/login",
        data=too_big,
        headers={"Content-Type": "application/json"},
        verify=nginx.cert,
        timeout=10,
    )
    assert r.status_code == 413
    body = r.json()
    assert set(body) == {"code", "status", "message", "errors"} and body["code"] == 413
    assert str(defaults.MAX_CONTENT_LENGTH) in body["errors"]["json"][0]

    # Plain HTTP only redirects to HTTPS.
    r = requests.get(f"http://127.0.0.1:{nginx.http_port}/login", allow_redirects=False, timeout=10)
    assert r.status_code == 301 and r.headers["Location"].startswith("https://")


def test_the_body_limit_matches_the_service_setting():
    with open(SITE, encoding="utf-8") as f:
        text = f.read()
    size = text.split("client_max_body_size", 1)[1].split(";", 1)[0].strip()
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    in_bytes = int(size[:-1]) * units[size[-1].lower()] if size[-1].isalpha() else int(size)
    assert in_bytes == defaults.MAX_CONTENT_LENGTH
    assert f"The body is larger than {defaults.MAX_CONTENT_LENGTH} bytes." in text
