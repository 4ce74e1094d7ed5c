"""Done-when 3: after 5 hours without ticks, late-but-in-grace reminders go out once, older ones expire."""

from datetime import timedelta

from diary import db as dbmod
from diary.clock import to_utc_text
from diary.reminders.tick import tick
from tests.reminders.helpers import CONFIG, add_patient, deliveries, run_ticks, t, utc


def test_five_hour_downtime_then_one_tick(rconn):
    down = utc(2026, 6, 10, 6, 0)
    # London in June is UTC+1: wall times below are due 0.5, 2.5, 3.5 and 4.5 hours into the outage.
    a = add_patient(rconn, "Europe/London", down, dose_time="07:30", diary_time=None)  # 4.5 h late
    b = add_patient(rconn, "Europe/London", down, dose_time="09:30", diary_time=None)  # 2.5 h late
    c = add_patient(rconn, "Europe/London", down, dose_time="10:30", diary_time="11:30")  # 1.5 h, 0.5 h

    back = down + timedelta(hours=5)
    summary = tick(rconn, back, CONFIG)

    assert summary == {"due": 4, "sent": 2, "skipped_done": 0, "expired": 2, "failed": 0}
    status = {
        (r["patient_id"], r["kind"]): (r["status"], r["due_at"], r["sent_at"]) for r in deliveries(rconn)
    }
    assert status == {
        (a, "dose"): ("expired", t(utc(2026, 6, 10, 6, 30)), None),
        (b, "dose"): ("expired", t(utc(2026, 6, 10, 8, 30)), None),
        (c, "dose"): ("sent", t(utc(2026, 6, 10, 9, 30)), t(back)),
        (c, "diary"): ("sent", t(utc(2026, 6, 10, 10, 30)), t(back)),
    }
    # The following minutes send nothing more, and tomorrow is scheduled as usual.
    again = run_ticks(rconn, back + timedelta(minutes=1), back + timedelta(hours=2))
    assert sum(again.values()) == 0
    assert rconn.execute(
        "SELECT next_due_utc FROM reminders WHERE patient_id = ? AND kind = 'dose'", (a,)
    ).fetchone()[0] == to_utc_text(utc(2026, 6, 11, 6, 30))


def test_exactly_at_grace_is_still_sent(rconn):
    start = utc(2026, 6, 10, 6, 0)
    pid = add_patient(rconn, "UTC", start, dose_time="07:00", diary_time="07:01")
    summary = tick(rconn, utc(2026, 6, 10, 9, 0), CONFIG)  # dose 120 min late, diary 119
    assert summary["sent"] == 2 and summary["expired"] == 0
    assert {r["status"] for r in deliveries(rconn, pid)} == {"sent"}
    summary = tick(rconn, utc(2026, 6, 11, 9, 1), CONFIG)  # dose 121 min late
    assert summary == {"due": 2, "sent": 1, "skipped_done": 0, "expired": 1, "failed": 0}


def test_three_day_outage_records_each_missed_day_expired_once(rconn):
    start = utc(2026, 6, 10, 0, 0)
    pid = add_patient(rconn, "UTC", start, diary_time="20:00")
    summary = tick(rconn, utc(2026, 6, 13, 12, 0), CONFIG)
    assert summary == {"due": 3, "sent": 0, "skipped_done": 0, "expired": 3, "failed": 0}
    assert [r["local_date"] for r in deliveries(rconn, pid)] == ["2026-06-10", "2026-06-11", "2026-06-12"]
    run_ticks(rconn, utc(2026, 6, 13, 12, 1), utc(2026, 6, 13, 20, 0))
    assert [r["status"] for r in deliveries(rconn, pid)] == ["expired"] * 3 + ["sent"]


