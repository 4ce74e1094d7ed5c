"""Done-when 5: the push webhook against a real HTTP server on loopback."""

import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta

from diary import db as dbmod
from diary.clock import to_utc_text
from diary.reminders.tick import tick
from tests.reminders.helpers import add_patient, deliveries, run_ticks, utc
from tests.reminders.receiver import SECRET, Receiver

DUE = utc(2026, 6, 10, 21, 0)


def patient_with_push(conn, token="device-token-1"):
    pid = add_patient(conn, "UTC", DUE - timedelta(hours=1), dose_time="21:00", diary_time=None)
    with dbmod.write(conn):
        conn.execute(
            "INSERT INTO push_tokens (patient_id, platform, token, updated_at) VALUES (?, 'ios', ?, ?)",
            (pid, token, to_utc_text(DUE)),
        )
    return pid


def attempts(conn, delivery_id):
    return [
        tuple(r)
        for r in conn.execute(
            "SELECT attempted_at, channel, outcome, http_status FROM delivery_attempts WHERE delivery_id = ? ORDER BY id",
            (delivery_id,),
        )
    ]


def test_success_is_signed_keyed_and_carries_ids_and_text_only(rconn):
    pid = patient_with_push(rconn)
    with Receiver() as gw:
        summary = tick(rconn, DUE, gw.config())
    [row] = deliveries(rconn, pid)
    assert summary["sent"] == 1 and row["status"] == "sent" and row["attempts"] == 1
    [req] = gw.requests
    assert req["key"] == row["id"]
    assert req["signature_ok"]
    assert req["json"] == {
        "delivery_id": row["id"],
        "patient_id": pid,
        "platform": "ios",
        "token": "device-token-1",
        "title": "Reminder",
        "body": "Time for your evening dose",
    }
    assert attempts(rconn, row["id"]) == [(to_utc_text(DUE), "webhook", "sent", 200)]


def test_signature_fails_with_another_secret(rconn):
    patient_with_push(rconn)
    with Receiver(secret="not-the-secret") as gw:
        tick(rconn, DUE, gw.config())
    assert [r["signature_ok"] for r in gw.requests] == [False]


def test_500_then_success_same_key_two_attempts(rconn):
    pid = patient_with_push(rconn)
    with Receiver(statuses=[500]) as gw:
        first = tick(rconn, DUE, gw.config())
        [row] = deliveries(rconn, pid)
        assert first["sent"] == 0 and row["status"] == "pending"
        assert row["next_attempt_at"] == to_utc_text(DUE + timedelta(seconds=30))
        second = run_ticks(rconn, DUE + timedelta(minutes=1), DUE + timedelta(minutes=30), config=gw.config())
    [row] = deliveries(rconn, pid)
    assert second["sent"] == 1 and second["due"] == 0
    assert row["status"] == "sent" and row["attempts"] == 2
    assert [r["key"] for r in gw.requests] == [row["id"], row["id"]]
    assert attempts(rconn, row["id"]) == [
        (to_utc_text(DUE), "webhook", "retry", 500),
        (to_utc_text(DUE + timedelta(minutes=1)), "webhook", "sent", 200),
    ]


def test_400_fails_at_once_without_retry(rconn):
    pid = patient_with_push(rconn)
    with Receiver(statuses=[400]) as gw:
        total = run_ticks(rconn, DUE, DUE + timedelta(hours=3), config=gw.config())
    [row] = deliveries(rconn, pid)
    assert row["status"] == "failed" and row["attempts"] == 1 and row["last_error"] == "HTTP 400"
    assert len(gw.requests) == 1
    assert total["failed"] == 1 and total["sent"] == 0


def test_refused_connection_retries_with_growing_backoff_until_grace_closes(rconn):
    pid = patient_with_push(rconn)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {
        "REMINDER_GRACE_MINUTES": 120,
        "PUSH_WEBHOOK_URL": f"http://127.0.0.1:{port}/push",
        "PUSH_WEBHOOK_SECRET": SECRET,
        "PUSH_WEBHOOK_TIMEOUT_SECONDS": 1,
    }
    total = run_ticks(rconn, DUE, DUE + timedelta(hours=3), config=config)
    [row] = deliveries(rconn, pid)
    times = [utc_text for utc_text, *_ in attempts(rconn, row["id"])]
    gaps = [(b - a).total_seconds() for a, b in zip(map(_parse, times), map(_parse, times[1:]))]
    assert row["status"] == "failed" and total["failed"] == 1
    assert all(later >= earlier for earlier, later in zip(gaps, gaps[1:])) and gaps[-1] > gaps[0]
    assert _parse(times[-1]) <= DUE + timedelta(minutes=120)
    assert row["attempts"] == len(times) > 3


def test_timeout_is_retried(rconn):
    pid = patient_with_push(rconn)
    with Receiver(delay=1.5) as gw:
        tick(rconn, DUE, gw.config(PUSH_WEBHOOK_TIMEOUT_SECONDS=0.5))
        [row] = deliveries(rconn, pid)
        assert row["status"] == "pending" and "timed out" in row["last_error"]
        gw.delay = 0
        tick(rconn, DUE + timedelta(minutes=1), gw.config())
    [row] = deliveries(rconn, pid)
    assert row["status"] == "sent" and row["attempts"] == 2


def _parse(text):
    from diary.clock import parse_utc_text

    return parse_utc_text(text)


def test_crash_between_post_and_marking_sent_resends_same_key(rdb, rconn):
    pid = patient_with_push(rconn)
    box = {}

    def kill_the_sender(handler):
        # The POST has arrived; the sender dies before it can record the answer.
        if len(box.setdefault("seen", [])) == 0:
            box["seen"].append(1)
            os.kill(box["proc"].pid, signal.SIGKILL)
            box["proc"].wait(10)

    with Receiver(on_request=kill_the_sender) as gw:
        env = dict(
            os.environ,
            DIARY_DATABASE=rdb,
            DIARY_PUSH_WEBHOOK_URL=gw.url,
            DIARY_PUSH_WEBHOOK_SECRET=SECRET,
            DIARY_PUSH_WEBHOOK_TIMEOUT_SECONDS="5",
        )
        box["proc"] = subprocess.Popen(
            [sys.executable, "-m", "diary.cli", "reminders", "tick", "--now", DUE.isoformat()],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        box["proc"].wait(30)
        assert box["proc"].returncode == -signal.SIGKILL
        [row] = deliveries(rconn, pid)
        assert row["status"] == "pending" and row["attempts"] == 1
        # The lease (timeout + margin) runs out; the next tick resends.
        summary = tick(rconn, DUE + timedelta(minutes=1), gw.config())
    [row] = deliveries(rconn, pid)
    assert summary["sent"] == 1 and row["status"] == "sent" and row["attempts"] == 2
    assert [r["key"] for r in gw.requests] == [row["id"], row["id"]]
    assert [a[2] for a in attempts(rconn, row["id"])] == ["in_flight", "sent"]


def test_crash_in_process_leaves_delivery_pending(rconn):
    pid = patient_with_push(rconn)

    class Crash(BaseException):
        pass

    def crash(delivery_id):
        raise Crash

    with Receiver() as gw:
        try:
            tick(rconn, DUE, gw.config(), after_post=crash)
        except Crash:
            pass
        # Within the lease nobody resends; after it, the same key is used again.
        assert tick(rconn, DUE + timedelta(seconds=20), gw.config())["sent"] == 0
        tick(rconn, DUE + timedelta(minutes=1), gw.config())
    [row] = deliveries(rconn, pid)
    assert row["status"] == "sent" and [r["key"] for r in gw.requests] == [row["id"]] * 2
