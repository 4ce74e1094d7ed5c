"""What the web API calls when a reminder, a zone or a regimen changes.

Each function runs in ``db.write``: inside the caller's open write transaction it
is a savepoint (so the change and the new ``next_due_utc`` commit together),
otherwise a transaction of its own.
"""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from diary import db as dbmod
from diary.clock import local_date, parse_utc_text, to_utc_text
from diary.reminders import rules


def ensure_default_reminders(conn, patient_id, now):
    """Create the patient's missing default reminders and schedule them.

    The diary reminder (20:00 every day) and the questionnaire reminder (Sunday
    19:00, sent only when a questionnaire is due) always exist; the dose reminder
    exists once there is a regimen, at its dose_time and following it. Call on
    patient creation and after PUT /patients/{id}/regimen.
    """
    with dbmod.write(conn):
        now_text = to_utc_text(now)
        regimen = conn.execute(
            "SELECT dose_time FROM regimens WHERE patient_id = ?", (patient_id,)
        ).fetchone()
        conn.execute(
            "INSERT INTO reminders (patient_id, kind, time, updated_at) VALUES (?, 'diary', ?, ?)"
            " ON CONFLICT (patient_id, kind) DO NOTHING",
            (patient_id, rules.DEFAULT_DIARY_TIME, now_text),
        )
        conn.execute(
            "INSERT INTO reminders (patient_id, kind, time, days, updated_at) VALUES (?, 'questionnaire', ?, ?, ?)"
            " ON CONFLICT (patient_id, kind) DO NOTHING",
            (
                patient_id,
                rules.DEFAULT_QUESTIONNAIRE_TIME,
                rules.format_days(rules.DEFAULT_QUESTIONNAIRE_DAYS),
                now_text,
            ),
        )
        if regimen is not None:
            conn.execute(
                "INSERT INTO reminders (patient_id, kind, time, follows_regimen, updated_at)"
                " VALUES (?, 'dose', ?, 1, ?) ON CONFLICT (patient_id, kind) DO NOTHING",
                (patient_id, regimen["dose_time"], now_text),
            )
        recompute_for_patient(conn, patient_id, now)


def recompute_for_patient(conn, patient_id, now):
    """Recompute ``next_due_utc`` of every reminder of a patient after a change.

    Call after a timezone change (PATCH /me), a regimen change (PUT
    /patients/{id}/regimen; a following dose reminder takes the new dose_time)
    or a reminder edit. The new zone or time applies from the next occurrence
    after ``now``; a local date that already had a delivery is skipped.
    """
    with dbmod.write(conn):
        patient = conn.execute("SELECT timezone FROM patients WHERE id = ?", (patient_id,)).fetchone()
        if patient is None:
            return
        regimen = conn.execute(
            "SELECT dose_time FROM regimens WHERE patient_id = ?", (patient_id,)
        ).fetchone()
        for reminder in conn.execute(
            "SELECT * FROM reminders WHERE patient_id = ?", (patient_id,)
        ).fetchall():
            wall_time = reminder["time"]
            if reminder["kind"] == "dose" and reminder["follows_regimen"] and regimen is not None:
                wall_time = regimen["dose_time"]
            active = reminder["enabled"] and (reminder["kind"] != "dose" or regimen is not None)
            if (
                active
                and reminder["next_due_utc"] is not None
                and reminder["next_due_utc"] <= to_utc_text(now)
            ):
                # Due but not yet claimed (ticks are seconds apart): it is the
                # current occurrence, and recomputing past it would drop it.
                nxt = (
                    date.fromisoformat(reminder["next_local_date"]),
                    parse_utc_text(reminder["next_due_utc"]),
                )
            elif active:
                nxt = _next(conn, reminder["id"], wall_time, reminder["days"], patient["timezone"], now)
            else:
                nxt = None
            conn.execute(
                "UPDATE reminders SET time = ?, next_due_utc = ?, next_local_date = ? WHERE id = ?",
                (
                    wall_time,
                    to_utc_text(nxt[1]) if nxt else None,
                    nxt[0].isoformat() if nxt else None,
                    reminder["id"],
                ),
            )


