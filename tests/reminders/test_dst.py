"""Done-when 1: minute-by-minute ticks over three local days across DST changes."""

from datetime import date, time, timedelta

import pytest

from diary.reminders.rules import due_at
from tests.reminders.helpers import add_patient, deliveries, run_ticks, t, utc

# (zone, first local day, dose time, diary time, expected [(kind, local_date, UTC due)])
SCENARIOS = {
    # 2026-03-08 02:00 EST -> 03:00 EDT: 02:30 does not exist and fires at 03:30 EDT.
    "new_york_spring": (
        "America/New_York",
        date(2026, 3, 7),
        "02:30",
        "21:00",
        [
            ("dose", "2026-03-07", utc(2026, 3, 7, 7, 30)),
            ("diary", "2026-03-07", utc(2026, 3, 8, 2, 0)),
            ("dose", "2026-03-08", utc(2026, 3, 8, 7, 30)),
            ("diary", "2026-03-08", utc(2026, 3, 9, 1, 0)),
            ("dose", "2026-03-09", utc(2026, 3, 9, 6, 30)),
            ("diary", "2026-03-09", utc(2026, 3, 10, 1, 0)),
        ],
    ),
    # 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens twice and fires at the first (EDT).
    "new_york_autumn": (
        "America/New_York",
        date(2026, 10, 31),
        "01:30",
        "21:00",
        [
            ("dose", "2026-10-31", utc(2026, 10, 31, 5, 30)),
            ("diary", "2026-10-31", utc(2026, 11, 1, 1, 0)),
            ("dose", "2026-11-01", utc(2026, 11, 1, 5, 30)),
            ("diary", "2026-11-01", utc(2026, 11, 2, 2, 0)),
            ("dose", "2026-11-02", utc(2026, 11, 2, 6, 30)),
            ("diary", "2026-11-02", utc(2026, 11, 3, 2, 0)),
        ],
    ),
    # 2026-03-29 01:00 GMT -> 02:00 BST: 01:30 does not exist and fires at 02:30 BST.
    "london_spring": (
        "Europe/London",
        date(2026, 3, 28),
        "01:30",
        "20:00",
        [
            ("dose", "2026-03-28", utc(2026, 3, 28, 1, 30)),
            ("diary", "2026-03-28", utc(2026, 3, 28, 20, 0)),
            ("dose", "2026-03-29", utc(2026, 3, 29, 1, 30)),
            ("diary", "2026-03-29", utc(2026, 3, 29, 19, 0)),
            ("dose", "2026-03-30", utc(2026, 3, 30, 0, 30)),
            ("diary", "2026-03-30", utc(2026, 3, 30, 19, 0)),
        ],
    ),
    # 2026-10-25 02:00 BST -> 01:00 GMT: 01:30 happens twice and fires at the first (BST).
    "london_autumn": (
        "Europe/London",
        date(2026, 10, 24),
        "01:30",
        "20:00",
        [
            ("dose", "2026-10-24", utc(2026, 10, 24, 0, 30)),
            ("diary", "2026-10-24", utc(2026, 10, 24, 19, 0)),
            ("dose", "2026-10-25", utc(2026, 10, 25, 0, 30)),
            ("diary", "2026-10-25", utc(2026, 10, 25, 20, 0)),
            ("dose", "2026-10-26", utc(2026, 10, 26, 1, 30)),
            ("diary", "2026-10-26", utc(2026, 10, 26, 20, 0)),
        ],
    ),
    # Half-hour offsets: 2026-04-05 03:00 ACDT (+10:30) -> 02:00 ACST (+9:30); 02:30 repeats.
    "adelaide_autumn": (
        "Australia/Adelaide",
        date(2026, 4, 4),
        "02:30",
        "21:15",
        [
            ("dose", "2026-04-04", utc(2026, 4, 3, 16, 0)),
            ("diary", "2026-04-04", utc(2026, 4, 4, 10, 45)),
            ("dose", "2026-04-05", utc(2026, 4, 4, 16, 0)),
            ("diary", "2026-04-05", utc(2026, 4, 5, 11, 45)),
            ("dose", "2026-04-06", utc(2026, 4, 5, 17, 0)),
            ("diary", "2026-04-06", utc(2026, 4, 6, 11, 45)),
        ],
    ),
    # 2026-10-04 02:00 ACST -> 03:00 ACDT: 02:30 does not exist and fires at 03:30 ACDT.
    "adelaide_spring": (
        "Australia/Adelaide",
        date(2026, 10, 3),
        "02:30",
        "21:15",
        [
            ("dose", "2026-10-03", utc(2026, 10, 2, 17, 0)),
            ("diary", "2026-10-03", utc(2026, 10, 3, 11, 45)),
            ("dose", "2026-10-04", utc(2026, 10, 3, 17, 0)),
            ("diary", "2026-10-04", utc(2026, 10, 4, 10, 45)),
            ("dose", "2026-10-05", utc(2026, 10, 4, 16, 0)),
            ("diary", "2026-10-05", utc(2026, 10, 5, 10, 45)),
        ],
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_three_days_minute_by_minute_across_dst(rconn, name):
    tz, first_day, dose_time, diary_time, expected = SCENARIOS[name]
    start = due_at(first_day, time(0, 0), tz) - timedelta(minutes=1)
    end = due_at(first_day + timedelta(days=3), time(0, 0), tz)
    pid = add_patient(rconn, tz, start, dose_time=dose_time, diary_time=diary_time)

    total = run_ticks(rconn, start, end)

    rows = deliveries(rconn, pid)
    # Every delivery at its exact instant, claimed by the tick of that very minute.
    assert [(r["kind"], r["local_date"], r["due_at"], r["claimed_at"], r["status"]) for r in rows] == [
        (kind, day, t(due), t(due), "sent") for kind, day, due in expected
    ]
    assert total == {"due": 6, "sent": 6, "skipped_done": 0, "expired": 0, "failed": 0}
    # No push channel: each outbox row is the delivery, one attempt each.
    assert {r["attempts"] for r in rows} == {1}
    assert all(r["sent_at"] == r["claimed_at"] for r in rows)


def test_weekday_subset_skips_other_days(rconn):
    start = utc(2026, 6, 1, 0, 0)  # a Monday
    pid = add_patient(rconn, "Asia/Kolkata", start, dose_time="22:00", diary_time=None, days="mon,thu")
    run_ticks(rconn, start, start + timedelta(days=7), step=timedelta(minutes=5))
    rows = deliveries(rconn, pid)
    # Kolkata is UTC+5:30 all year: 22:00 local is 16:30 UTC.
    assert [(r["local_date"], r["due_at"]) for r in rows] == [
        ("2026-06-01", t(utc(2026, 6, 1, 16, 30))),
        ("2026-06-04", t(utc(2026, 6, 4, 16, 30))),
    ]
