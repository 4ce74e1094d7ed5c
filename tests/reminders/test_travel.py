"""Done-when 2: a move from Europe/London to America/Los_Angeles mid-day."""

from collections import Counter
from datetime import timedelta

from diary import db as dbmod
from diary.reminders import schedule
from tests.reminders.helpers import add_patient, deliveries, run_ticks, t, utc


def move(conn, patient_id, tz, now):
    """Change the patient's zone the way PATCH /me does, then recompute."""
    with dbmod.write(conn):
        conn.execute("UPDATE patients SET timezone = ? WHERE id = ?", (tz, patient_id))
        schedule.recompute_for_patient(conn, patient_id, now)


def test_move_london_to_los_angeles_mid_day(rconn):
    start = utc(2026, 6, 9, 23, 0)  # 2026-06-10 00:00 BST
    # Morning dose already sent in London when the patient moves at noon.
    noon = add_patient(rconn, "Europe/London", start, dose_time="08:00", diary_time="20:00")
    # Evening diary already sent in London when the patient moves at 21:00.
    late = add_patient(rconn, "Europe/London", start, dose_time="08:00", diary_time="20:00")

    run_ticks(rconn, start, utc(2026, 6, 10, 11, 0))  # until 12:00 BST
    move(rconn, noon, "America/Los_Angeles", utc(2026, 6, 10, 11, 0))
    run_ticks(rconn, utc(2026, 6, 10, 11, 1), utc(2026, 6, 10, 20, 0))  # until 21:00 BST
    move(rconn, late, "America/Los_Angeles", utc(2026, 6, 10, 20, 0))
    run_ticks(rconn, utc(2026, 6, 10, 20, 1), utc(2026, 6, 13, 7, 0))

    for pid in (noon, late):
        per_date = Counter((r["kind"], r["local_date"]) for r in deliveries(rconn, pid))
        assert max(per_date.values()) == 1, per_date

    assert [(r["kind"], r["local_date"], r["due_at"]) for r in deliveries(rconn, noon)] == [
        ("dose", "2026-06-10", t(utc(2026, 6, 10, 7, 0))),  # 08:00 BST, before the move
        # 08:00 PDT on the 10th would be a second dose reminder that day: skipped.
        ("diary", "2026-06-10", t(utc(2026, 6, 11, 3, 0))),  # 20:00 PDT, the new local time
        ("dose", "2026-06-11", t(utc(2026, 6, 11, 15, 0))),  # 08:00 PDT
        ("diary", "2026-06-11", t(utc(2026, 6, 12, 3, 0))),
        ("dose", "2026-06-12", t(utc(2026, 6, 12, 15, 0))),
        ("diary", "2026-06-12", t(utc(2026, 6, 13, 3, 0))),
    ]
    assert [(r["kind"], r["local_date"], r["due_at"]) for r in deliveries(rconn, late)] == [
        ("dose", "2026-06-10", t(utc(2026, 6, 10, 7, 0))),
        ("diary", "2026-06-10", t(utc(2026, 6, 10, 19, 0))),  # 20:00 BST, before the move
        # 20:00 PDT on the 10th (03:00 UTC on the 11th) would be a second: skipped.
        ("dose", "2026-06-11", t(utc(2026, 6, 11, 15, 0))),
        ("diary", "2026-06-11", t(utc(2026, 6, 12, 3, 0))),
        ("dose", "2026-06-12", t(utc(2026, 6, 12, 15, 0))),
        ("diary", "2026-06-12", t(utc(2026, 6, 13, 3, 0))),
    ]


def test_time_change_after_todays_reminder_waits_for_tomorrow(rconn):
    start = utc(2026, 6, 10, 0, 0)
    pid = add_patient(rconn, "Europe/London", start, diary_time="20:00")
    run_ticks(rconn, utc(2026, 6, 10, 19, 0), utc(2026, 6, 10, 19, 10))
    with dbmod.write(rconn):
        rconn.execute("UPDATE reminders SET time = '22:00' WHERE patient_id = ?", (pid,))
        schedule.recompute_for_patient(rconn, pid, utc(2026, 6, 10, 19, 10))
    run_ticks(rconn, utc(2026, 6, 10, 19, 11), utc(2026, 6, 11, 22, 0), step=timedelta(minutes=1))
    assert [(r["local_date"], r["due_at"]) for r in deliveries(rconn, pid)] == [
        ("2026-06-10", t(utc(2026, 6, 10, 19, 0))),
        ("2026-06-11", t(utc(2026, 6, 11, 21, 0))),
    ]


def test_recompute_keeps_a_due_but_unclaimed_occurrence(rconn):
    start = utc(2026, 6, 10, 0, 0)
    pid = add_patient(rconn, "UTC", start, diary_time="20:00")
    # The app looks at reminders 10 s after 20:00, before the next tick claims it.
    with dbmod.write(rconn):
        schedule.recompute_for_patient(rconn, pid, utc(2026, 6, 10, 20, 0, 10))
    run_ticks(rconn, utc(2026, 6, 10, 20, 0, 30), utc(2026, 6, 10, 20, 1, 30))
    assert [(r["local_date"], r["due_at"]) for r in deliveries(rconn, pid)] == [
        ("2026-06-10", t(utc(2026, 6, 10, 20, 0)))
    ]
