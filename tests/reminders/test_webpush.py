"""Web Push: a loopback push service holding its own subscription keys decrypts what the scheduler sends."""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from diary import db as dbmod
from diary.clock import parse_utc_text, to_utc_text
from diary.reminders import webpush
from diary.reminders.tick import tick
from tests.reminders.helpers import add_patient, deliveries, run_ticks, utc
from tests.reminders.push_service import PushService, vapid_claims, write_loopback_certificate

DUE = utc(2026, 6, 10, 21, 0)
CONTACT = "mailto:ops@clinic.example"
ME = "/api/v1/me"


@pytest.fixture
def cert(tmp_path, monkeypatch):
    """A certificate for 127.0.0.1 that requests (inside pywebpush) trusts for this test only."""
    pair = write_loopback_certificate(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pair[0])
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    return pair


def config(**extra):
    # No webhook URL: Web Push does not depend on the native push gateway.
    return {
        "REMINDER_GRACE_MINUTES": 120,
        "PUSH_WEBHOOK_URL": "",
        "PUSH_WEBHOOK_TIMEOUT_SECONDS": 2,
        "WEB_PUSH_CONTACT": CONTACT,
        **extra,
    }


def subscribed_patient(conn, service):
    pid = add_patient(conn, "UTC", DUE - timedelta(hours=1), dose_time="21:00", diary_time=None)
    with dbmod.write(conn):
        conn.execute(
            "INSERT INTO push_tokens (patient_id, platform, token, updated_at) VALUES (?, 'web', ?, ?)",
            (pid, webpush.subscription_token(service.subscription()), to_utc_text(DUE)),
        )
    return pid


def attempts(conn, delivery_id):
    return [
        tuple(r)
        for r in conn.execute(
            "SELECT attempted_at, channel, outcome, http_status FROM delivery_attempts"
            " WHERE delivery_id = ? ORDER BY id",
            (delivery_id,),
        )
    ]


def test_registered_through_the_api_decrypted_by_the_browser_side(client, patient, conn, cert):
    with PushService(cert) as service:
        key = client.get(f"{ME}/push/vapid-public-key", headers=patient["headers"])
        assert key.status_code == 200
        public_key = key.json["public_key"]
        r = client.put(
            f"{ME}/push",
            json={"platform": "web", "subscription": service.subscription()},
            headers=patient["headers"],
        )
        assert r.status_code == 204, r.json
        [reminder] = conn.execute(
            "SELECT next_due_utc FROM reminders WHERE patient_id = ? AND kind = 'diary'", (patient["id"],)
        ).fetchall()
        due = parse_utc_text(reminder[0])
        # Only the diary reminder is this test's (the weekly one may fall due the same evening).
        conn.execute("UPDATE reminders SET next_due_utc = NULL WHERE kind = 'questionnaire'")
        summary = tick(conn, due, config())
    [row] = deliveries(conn, patient["id"])
    assert summary["sent"] == 1 and row["status"] == "sent"
    [req] = service.requests
    assert "error" not in req, req.get("error")
    # What the browser decrypts: the delivery id (the notification's tag) and the lock-screen-safe text.
    assert req["message"] == {"delivery_id": row["id"], "title": row["title"], "body": row["body"]}
    assert req["path"] == "/push/sub-1"
    headers = req["headers"]
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["ttl"] == str(120 * 60)
    assert headers["topic"] == row["id"].replace("-", "")
    assert headers["urgency"] == "high"
    claims, signer = vapid_claims(headers["authorization"])
    assert signer == public_key
    assert claims["aud"] == service.origin and claims["sub"] == CONTACT
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    assert attempts(conn, row["id"]) == [(to_utc_text(due), "webpush", "sent", 201)]


def test_the_ciphertext_is_not_the_text(rconn, cert):
    with PushService(cert) as service:
        subscribed_patient(rconn, service)
        tick(rconn, DUE, config())
    [req] = service.requests
    assert b"evening dose" not in req["raw"] and req["message"]["body"] == "Time for your evening dose"


def test_5xx_is_retried_with_the_same_delivery_id_and_topic(rconn, cert):
    with PushService(cert, statuses=[503]) as service:
        pid = subscribed_patient(rconn, service)
        first = tick(rconn, DUE, config())
        [row] = deliveries(rconn, pid)
        assert first["sent"] == 0 and row["status"] == "pending"
        assert row["next_attempt_at"] == to_utc_text(DUE + timedelta(seconds=30))
        later = run_ticks(rconn, DUE + timedelta(minutes=1), DUE + timedelta(minutes=5), config=config())
    [row] = deliveries(rconn, pid)
    assert later["sent"] == 1 and row["status"] == "sent" and row["attempts"] == 2
    assert [r["message"]["delivery_id"] for r in service.requests] == [row["id"]] * 2
    assert len({r["headers"]["topic"] for r in service.requests}) == 1
    assert [a[2:] for a in attempts(rconn, row["id"])] == [("retry", 503), ("sent", 201)]


