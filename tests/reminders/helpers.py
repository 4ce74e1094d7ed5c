"""Plain-SQL setup for reminder engine tests: no dependency on the web API."""

import uuid
from datetime import UTC, datetime, timedelta

from diary import db as dbmod
from diary.clock import to_utc_text
from diary.reminders import schedule
from diary.reminders.tick import tick

UTC = UTC
CONFIG = {
    "REMINDER_GRACE_MINUTES": 120,
    "PUSH_WEBHOOK_URL": "",
    "PUSH_WEBHOOK_SECRET": "",
    "PUSH_WEBHOOK_TIMEOUT_SECONDS": 2,
}


def utc(*args):
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)


def add_patient(
    conn,
    tz,
    now,
    dose_time=None,
    diary_time="20:00",
    days=None,
    detail=0,
    medication="naltrexone",
    steps=(),
    diary_enabled=True,
    questionnaire_enabled=False,
):
    """Insert a patient (and regimen) with SQL, then create and schedule the reminders."""
    pid = str(uuid.uuid4())
    now_text = to_utc_text(now)
    with dbmod.write(conn):
        clinic = conn.execute("SELECT id FROM clinics LIMIT 1").fetchone()
        clinic_id = (
            clinic[0]
            if clinic
            else conn.execute(
                "INSERT INTO clinics (name, created_at) VALUES ('Test clinic', ?)", (now_text,)
            ).lastrowid
        )
        conn.execute(
            "INSERT INTO patients (id, clinic_id, display_name, timezone, reminder_detail, created_at)"
            " VALUES (?, ?, 'P', ?, ?, ?)",
            (pid, clinic_id, tz, detail, now_text),
        )
        if dose_time:
            conn.execute(
                "INSERT INTO regimens (patient_id, medication, dose_time, updated_at) VALUES (?, ?, ?, ?)",
                (pid, medication, dose_time, now_text),
            )
            for start, dose_ug in steps:
                conn.execute(
                    "INSERT INTO regimen_steps (patient_id, start_date, dose_ug) VALUES (?, ?, ?)",
                    (pid, start, dose_ug),
                )
        schedule.ensure_default_reminders(conn, pid, now)
        conn.execute(
            "UPDATE reminders SET time = ?, enabled = ? WHERE patient_id = ? AND kind = 'diary'",
            (diary_time or "20:00", 1 if diary_time and diary_enabled else 0, pid),
        )
        # The weekly questionnaire reminder is off unless a test is about it, so the counts of the
        # dose and diary tests stay theirs.
        conn.execute(
            "UPDATE reminders SET enabled = ? WHERE patient_id = ? AND kind = 'questionnaire'",
            (int(questionnaire_enabled), pid),
        )
        if days is not None:
            conn.execute(
                "UPDATE reminders SET days = ? WHERE patient_id = ? AND kind != 'questionnaire'", (days, pid)
            )
        schedule.recompute_for_patient(conn, pid, now)
    return pid


def run_ticks(conn, start, end, config=CONFIG, step=timedelta(minutes=1), **kwargs):
    """Tick every ``step`` from ``start`` to ``end`` inclusive; return the summed summary."""
    total = {}
    now = start
    while now <= end:
        for key, value in tick(conn, now, config, **kwargs).items():
            total[key] = total.get(key, 0) + value
        now += step
    return total


def deliveries(conn, patient_id=None):
    """Ledger rows as dicts, ordered by due time."""
    sql = (
        "SELECT * FROM deliveries"
        + (" WHERE patient_id = ?" if patient_id else "")
        + " ORDER BY due_at, kind"
    )
    return [dict(r) for r in conn.execute(sql, (patient_id,) if patient_id else ())]


def when(rows):
    """(kind, local_date, due_at, claimed_at, status) of ledger rows."""
    return [(r["kind"], r["local_date"], r["due_at"], r["claimed_at"], r["status"]) for r in rows]


def t(dt):
    """Stored UTC text of an aware datetime."""
    return to_utc_text(dt)
