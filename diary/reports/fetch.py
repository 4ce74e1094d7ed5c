"""Load a patient's rows for a report period with raw SQL into the plain dicts analysis takes."""

import json
from datetime import date, timedelta

from marshmallow import ValidationError

from diary import people, records
from diary.clock import local_date, parse_utc_text
from diary.reports import analysis, questionnaire_summary
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
_RECORD_SQL = (
    "SELECT p.created_at, "
    "(SELECT min(date) FROM entries WHERE patient_id = p.id AND deleted = 0), "
    "(SELECT min(local_date) FROM doses WHERE patient_id = p.id AND deleted = 0) "
    "FROM patients p WHERE p.id = ?"
)


def _plain_cursor(conn):
    # Tuples, not sqlite3.Row: the report reads hundreds of rows on a hot path.
    cur = conn.cursor()
    cur.row_factory = None
    return cur


def record_dates(conn, patient):
    """Return (record start, first entry date text or None) of a patient.

    The record begins on the earlier of the local day the patient was created
    and their first diary entry or dose, so a backfilled paper diary still counts.
    """
    created_at, first_entry, first_dose = conn.execute(_RECORD_SQL, (patient["id"],)).fetchone()
    created = local_date(parse_utc_text(created_at), patient["timezone"])
    days = [created] + [date.fromisoformat(d) for d in (first_entry, first_dose) if d is not None]
    return min(days), first_entry


def entry_windows(regimen, first_entry, period_from, period_to):
    """Return the (from, to) date windows whose entries a report needs: period and baseline."""
    windows = [(period_from, period_to)]
    pre = analysis.pre_treatment_window(regimen)
    if pre is not None and pre[0] <= period_to:
        windows.append((pre[0], min(pre[1], period_to)))
    first = first_entry
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
    """Load the live doses of a patient that can count for a day of the period.

    A day either side too: a bedtime dose taken after midnight counts for the
    evening before (``diary.dosing``), so the analysis sorts them out.
    """
    rows = (
        _plain_cursor(conn)
        .execute(
            f"SELECT {', '.join(DOSE_COLUMNS)} FROM doses WHERE patient_id = ? AND deleted = 0 "
            "AND local_date BETWEEN ? AND ? ORDER BY local_date, taken_at",
            (
                patient_id,
                (period_from - timedelta(days=1)).isoformat(),
                (period_to + timedelta(days=1)).isoformat(),
            ),
        )
        .fetchall()
    )
    return [dict(zip(DOSE_COLUMNS, row)) for row in rows]


def entry_versions(conn, patient_id, period_from, period_to):
    """Return date -> when the stored version of each live entry of the period was written (FHIR issued)."""
    rows = _plain_cursor(conn).execute(
        "SELECT date, updated_at FROM entries WHERE patient_id = ? AND deleted = 0 AND date BETWEEN ? AND ?",
        (patient_id, period_from, period_to),
    )
    return dict(rows.fetchall())


def load_inputs(conn, patient, period_from, period_to):
    """Load everything build_report needs for a patient row and an inclusive period."""
    regimen = people.get_regimen(conn, patient["id"])
    record_start, first_entry = record_dates(conn, patient)
    windows = entry_windows(regimen, first_entry, period_from, period_to)
    return {
        "patient": {
            "id": patient["id"],
            "display_name": patient["display_name"],
            "timezone": patient["timezone"],
            "external_ref": patient.get("external_ref"),
        },
        "regimen": regimen,
        "entries": load_entries(conn, patient["id"], windows),
        "doses": load_doses(conn, patient["id"], period_from, period_to),
        "record_start": record_start,
        "appointments": appointment_days(conn, patient["id"], patient["timezone"]),
        # The period's questionnaires and the PEG baseline before it (at most 28 days before the first step).
        "responses": records.list_responses(
            conn,
            patient["id"],
            min(period_from, _response_start(regimen, period_from)),
            period_to,
        ),
    }


def _response_start(regimen, period_from):
    steps = (regimen or {}).get("steps") or []
    if not steps:
        return period_from
    return date.fromisoformat(steps[0]["start_date"]) - timedelta(
        days=questionnaire_summary.PEG_BASELINE_DAYS
    )


def appointment_days(conn, patient_id, timezone):
    """Return the local dates of a patient's appointments."""
    rows = conn.execute("SELECT starts_at FROM appointments WHERE patient_id = ?", (patient_id,))
    return [local_date(parse_utc_text(r[0]), timezone) for r in rows]


def resolve_period(conn, patient, period_from, period_to, now):
    """Return the (start, end) of the report asked for, as seen at the aware instant ``now``.

    The one period rule (``check_period`` is its last step):
    - a missing end is today in the patient's zone; a missing start is the last
      appointment day before today, else 14 days before the first regimen step (at
      most 180 days back) so the baseline is on the charts, else 90 days back
      (``analysis.default_period``), and lies at most MAX_PERIOD_DAYS before the end:
      an appointment decades back must not make a report of decades;
    - the start never lies before the patient's record began (``record_dates``): days
      before it are neither missing nor counted. A period that ends before the record
      began is refused (ValidationError keyed ``to``), the only refusal here; the
      default period never is one, so a page can always fall back to it.
    """
    today = local_date(now, patient["timezone"])
    default_from, default_to = analysis.default_period(
        today, appointment_days(conn, patient["id"], patient["timezone"]), first_step(conn, patient["id"])
    )
    end = period_to or default_to
    if period_from is not None:
        start = period_from
    else:
        if default_from > end:
            default_from = end - timedelta(days=analysis.DEFAULT_PERIOD_DAYS - 1)
        start = limit_start(default_from, end)
    record_start, _ = record_dates(conn, patient)
    if end < record_start:
        raise ValidationError({"to": [f"The patient's record begins on {record_start.isoformat()}."]})
    return max(start, record_start), end


def first_step(conn, patient_id):
    """Return the date of a patient's first regimen step, or None."""
    steps = (people.get_regimen(conn, patient_id) or {}).get("steps") or []
    return min(date.fromisoformat(str(s["start_date"])) for s in steps) if steps else None


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