@pytest.mark.parametrize("status", [404, 410, 400, 413])
def test_a_gone_or_refused_subscription_fails_at_once(rconn, cert, status):
    with PushService(cert, statuses=[status]) as service:
        pid = subscribed_patient(rconn, service)
        total = run_ticks(rconn, DUE, DUE + timedelta(minutes=30), step=timedelta(minutes=5), config=config())
    [row] = deliveries(rconn, pid)
    assert row["status"] == "failed" and row["last_error"] == f"HTTP {status}"
    assert len(service.requests) == 1 and total["failed"] == 1


def test_429_is_retried_until_the_grace_window_closes(rconn, cert):
    with PushService(cert, statuses=[429] * 100) as service:
        pid = subscribed_patient(rconn, service)
        total = run_ticks(rconn, DUE, DUE + timedelta(hours=3), step=timedelta(minutes=2), config=config())
    [row] = deliveries(rconn, pid)
    times = [parse_utc_text(a[0]) for a in attempts(rconn, row["id"])]
    assert row["status"] == "failed" and total["failed"] == 1
    assert len(service.requests) == row["attempts"] == len(times) > 3
    assert times[-1] <= DUE + timedelta(minutes=120)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps[-1] > gaps[0]


def test_timeout_is_retried(rconn, cert):
    with PushService(cert, delay=1.5) as service:
        pid = subscribed_patient(rconn, service)
        tick(rconn, DUE, config(PUSH_WEBHOOK_TIMEOUT_SECONDS=0.5))
        [row] = deliveries(rconn, pid)
        assert row["status"] == "pending" and row["last_error"] in ("ReadTimeout", "Timeout")
        service.delay = 0
        tick(rconn, DUE + timedelta(minutes=1), config())
    [row] = deliveries(rconn, pid)
    assert row["status"] == "sent" and row["attempts"] == 2