def _next(conn, reminder_id, wall_time, days_text, tz, now):
    # Dates from two days back in the new zone: any later date may already
    # have been delivered under the old zone.
    since = (local_date(now, tz) - timedelta(days=2)).isoformat()
    delivered = frozenset(
        r[0]
        for r in conn.execute(
            "SELECT local_date FROM deliveries WHERE reminder_id = ? AND local_date >= ?",
            (reminder_id, since),
        )
    )
    return rules.next_occurrence(
        rules.parse_time(wall_time), rules.parse_days(days_text), tz, now, delivered=delivered
    )


def upcoming(conn, patient_id, now, days=7):
    """Return the coming fire times of a patient's reminders within ``days`` days."""
    patient = conn.execute("SELECT timezone FROM patients WHERE id = ?", (patient_id,)).fetchone()
    if patient is None:
        return None
    tz = patient["timezone"]
    until = now + timedelta(days=days)
    found = []
    for reminder in conn.execute(
        "SELECT * FROM reminders WHERE patient_id = ? ORDER BY kind", (patient_id,)
    ).fetchall():
        if reminder["next_due_utc"] is None:
            continue
        due = parse_utc_text(reminder["next_due_utc"])
        local_date = reminder["next_local_date"]
        wall = rules.parse_time(reminder["time"])
        rule_days = rules.parse_days(reminder["days"])
        while due <= until:
            found.append(
                {
                    "kind": reminder["kind"],
                    "local_date": local_date,
                    "local": due.astimezone(ZoneInfo(tz)).isoformat(),
                    "utc": to_utc_text(due),
                }
            )
            nxt = rules.next_occurrence(wall, rule_days, tz, due, after_date=date.fromisoformat(local_date))
            if nxt is None:
                break
            local_date, due = nxt[0].isoformat(), nxt[1]
    found.sort(key=lambda item: item["utc"])
    return found


def put_reminder(conn, patient_id, kind, data, now):
    """Set a reminder's time, days and enabled flag; return its row, or None without a regimen.

    A dose reminder keeps following the regimen while its time equals the
    regimen's dose_time. Runs inside the caller's write transaction.
    """
    with dbmod.write(conn):
        ensure_default_reminders(conn, patient_id, now)
        regimen = conn.execute(
            "SELECT dose_time FROM regimens WHERE patient_id = ?", (patient_id,)
        ).fetchone()
        if kind == "dose" and regimen is None:
            return None
        follows = int(kind == "dose" and data["time"] == regimen["dose_time"])
        conn.execute(
            "UPDATE reminders SET time = ?, days = ?, enabled = ?, follows_regimen = ?, updated_at = ?"
            " WHERE patient_id = ? AND kind = ?",
            (
                data["time"],
                rules.format_days(data["days"]),
                int(data["enabled"]),
                follows,
                to_utc_text(now),
                patient_id,
                kind,
            ),
        )
        recompute_for_patient(conn, patient_id, now)
        return get_reminder(conn, patient_id, kind)


def reminder_out(row):
    """Shape a reminders row for JSON."""
    return {
        "kind": row["kind"],
        "time": row["time"],
        "days": sorted(rules.parse_days(row["days"]), key=rules.DAY_NAMES.index),
        "enabled": bool(row["enabled"]),
        "follows_regimen": bool(row["follows_regimen"]),
        "next_due_at": row["next_due_utc"],
        "next_local_date": row["next_local_date"],
    }


def list_reminders(conn, patient_id):
    """The patient's reminder rows: dose, diary, then questionnaire."""
    return conn.execute(
        # Dose, diary, then the weekly questionnaire one (the order the app shows them in).
        "SELECT * FROM reminders WHERE patient_id = ?"
        " ORDER BY CASE kind WHEN 'dose' THEN 0 WHEN 'diary' THEN 1 ELSE 2 END",
        (patient_id,),
    ).fetchall()


def get_reminder(conn, patient_id, kind):
    """The patient's reminder row of one kind, or None."""
    return conn.execute(
        "SELECT * FROM reminders WHERE patient_id = ? AND kind = ?", (patient_id, kind)
    ).fetchone()


def lacks_defaults(conn, patient_id):
    """Whether a default reminder is missing (a patient from before reminders existed); a plain read."""
    have = conn.execute("SELECT COUNT(*) FROM reminders WHERE patient_id = ?", (patient_id,)).fetchone()[0]
    has_regimen = conn.execute("SELECT 1 FROM regimens WHERE patient_id = ?", (patient_id,)).fetchone()
    return have < 2 + (has_regimen is not None)
