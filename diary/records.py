"""Diary records (entries and doses): the conflict rule, upserts, tombstones and reads.

Write functions run inside an open write transaction (``diary.db.write``) and
take the transaction's change ``seq``; they never commit.
"""

import json
from datetime import timedelta, timezone

from diary import db as dbmod
from diary import questionnaires
from diary.clock import local_date, parse_utc_text, to_utc_text
from diary.measures import MEASURES

# -- pure rules ---------------------------------------------------------------


def latest_allowed_day(tz_name, now):
    """The last diary day a patient may write: tomorrow in their zone."""
    return local_date(now, tz_name) + timedelta(days=1)


def resolve(stored, incoming_recorded_at, same_content):
    """Decide what an incoming version does to a stored one.

    The version with the later ``recorded_at`` wins; a resend of the stored
    version changes nothing; an older or equally old but different one is stale.
    """
    if stored is None:
        return "created"
    stored_at = parse_utc_text(stored["recorded_at"])
    if stored["deleted"]:
        return "created" if incoming_recorded_at > stored_at else "stale"
    if same_content and incoming_recorded_at >= stored_at:
        return "unchanged"
    if incoming_recorded_at > stored_at:
        return "updated"
    return "stale"


def dose_local_date(taken_at):
    """The dose's diary day: the local date of ``taken_at`` in the offset the client sent."""
    return taken_at.date()


# -- entries ------------------------------------------------------------------


def _entry_values(data):
    side_effects = [
        {"name": s["name"], "severity": s["severity"], "note": s.get("note")}
        for s in data.get("side_effects") or []
    ]
    values = {m: data.get(m) for m in MEASURES}
    values["side_effects"] = json.dumps(side_effects, separators=(",", ":"))
    values["notes"] = data.get("notes")
    return values


def entry_out(row):
    """Render a stored entry row as the API's entry object."""
    out = {"date": row["date"]}
    for m in MEASURES:
        out[m] = row[m]
    out["side_effects"] = json.loads(row["side_effects"])
    out["notes"] = row["notes"]
    out["recorded_at"] = row["recorded_at"]
    out["updated_at"] = row["updated_at"]
    return out


def get_entry_row(conn, patient_id, day):
    """The stored row (tombstones included) for a diary day, or None."""
    return conn.execute(
        "SELECT * FROM entries WHERE patient_id = ? AND date = ?", (patient_id, day)
    ).fetchone()


def upsert_entries(conn, patient_id, items, now, seq):
    """Apply entry versions ``[(day, data)]`` in order; return (statuses, rows by day)."""
    return _upsert_many(
        conn, "entries", "date", patient_id, items, now, seq, _entry_values, lambda data: data["recorded_at"]
    )


def upsert_entry(conn, patient_id, day, data, now, seq):
    """Apply one entry version; return (status, stored row after the write)."""
    statuses, rows = upsert_entries(conn, patient_id, [(day, data)], now, seq)
    return statuses[0], rows[day]


def delete_entry(conn, patient_id, day, now, seq, recorded_at=None):
    """Tombstone a diary day, clearing its content (statuses as ``_tombstone``)."""
    clear = ", ".join(f"{m} = NULL" for m in MEASURES) + ", side_effects = '[]', notes = NULL"
    return _tombstone(conn, "entries", "date", patient_id, day, now, seq, recorded_at, clear)


def list_entries(conn, patient_id, day_from=None, day_to=None):
    """Live entries of a patient between two diary days (inclusive), oldest first."""
    rows = conn.execute(
        "SELECT * FROM entries WHERE patient_id = ? AND deleted = 0 "
        "AND date >= ? AND date <= ? ORDER BY date",
        (patient_id, str(day_from or "0000-00-00"), str(day_to or "9999-99-99")),
    ).fetchall()
    return [entry_out(r) for r in rows]


# -- doses --------------------------------------------------------------------