def test_an_untrusted_certificate_is_never_sent_to(rconn, cert, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with PushService(cert) as service:
        pid = subscribed_patient(rconn, service)
        tick(rconn, DUE, config())
    [row] = deliveries(rconn, pid)
    assert service.requests == [] and row["status"] == "pending" and row["last_error"] == "SSLError"


def test_a_crash_after_the_post_resends_the_same_delivery(rconn, cert):
    class Crash(BaseException):
        pass

    def crash(delivery_id):
        raise Crash

    with PushService(cert) as service:
        pid = subscribed_patient(rconn, service)
        with pytest.raises(Crash):
            tick(rconn, DUE, config(), after_post=crash)
        # Within the lease nobody resends; after it, the same delivery and topic again.
        assert tick(rconn, DUE + timedelta(seconds=20), config())["sent"] == 0
        tick(rconn, DUE + timedelta(minutes=1), config())
    [row] = deliveries(rconn, pid)
    assert row["status"] == "sent"
    assert [r["message"]["delivery_id"] for r in service.requests] == [row["id"]] * 2
    assert len({r["headers"]["topic"] for r in service.requests}) == 1


def test_native_tokens_still_need_the_gateway(rconn, cert):
    """Without a webhook URL an ios token gets the outbox only; the web subscription gets Web Push."""
    with PushService(cert) as service:
        web = subscribed_patient(rconn, service)
        ios = add_patient(rconn, "UTC", DUE - timedelta(hours=1), dose_time="21:00", diary_time=None)
        with dbmod.write(rconn):
            rconn.execute(
                "INSERT INTO push_tokens (patient_id, platform, token, updated_at) VALUES (?, 'ios', 't', ?)",
                (ios, to_utc_text(DUE)),
            )
        summary = tick(rconn, DUE, config())
    assert summary["sent"] == 2
    assert [r["status"] for r in deliveries(rconn, web) + deliveries(rconn, ios)] == ["sent", "sent"]
    assert [a[1] for a in attempts(rconn, deliveries(rconn, web)[0]["id"])] == ["webpush"]
    assert attempts(rconn, deliveries(rconn, ios)[0]["id"]) == []
    assert len(service.requests) == 1


# -- PUT /me/push and the key ---------------------------------------------------


def _sub(**changes):
    sub = {
        "endpoint": "https://push.example.net/send/abc",
        "keys": {
            "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
            "auth": "tBHItJI5svbpez7KI4CCXg",
        },
    }
    sub.update(changes)
    return sub


def _stored(conn, pid):
    row = conn.execute("SELECT platform, token FROM push_tokens WHERE patient_id = ?", (pid,)).fetchone()
    return tuple(row) if row else None


def test_put_web_subscription_stores_endpoint_and_keys_only(client, patient, conn):
    r = client.put(
        f"{ME}/push",
        json={"platform": "web", "subscription": dict(_sub(), expirationTime=None)},
        headers=patient["headers"],
    )
    assert r.status_code == 204
    platform, token = _stored(conn, patient["id"])
    assert platform == "web" and json.loads(token) == _sub()
    # A native token replaces it (one push target per patient), and back.
    r = client.put(f"{ME}/push", json={"platform": "android", "token": "fcm-1"}, headers=patient["headers"])
    assert r.status_code == 204 and _stored(conn, patient["id"]) == ("android", "fcm-1")
    assert client.delete(f"{ME}/push", headers=patient["headers"]).status_code == 204
    assert _stored(conn, patient["id"]) is None


P256DH = _sub()["keys"]["p256dh"]
AUTH = _sub()["keys"]["auth"]


def _web(**changes):
    return {"platform": "web", "subscription": _sub(**changes)}


@pytest.mark.parametrize(
    "body, where",
    [
        ({"platform": "web"}, ("subscription",)),
        ({"platform": "web", "token": "x", "subscription": _sub()}, ("token",)),
        ({"platform": "ios", "subscription": _sub()}, ("subscription",)),
        ({"platform": "ios"}, ("token",)),
        (_web(endpoint="http://push.example.net/x"), ("subscription", "endpoint")),
        (_web(endpoint="https://127.0.0.1:8000/x"), None),
        (_web(endpoint="ftp://x/y"), ("subscription", "endpoint")),
        (_web(endpoint="https://u:p@push.example.net/x"), ("subscription", "endpoint")),
        (_web(endpoint="https://push.example.net/a\nb"), ("subscription", "endpoint")),
        (_web(endpoint="https://push.example.net/a\tb"), ("subscription", "endpoint")),
        (_web(endpoint=None), ("subscription", "endpoint")),
        (_web(endpoint="https://" + "a" * 1100), ("subscription", "endpoint")),
        (_web(keys={"p256dh": "AAAA", "auth": AUTH}), ("subscription", "keys", "p256dh")),
        (_web(keys={"p256dh": "B" + "A" * 86, "auth": AUTH}), ("subscription", "keys", "p256dh")),
        (_web(keys={"p256dh": P256DH, "auth": "short"}), ("subscription", "keys", "auth")),
        (_web(keys={"p256dh": P256DH, "auth": "not base64!!"}), ("subscription", "keys", "auth")),
        (_web(keys={"p256dh": P256DH}), ("subscription", "keys", "auth")),
        ({"platform": "web", "subscription": dict(_sub(), extra=1)}, ("subscription", "extra")),
        ({"platform": "web", "subscription": "https://push.example.net/x"}, ("subscription",)),
        ({"platform": "fax", "token": "x"}, ("platform",)),
    ],
)
def test_bad_push_registrations_are_422_naming_the_field(client, patient, conn, body, where):
    r = client.put(f"{ME}/push", json=body, headers=patient["headers"])
    if where is None:
        # A loopback https endpoint is a valid URL shape; only plain http and odd URLs are refused.
        assert r.status_code == 204
        return
    assert r.status_code == 422, r.json
    assert set(r.json) == {"code", "status", "message", "errors"}
    errors = r.json["errors"]["json"]
    for key in where:
        assert key in errors, (key, errors)
        errors = errors[key]
    assert _stored(conn, patient["id"]) is None


def test_vapid_key_is_made_once_and_shared_with_the_cli(client, patient, db_path):
    first = client.get(f"{ME}/push/vapid-public-key", headers=patient["headers"]).json["public_key"]
    again = client.get(f"{ME}/push/vapid-public-key", headers=patient["headers"]).json["public_key"]
    out = subprocess.run(
        [sys.executable, "-m", "diary.cli", "vapid-public-key"],
        env=dict(os.environ, DIARY_DATABASE=db_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    printed = json.loads(out.stdout)
    assert first == again == printed["public_key"] and printed["created"] is False
    raw = webpush.unb64url(first)
    assert len(raw) == 65 and raw[0] == 4
    webpush.check_p256dh(first)


def test_cli_creates_the_key_on_a_fresh_database(tmp_path):
    path = str(tmp_path / "fresh.sqlite3")
    env = dict(os.environ, DIARY_DATABASE=path)
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-m", "diary.cli", "vapid-public-key"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout
        )
        for _ in range(2)
    ]
    assert [r["created"] for r in runs] == [True, False]
    assert runs[0]["public_key"] == runs[1]["public_key"]


def test_the_key_needs_a_device_token(client, clinic):
    assert client.get(f"{ME}/push/vapid-public-key").status_code == 401
    assert client.get(f"{ME}/push/vapid-public-key", headers=clinic["headers"]).status_code == 401
