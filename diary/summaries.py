"""The stored per-patient summary behind the /patients page: computed once per change, read per view.

A change to a patient's entries, doses, appointments, regimen, enrollment code or devices
bumps ``patient_summaries.stale`` (triggers, migration 0008). The scheduler refreshes
stale rows every tick (``refresh_due``), and so does a page that shows one (``refresh``
on demand), so the list never analyses every patient per view. Rows also fall due
when time alone moves their figures: the next appointment passed, the enrollment code
expired, or the last analysis is older than ``MAX_AGE`` (flags look at "the last 30
days" and "today").
"""

import json
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from diary.clock import parse_utc_text, to_utc_text
from diary.db import write
from diary.reports import service
from diary.reports.fetch import resolve_period

# Most severe first: safety (opioid co-medication, a severe side effect), then the
# measures getting worse, then adherence, then data quality.
FLAG_ORDER = (
    "opioid_co_medication",
    "severe_side_effect",
    "pain_worsening",
    "worst_pain_worsening",
    "function_worsening",
    "fatigue_worsening",
    "mood_worsening",
    "sleep_quality_worsening",
    "low_adherence",
    "sparse_diary",
)
SAFETY_FLAGS = ("opioid_co_medication", "severe_side_effect")
NO_FLAG_RANK = 99
MAX_AGE = timedelta(hours=6)
REFRESH_BATCH = 200
PAGE_SIZE = 50

SORTS = {
    # key: (label, ORDER BY)
    "last_entry": ("Last entry", "s.last_entry IS NULL, s.last_entry DESC, p.display_name, p.id"),
    "flags": ("Flags", "s.flag_rank, s.flags = '[]', p.display_name, p.id"),
    "next_appointment": (
        "Next appointment",
        "s.next_appointment IS NULL, s.next_appointment, p.display_name, p.id",
    ),
    "name": ("Name", "p.display_name COLLATE NOCASE, p.id"),
}
DEFAULT_SORT = "flags"


def flag_rank(code):
    """Severity rank of a flag code (0 most severe; unknown codes after the known ones)."""
    return FLAG_ORDER.index(code) if code in FLAG_ORDER else len(FLAG_ORDER)


def order_flags(flags):
    """The report's flags, most severe first (a stable sort keeps the report's order within a rank)."""
    return sorted(flags, key=lambda f: flag_rank(f["code"]))


def compute(conn, patient, now, lag_days):
    """The summary figures of one patient row at ``now`` (reads only)."""
    now_text = to_utc_text(now)
    pid = patient["id"]
    start, end = resolve_period(conn, patient, None, None, now)
    report, _ = service.make_report(conn, patient, start, end, lag_days, now, series=False)
    flags = [{"code": f["code"], "message": f["message"]} for f in order_flags(report["flags"])]
    last_entry = conn.execute(
        "SELECT max(date) FROM entries WHERE patient_id = ? AND deleted = 0", (pid,)
    ).fetchone()[0]
    next_appointment = conn.execute(
        "SELECT min(starts_at) FROM appointments WHERE patient_id = ? AND starts_at > ?", (pid, now_text)
    ).fetchone()[0]
    devices = conn.execute(
        "SELECT count(*) FROM tokens WHERE kind = 'patient' AND patient_id = ? AND revoked_at IS NULL", (pid,)
    ).fetchone()[0]
    code = conn.execute(
        "SELECT expires_at FROM enrollment_codes WHERE patient_id = ? AND used_at IS NULL AND expires_at > ?",
        (pid, now_text),
    ).fetchone()
    return {
        "last_entry": last_entry,
        "next_appointment": next_appointment,
        "devices": devices,
        "code_expires_at": code[0] if code else None,
        "flags": json.dumps(flags),
        "flag_rank": min((flag_rank(f["code"]) for f in flags), default=NO_FLAG_RANK),
        "computed_at": now_text,
    }


def refresh(conn, patient_ids, now, lag_days):
    """Recompute the summaries of these patients; return how many were written.

    Each is analysed outside the write lock; the write subtracts only the changes
    seen before the analysis, so a change made meanwhile leaves the row stale.
    """
    done = []
    for pid in patient_ids:
        row = conn.execute(
            "SELECT p.*, s.stale AS summary_stale FROM patients p JOIN patient_summaries s "
            "ON s.patient_id = p.id WHERE p.id = ?",
            (pid,),
        ).fetchone()
        if row is None:
            continue  # erased meanwhile
        patient = dict(row)
        seen = patient.pop("summary_stale")
        done.append((pid, seen, compute(conn, patient, now, lag_days)))
    if done:
        with write(conn):
            conn.executemany(
                "UPDATE patient_summaries SET last_entry = :last_entry, next_appointment = :next_appointment, "
                "devices = :devices, code_expires_at = :code_expires_at, flags = :flags, "
                "flag_rank = :flag_rank, computed_at = :computed_at, stale = max(stale - :seen, 0) "
                "WHERE patient_id = :pid",
                [{**figures, "pid": pid, "seen": seen} for pid, seen, figures in done],
            )
    return len(done)