def _dose_values(data):
    taken_at = data["taken_at"]
    return {
        "medication": data["medication"].strip(),
        "amount_ug": data["amount_mg"],
        "taken_at": to_utc_text(taken_at),
        "utc_offset_minutes": int(taken_at.utcoffset().total_seconds() // 60),
        "local_date": dose_local_date(taken_at).isoformat(),
        "status": data["status"],
        "note": data.get("note"),
    }


def dose_out(row):
    """Render a stored dose row as the API's dose object (taken_at in the offset sent)."""
    offset = timezone(timedelta(minutes=row["utc_offset_minutes"]))
    return {
        "id": row["id"],
        "medication": row["medication"],
        "amount_ug": row["amount_ug"],
        "taken_at": parse_utc_text(row["taken_at"]).astimezone(offset).isoformat(),
        "local_date": row["local_date"],
        "status": row["status"],
        "note": row["note"],
        "recorded_at": row["recorded_at"],
        "updated_at": row["updated_at"],
    }


def get_dose_row(conn, patient_id, dose_id):
    """The stored row (tombstones included) of a dose, or None."""
    return conn.execute(
        "SELECT * FROM doses WHERE patient_id = ? AND id = ?", (patient_id, dose_id)
    ).fetchone()


def upsert_doses(conn, patient_id, items, now, seq):
    """Apply dose versions ``[(dose_id, data)]`` in order; return (statuses, rows by id)."""
    # Without recorded_at the app sends doses in order, so the newest arrival wins.
    return _upsert_many(
        conn,
        "doses",
        "id",
        patient_id,
        items,
        now,
        seq,
        _dose_values,
        lambda data: data.get("recorded_at") or now,
    )


def upsert_dose(conn, patient_id, dose_id, data, now, seq):
    """Apply one dose version; return (status, stored row after the write)."""
    statuses, rows = upsert_doses(conn, patient_id, [(dose_id, data)], now, seq)
    return statuses[0], rows[dose_id]


def delete_dose(conn, patient_id, dose_id, now, seq, recorded_at=None):
    """Tombstone a dose, clearing its note (statuses as ``_tombstone``)."""
    return _tombstone(conn, "doses", "id", patient_id, dose_id, now, seq, recorded_at, "note = NULL")


def list_doses(conn, patient_id, day_from=None, day_to=None):
    """Live doses of a patient by diary day (inclusive), in time order."""
    rows = conn.execute(
        "SELECT * FROM doses WHERE patient_id = ? AND deleted = 0 "
        "AND local_date >= ? AND local_date <= ? ORDER BY taken_at",
        (patient_id, str(day_from or "0000-00-00"), str(day_to or "9999-99-99")),
    ).fetchall()
    return [dose_out(r) for r in rows]


# -- questionnaire responses ----------------------------------------------------


def _response_values(data):
    answers = {k: v for k, v in sorted(data["answers"].items())}
    return {
        "answers": json.dumps(answers, separators=(",", ":")),
        "score": questionnaires.score(data["instrument"], answers),
    }


def response_out(row):
    """Render a stored questionnaire response as the API's response object."""
    score = row["score"]
    if score is not None and float(score).is_integer():
        score = int(score)
    return {
        "instrument": row["instrument"],
        "date": row["date"],
        "answers": json.loads(row["answers"]),
        "score": score,
        "recorded_at": row["recorded_at"],
        "updated_at": row["updated_at"],
    }


def upsert_responses(conn, patient_id, items, now, seq):
    """Apply response versions ``[(instrument, day, data)]``; return (statuses in order, rows by key).

    ``data`` holds ``answers`` and ``recorded_at``; rows are keyed ``(instrument, day)``.
    """
    statuses = [None] * len(items)
    rows = {}
    for instrument in dict.fromkeys(i for i, _, _ in items):
        mine = [(n, day, data) for n, (i, day, data) in enumerate(items) if i == instrument]
        done, current = _upsert_many(
            conn,
            "questionnaire_responses",
            "date",
            patient_id,
            [(day, dict(data, instrument=instrument)) for _, day, data in mine],
            now,
            seq,
            _response_values,
            lambda data: data["recorded_at"],
            scope={"instrument": instrument},
        )
        for (n, _, _), status in zip(mine, done):
            statuses[n] = status
        rows.update(((instrument, day), row) for day, row in current.items())
    return statuses, rows


def upsert_response(conn, patient_id, instrument, day, data, now, seq):
    """Apply one response version; return (status, stored row after the write)."""
    statuses, rows = upsert_responses(conn, patient_id, [(instrument, day, data)], now, seq)
    return statuses[0], rows[(instrument, day)]


def list_responses(conn, patient_id, day_from=None, day_to=None):
    """Live questionnaire responses of a patient between two diary days (inclusive), oldest first."""
    rows = conn.execute(
        "SELECT * FROM questionnaire_responses WHERE patient_id = ? AND deleted = 0 "
        "AND date >= ? AND date <= ? ORDER BY date, instrument",
        (patient_id, str(day_from or "0000-00-00"), str(day_to or "9999-99-99")),
    ).fetchall()
    return [response_out(r) for r in rows]


def latest_scored(conn, patient_id):
    """Return {instrument: its last scored response (``response_out`` shape)} of a patient."""
    rows = conn.execute(
        "SELECT r.* FROM questionnaire_responses r JOIN ("
        "SELECT instrument, MAX(date) AS date FROM questionnaire_responses "
        "WHERE patient_id = ? AND deleted = 0 AND score IS NOT NULL GROUP BY instrument"
        ") last USING (instrument, date) WHERE r.patient_id = ?",
        (patient_id, patient_id),
    ).fetchall()
    return {r["instrument"]: response_out(r) for r in rows}


def last_answered(conn, patient_id):
    """Return {instrument: the last diary day it was answered} of a patient."""
    rows = conn.execute(
        "SELECT instrument, MAX(date) AS last FROM questionnaire_responses "
        "WHERE patient_id = ? AND deleted = 0 GROUP BY instrument",
        (patient_id,),
    ).fetchall()
    return {r["instrument"]: r["last"] for r in rows}


def _tombstone(conn, table, key, patient_id, ident, now, seq, recorded_at, clear_sql):
    """Mark a record deleted (kept so the changes feed can tell other devices).

    Returns 'deleted', 'unchanged' (already deleted: a retried delete), 'absent' or 'stale'.
    """
    stored = conn.execute(
        f"SELECT deleted, recorded_at FROM {table} WHERE patient_id = ? AND {key} = ?", (patient_id, ident)
    ).fetchone()
    if stored is None:
        return "absent"
    if stored["deleted"]:
        return "unchanged"
    if recorded_at is not None and recorded_at < parse_utc_text(stored["recorded_at"]):
        return "stale"
    conn.execute(
        f"UPDATE {table} SET {clear_sql}, deleted = 1, recorded_at = ?, updated_at = ?, seq = ? "
        f"WHERE patient_id = ? AND {key} = ?",
        (to_utc_text(recorded_at or now), to_utc_text(now), seq, patient_id, ident),
    )
    return "deleted"


# -- batched upserts -----------------------------------------------------------


def _upsert_many(conn, table, key, patient_id, items, now, seq, values_of, recorded_at_of, scope=None):
    """Decide every version against the latest one (stored or earlier in the batch), then write.

    One SELECT for the stored rows and one executemany for the writes keep a
    500-item sync batch to two statements. ``scope``: further key columns with one
    value for the whole call (a questionnaire response's instrument).
    """
    scope = scope or {}
    where = "".join(f" AND {c} = ?" for c in scope)
    keys = list({ident for ident, _ in items})
    current = {}
    for start in range(0, len(keys), 900):
        chunk = keys[start : start + 900]
        rows = conn.execute(
            f"SELECT * FROM {table} WHERE patient_id = ?{where} AND {key} IN ({', '.join('?' * len(chunk))})",
            [patient_id, *scope.values(), *chunk],
        ).fetchall()
        current.update((row[key], dict(row)) for row in rows)
    now_text = to_utc_text(now)
    statuses, writes = [], []
    for ident, data in items:
        values = values_of(data)
        recorded_at = recorded_at_of(data)
        stored = current.get(ident)
        same = stored is not None and all(stored[k] == v for k, v in values.items())
        status = resolve(stored, recorded_at, same)
        statuses.append(status)
        if status in ("created", "updated"):
            row = dict(
                values,
                **scope,
                patient_id=patient_id,
                recorded_at=to_utc_text(recorded_at),
                updated_at=now_text,
                deleted=0,
                seq=seq,
            )
            row[key] = ident
            current[ident] = row
            writes.append(row)
    if writes:
        columns = list(writes[0])
        target = ", ".join(("patient_id", *scope, key))
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in ("patient_id", key, *scope))
        conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({target}) DO UPDATE SET {updates}",
            [[row[c] for c in columns] for row in writes],
        )
    return statuses, current


