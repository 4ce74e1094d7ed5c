"""Load a patient's rows for a report period with raw SQL into the plain dicts analysis takes."""

import json
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from marshmallow import ValidationError

from diary import people
from diary.clock import parse_utc_text
from diary.reports import analysis
from diary.schemas.reports import MAX_PERIOD_DAYS

ENTRY_COLUMNS = (
    "date",
    "pain",
    "pain_worst",
    "fatigue",
    "mood",
    "sleep_quality",
    "function",
    "sleep_hours",
    "side_effects",
    "notes",
)
DOSE_COLUMNS = ("id", "medication", "amount_ug", "local_date", "status", "taken_at")


def _plain_cursor(conn):
    # Tuples, not sqlite3.Row: the report reads hundreds of rows on a hot path.
    cur = conn.cursor()
    cur.row_factory = None
    return cur


def entry_windows(conn, patient_id, regimen, period_from, period_to):
    """Return the (from, to) date windows whose entries a report needs: period and baseline."""
    windows = [(period_from, period_to)]
    pre = analysis.pre_treatment_window(regimen)
    if pre is not None and pre[0] <= period_to:
        windows.append((pre[0], min(pre[1], period_to)))
    first = conn.execute(
        "SELECT min(date) FROM entries WHERE patient_id = ? AND deleted = 0", (patient_id,)
    ).fetchone()[0]
    if first is not None and first < period_from.isoformat():
        start = date.fromisoformat(first)
        windows.append((start, min(start + timedelta(days=analysis.BASELINE_DAYS - 1), period_to)))
    return windows


def load_entries(conn, patient_id, windows):
    """Load the live entries of a patient in any of the date windows, oldest first."""
    where = " OR ".join(["date BETWEEN ? AND ?"] * len(windows))
    params = [patient_id]
    for start, end in windows:
        params += [start.isoformat(), end.isoformat()]
    rows = (
        _plain_cursor(conn)
        .execute(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries "
            f"WHERE patient_id = ? AND deleted = 0 AND ({where}) ORDER BY date",
            params,
        )
        .fetchall()
    )
    entries = []
    for row in rows:
        entry = dict(zip(ENTRY_COLUMNS, row))
        text = entry["side_effects"]
        entry["side_effects"] = [] if not text or text == "[]" else json.loads(text)
        entries.append(entry)
    return entries


def load_doses(conn, patient_id, period_from, period_to):
    """Load the live doses of a patient whose local date lies in the period."""
    rows = (
        _plain_cursor(conn)
        .execute(
            f"SELECT {', '.join(DOSE_COLUMNS)} FROM doses WHERE patient_id = ? AND deleted = 0 "
            "AND local_date BETWEEN ? AND ? ORDER BY local_date, taken_at",
            (patient_id, period_from.isoformat(), period_to.isoformat()),
        )
        .fetchall()
    )
    return [dict(zip(DOSE_COLUMNS, row)) for row in rows]


def load_inputs(conn, patient, period_from, period_to):
    """Load everything build_report needs for a patient row and an inclusive period."""
    regimen = people.get_regimen(conn, patient["id"])
    windows = entry_windows(conn, patient["id"], regimen, period_from, period_to)
    return {
        "patient": {
            "id": patient["id"],
            "display_name": patient["display_name"],
            "timezone": patient["timezone"],
        },
        "regimen": regimen,
        "entries": load_entries(conn, patient["id"], windows),
        "doses": load_doses(conn, patient["id"], period_from, period_to),
    }


def appointment_days(conn, patient_id, timezone):
    """Return the local dates of a patient's appointments."""
    zone = ZoneInfo(timezone)
    rows = conn.execute("SELECT starts_at FROM appointments WHERE patient_id = ?", (patient_id,))
    return [parse_utc_text(r[0]).astimezone(zone).date() for r in rows]


def resolve_period(conn, patient, period_from, period_to, now):
    """Fill a missing end of the period with the default rule at the aware instant ``now``; never raises.

    A default start lies at most MAX_PERIOD_DAYS before the end: an appointment decades
    back must not make a report of decades. ``check_period`` tells whether a period built
    from the caller's own ends is one.
    """
    today = analysis.local_today(now, patient["timezone"])
    default_from, default_to = analysis.default_period(
        today, appointment_days(conn, patient["id"], patient["timezone"])
    )
    end = period_to or default_to
    if period_from is not None:
        return period_from, end
    if default_from > end:
        default_from = end - timedelta(days=analysis.DEFAULT_PERIOD_DAYS - 1)
    return limit_start(default_from, end), end


def limit_start(start, end):
    """Move ``start`` forward so that ``start``-``end`` covers at most MAX_PERIOD_DAYS."""
    return max(start, end - timedelta(days=MAX_PERIOD_DAYS - 1))


def check_period(start, end):
    """Raise marshmallow's ValidationError (keyed ``from``) when ``start``-``end`` is not a report period."""
    # With one end given, the default other end can leave the period upside down or
    # too long (from alone, in the future or decades back): refuse, never crash or churn.
    if start > end:
        raise ValidationError(
            {"from": ["Must not be after the last day (default: today in the patient's zone)."]}
        )
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationError({"from": [f"A report covers at most {MAX_PERIOD_DAYS} days."]})