def test_done_days_are_skipped_not_sent(rconn):
    start = utc(2026, 6, 10, 0, 0)
    pid = add_patient(rconn, "UTC", start, dose_time="21:00", diary_time="20:00")
    now = to_utc_text(start)
    with dbmod.write(rconn):
        seq = 1
        rconn.execute(
            "INSERT INTO entries (patient_id, date, pain, recorded_at, updated_at, seq)"
            " VALUES (?, '2026-06-10', 4, ?, ?, ?)",
            (pid, now, now, seq),
        )
        # A deleted entry does not count: the 11th still gets its reminder.
        rconn.execute(
            "INSERT INTO entries (patient_id, date, pain, recorded_at, updated_at, deleted, seq)"
            " VALUES (?, '2026-06-11', 4, ?, ?, 1, ?)",
            (pid, now, now, seq + 1),
        )
        # A dose logged as skipped still means the dose was dealt with (at 20:55, so the
        # planned-day rule files it under the 10th's 21:00 dose).
        rconn.execute(
            "INSERT INTO doses (patient_id, id, medication, amount_ug, taken_at, utc_offset_minutes,"
            " local_date, status, recorded_at, updated_at, seq)"
            " VALUES (?, 'd1', 'naltrexone', 1500, '2026-06-10T20:55:00.000000+00:00', 0, '2026-06-10',"
            " 'skipped', ?, ?, ?)",
            (pid, now, now, seq + 2),
        )
    run_ticks(rconn, start, utc(2026, 6, 11, 22, 0), step=timedelta(minutes=1))
    assert [(r["kind"], r["local_date"], r["status"]) for r in deliveries(rconn, pid)] == [
        ("diary", "2026-06-10", "skipped_done"),
        ("dose", "2026-06-10", "skipped_done"),
        ("diary", "2026-06-11", "sent"),
        ("dose", "2026-06-11", "sent"),
    ]


def _dose(conn, pid, dose_id, medication, taken_at, local_date, seq):
    conn.execute(
        "INSERT INTO doses (patient_id, id, medication, amount_ug, taken_at, utc_offset_minutes,"
        " local_date, status, recorded_at, updated_at, seq)"
        " VALUES (?, ?, ?, 4500, ?, 0, ?, 'taken', ?, ?, ?)",
        (pid, dose_id, medication, taken_at, local_date, taken_at, taken_at, seq),
    )


def test_dose_reminder_skip_follows_the_planned_day_rule(rconn):
    # Regimen "LDN" at 22:00 UTC. On the 10th the dose was taken at 00:30 on the 11th: it
    # belongs to the 10th (whose reminder is skipped) and must not silence the 11th's.
    # On the 12th only ibuprofen was logged: not the regimen's medication, so it is sent.
    # On the 13th "Naltrexone 4.5mg" at 21:40 is the regimen's substance however written.
    start = utc(2026, 6, 10, 0, 0)
    pid = add_patient(rconn, "UTC", start, dose_time="22:00", diary_time=None, medication="LDN")
    with dbmod.write(rconn):
        _dose(rconn, pid, "a", "ldn 4.5 mg", "2026-06-11T00:30:00.000000+00:00", "2026-06-11", 1)
        _dose(rconn, pid, "b", "Ibuprofen 400mg", "2026-06-12T21:00:00.000000+00:00", "2026-06-12", 2)
        _dose(rconn, pid, "c", "Naltrexone 4.5mg", "2026-06-13T21:40:00.000000+00:00", "2026-06-13", 3)
    run_ticks(rconn, start, utc(2026, 6, 13, 23, 0), step=timedelta(minutes=5))
    assert [(r["local_date"], r["status"]) for r in deliveries(rconn, pid) if r["kind"] == "dose"] == [
        ("2026-06-10", "skipped_done"),
        ("2026-06-11", "sent"),
        ("2026-06-12", "sent"),
        ("2026-06-13", "skipped_done"),
    ]


def test_text_is_lock_screen_safe_unless_detail_opted_in(rconn):
    start = utc(2026, 6, 10, 0, 0)
    plain = add_patient(
        rconn,
        "UTC",
        start,
        dose_time="22:00",
        diary_time=None,
        steps=[("2026-06-01", 1500), ("2026-06-11", 3000)],
    )
    detail = add_patient(
        rconn,
        "UTC",
        start,
        dose_time="22:00",
        diary_time=None,
        detail=1,
        steps=[("2026-06-01", 1500), ("2026-06-11", 3000)],
    )
    run_ticks(rconn, utc(2026, 6, 10, 21, 59), utc(2026, 6, 11, 22, 0))
    assert [(r["title"], r["body"]) for r in deliveries(rconn, plain)] == [
        ("Reminder", "Time for your evening dose")
    ] * 2
    bodies = [r["body"] for r in deliveries(rconn, detail)]
    assert bodies == [
        "Time for your evening dose: naltrexone 1.5 mg",
        "Time for your evening dose: naltrexone 3 mg",
    ]
    assert not any("naltrexone" in r["body"] for r in deliveries(rconn, plain))