# -- changes feed -------------------------------------------------------------


def changes_since(conn, patient_id, since):
    """Everything of a patient changed after cursor ``since`` (all without one), and the new cursor."""
    since = int(since or 0)
    # One read transaction: the cursor and the rows come from the same snapshot.
    with dbmod.read(conn):
        cursor = conn.execute("SELECT value FROM change_counter WHERE id = 1").fetchone()[0]
        entry_rows = conn.execute(
            "SELECT * FROM entries WHERE patient_id = ? AND seq > ? ORDER BY date", (patient_id, since)
        ).fetchall()
        dose_rows = conn.execute(
            "SELECT * FROM doses WHERE patient_id = ? AND seq > ? ORDER BY taken_at", (patient_id, since)
        ).fetchall()
        response_rows = conn.execute(
            "SELECT * FROM questionnaire_responses WHERE patient_id = ? AND seq > ? AND deleted = 0 "
            "ORDER BY date, instrument",
            (patient_id, since),
        ).fetchall()
    return {
        "entries": [entry_out(r) for r in entry_rows if not r["deleted"]],
        "doses": [dose_out(r) for r in dose_rows if not r["deleted"]],
        # A first full restore needs no tombstones: there is nothing to delete yet.
        "deleted_entries": [r["date"] for r in entry_rows if r["deleted"] and since],
        "deleted_doses": [r["id"] for r in dose_rows if r["deleted"] and since],
        "questionnaires": [response_out(r) for r in response_rows],
        "cursor": str(cursor),
    }
