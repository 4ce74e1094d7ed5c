"""One reminder row that always fails is set aside with its error and retried with backoff;
the rest of its batch, and every later tick, go on."""

import json
from datetime import timedelta

from click.testing import CliRunner

from diary import db as dbmod
from diary.cli import main
from diary.reminders.tick import backoff, tick
from tests.reminders.helpers import CONFIG, add_patient, deliveries, t, utc

NOW = utc(2026, 5, 4, 19, 0)  # 20:00 in London (BST)


def _break(conn, pid):
    # A row the claim cannot handle (a wall time that is no time): it raises on every attempt.
    with dbmod.write(conn):
        conn.execute("UPDATE reminders SET time = 'soon' WHERE patient_id = ?", (pid,))


def _reminder(conn, pid):
    return dict(conn.execute("SELECT * FROM reminders WHERE patient_id = ?", (pid,)).fetchone())


def test_a_failing_row_is_set_aside_and_the_rest_of_the_batch_is_sent(rconn):
    before = NOW - timedelta(hours=1)
    good = [add_patient(rconn, "Europe/London", before) for _ in range(3)]
    bad = add_patient(rconn, "Europe/London", before)
    _break(rconn, bad)

    counts = tick(rconn, NOW, CONFIG)

    assert counts["due"] == 3 and counts["sent"] == 3
    assert {d["patient_id"] for d in deliveries(rconn)} == set(good)
    row = _reminder(rconn, bad)
    assert row["claim_failures"] == 1
    assert row["claim_retry_at"] == t(NOW + timedelta(seconds=backoff(1)))
    assert row["claim_error"].startswith("ValueError")
    # The set-aside row keeps its occurrence: it is still due, not skipped past.
    assert row["next_due_utc"] == t(NOW)
    assert not rconn.in_transaction


def test_a_set_aside_row_waits_for_its_backoff_and_does_not_stall_later_ticks(rconn):
    before = NOW - timedelta(hours=1)
    bad = add_patient(rconn, "Europe/London", before)
    _break(rconn, bad)
    tick(rconn, NOW, CONFIG)
    # Within its backoff the row is not tried again: a quiet tick is quiet.
    tick(rconn, NOW + timedelta(seconds=10), CONFIG)
    assert _reminder(rconn, bad)["claim_failures"] == 1

    # A patient who becomes due later is reminded on time, whatever the broken row does.
    later = add_patient(rconn, "Europe/London", before, diary_time="20:05")
    retry = NOW + timedelta(seconds=backoff(1))
    counts = tick(rconn, NOW + timedelta(minutes=5), CONFIG)
    assert counts["sent"] == 1
    assert [d["patient_id"] for d in deliveries(rconn)] == [later]
    row = _reminder(rconn, bad)
    assert row["claim_failures"] == 2  # retried once its backoff ran out (after 30 s), failed again
    assert retry < NOW + timedelta(minutes=5)
    assert row["claim_retry_at"] == t(NOW + timedelta(minutes=5) + timedelta(seconds=backoff(2)))


def test_a_repaired_row_is_delivered_and_its_record_cleared(rconn):
    before = NOW - timedelta(hours=1)
    bad = add_patient(rconn, "Europe/London", before)
    _break(rconn, bad)
    tick(rconn, NOW, CONFIG)
    with dbmod.write(rconn):
        rconn.execute("UPDATE reminders SET time = '20:00' WHERE patient_id = ?", (bad,))

    counts = tick(rconn, NOW + timedelta(minutes=1), CONFIG)

    assert counts["sent"] == 1
    assert [(d["local_date"], d["status"]) for d in deliveries(rconn, bad)] == [("2026-05-04", "sent")]
    row = _reminder(rconn, bad)
    assert (row["claim_failures"], row["claim_error"], row["claim_retry_at"]) == (0, None, None)
    assert row["next_local_date"] == "2026-05-05"


def test_reminders_status_lists_the_set_aside_row(rdb, rconn):
    before = NOW - timedelta(hours=1)
    add_patient(rconn, "Europe/London", before)
    bad = add_patient(rconn, "Europe/London", before)
    _break(rconn, bad)
    tick(rconn, NOW, CONFIG)
    runner = CliRunner(env={"DIARY_DATABASE": rdb})

    result = runner.invoke(main, ["reminders", "status", "--now", (NOW + timedelta(seconds=5)).isoformat()])

    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["set_aside"] == [
        {
            "reminder_id": _reminder(rconn, bad)["id"],
            "patient_id": bad,
            "kind": "diary",
            "due_at": t(NOW),
            "local_date": "2026-05-04",
            "failures": 1,
            "retry_at": t(NOW + timedelta(seconds=backoff(1))),
            "error": _reminder(rconn, bad)["claim_error"],
        }
    ]
    assert status["due_now"] == 0  # the set-aside row waits for its retry time
    assert status["pending_deliveries"] == 0
    assert status["deliveries_last_24h"] == {"sent": 1}
    # The error names the exception type and where it was raised, never its message.
    assert "soon" not in result.output