def _due_clause():
    return (
        "(s.stale > 0 OR s.computed_at IS NULL OR s.computed_at < :old "
        "OR s.next_appointment <= :now OR s.code_expires_at <= :now)"
    )


def due_ids(conn, now, limit=REFRESH_BATCH):
    """Ids of summaries that need a refresh at ``now``, stale ones first."""
    rows = conn.execute(
        f"SELECT s.patient_id FROM patient_summaries s WHERE {_due_clause()} "
        "ORDER BY s.stale = 0, s.computed_at LIMIT :limit",
        {"old": to_utc_text(now - MAX_AGE), "now": to_utc_text(now), "limit": limit},
    ).fetchall()
    return [r[0] for r in rows]


def refresh_due(conn, now, lag_days, limit=REFRESH_BATCH, budget_seconds=None):
    """The scheduler's part: refresh the summaries due at ``now``, stale ones first; return how many.

    One batch of ``limit``; with ``budget_seconds``, further batches while due rows remain
    and the budget lasts (a burst of changes is caught up within the tick).
    """
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    done = 0
    while True:
        batch = refresh(conn, due_ids(conn, now, limit), now, lag_days)
        done += batch
        if batch < limit or deadline is None or time.monotonic() >= deadline:
            return done


def _where(clinic_id, q):
    where, params = "p.clinic_id = :clinic", {"clinic": clinic_id}
    if q:
        where += " AND (p.display_name LIKE :q ESCAPE '\\' OR p.external_ref LIKE :q ESCAPE '\\')"
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["q"] = f"%{escaped}%"
    return where, params


def list_page(conn, clinic_id, q, sort, page, now, lag_days):
    """One page of the clinic's patients with their summaries, and the number of matches.

    Summaries on this page that are due are refreshed first (on demand), at most a page's worth.
    """
    where, params = _where(clinic_id, q)
    total = conn.execute(f"SELECT count(*) FROM patients p WHERE {where}", params).fetchone()[0]
    query = (
        "SELECT p.id, p.display_name, p.external_ref, p.timezone, s.last_entry, s.next_appointment, "
        "s.devices, s.code_expires_at, s.flags, s.stale, s.computed_at FROM patients p "
        f"JOIN patient_summaries s ON s.patient_id = p.id WHERE {where} ORDER BY {SORTS[sort][1]} "
        "LIMIT :limit OFFSET :offset"
    )
    params.update(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    rows = conn.execute(query, params).fetchall()
    due = due_ids_for(conn, [r["id"] for r in rows], now)
    if due:
        refresh(conn, due, now, lag_days)
        rows = conn.execute(query, params).fetchall()
    return [_row_out(r, now) for r in rows], total


def get(conn, patient_id, now, lag_days):
    """One patient's summary, refreshed first when due."""
    refresh(conn, due_ids_for(conn, [patient_id], now), now, lag_days)
    row = conn.execute(
        "SELECT p.id, p.display_name, p.external_ref, p.timezone, s.* FROM patients p "
        "JOIN patient_summaries s ON s.patient_id = p.id WHERE p.id = ?",
        (patient_id,),
    ).fetchone()
    return None if row is None else _row_out(row, now)


def due_ids_for(conn, ids, now):
    """Which of these patients' summaries are due at ``now``."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    old, now_text = to_utc_text(now - MAX_AGE), to_utc_text(now)
    clause = _due_clause().replace(":old", "?").replace(":now", "?")
    rows = conn.execute(
        f"SELECT s.patient_id FROM patient_summaries s WHERE s.patient_id IN ({marks}) AND {clause}",
        [*ids, old, now_text, now_text],
    ).fetchall()
    return [r[0] for r in rows]


def enrollment_state(devices, code_expires_at, now_text):
    """`<n> devices`, `code expires <date>` or `not enrolled` (pure)."""
    if devices:
        return f"{devices} device" + ("" if devices == 1 else "s")
    if code_expires_at and code_expires_at > now_text:
        return f"code expires {code_expires_at[:10]}"
    return "not enrolled"


def _row_out(row, now):
    out = dict(row)
    out["next_appointment_local"] = (
        parse_utc_text(out["next_appointment"])
        .astimezone(ZoneInfo(out["timezone"]))
        .strftime("%Y-%m-%d %H:%M")
        if out["next_appointment"]
        else None
    )
    out["flags"] = json.loads(out["flags"])
    out["enrollment"] = enrollment_state(out["devices"], out["code_expires_at"], to_utc_text(now))
    return out
