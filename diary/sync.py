"""Offline sync: validate each item alone, apply the valid ones in one transaction."""

from marshmallow import ValidationError

from diary import records
from diary.db import next_seq, write
from diary.schemas.common import ClientUUID, LocalDate
from diary.schemas.diary import DeletedDoseIn, DeletedEntryIn, SyncDoseIn, SyncEntryIn
from diary.schemas.questionnaires import SyncResponseIn

_entry_schema = SyncEntryIn()
_dose_schema = SyncDoseIn()
_date_field = LocalDate()
_uuid_field = ClientUUID()
_deleted_entry_schema = DeletedEntryIn()
_deleted_dose_schema = DeletedDoseIn()
_response_schema = SyncResponseIn()


def _load_all(schema, items):
    """Load a list of items at once; return (data or None, errors or None) per item."""
    try:
        loaded, errors = schema.load(items, many=True), {}
    except ValidationError as exc:
        loaded, errors = exc.valid_data, exc.messages
    return [(None, errors[i]) if i in errors else (loaded[i], None) for i in range(len(items))]


def _load_deletion(item, key, field, schema):
    """A deletion is the bare key, or {key, recorded_at} so an old deletion loses to a newer edit."""
    if isinstance(item, dict):
        data = schema.load(item)
        return data[key], data["recorded_at"]
    return field.deserialize(item), None


def _validated(body, patient, now):
    """Parse every item; return (plan, results) with rejected items already answered."""
    latest = records.latest_allowed_day(patient["timezone"], now)
    plan = {k: [] for k in ("entries", "doses", "deleted_entries", "deleted_doses", "questionnaires")}
    # One many=True load per kind: a rejected item never blocks the others.
    for kind, schema, key in (("entries", _entry_schema, "date"), ("doses", _dose_schema, "id")):
        items = body[kind]
        for item, (data, errors) in zip(items, _load_all(schema, items)):
            ident = item.get(key) if isinstance(item, dict) else None
            if errors is None:
                day = data["date"] if kind == "entries" else records.dose_local_date(data["taken_at"])
                if day > latest:
                    errors = {
                        "date" if kind == "entries" else "taken_at": [
                            "Must not be after tomorrow in your time zone."
                        ]
                    }
            if errors is None:
                plan[kind].append((data[key] if kind == "doses" else data[key].isoformat(), data, None))
            else:
                plan[kind].append((_text(ident), None, errors))
    items = body["questionnaires"]
    for item, (data, errors) in zip(items, _load_all(_response_schema, items)):
        if errors is None and data["date"] > latest:
            errors = {"date": ["Must not be after tomorrow in your time zone."]}
        if errors is None:
            plan["questionnaires"].append(((data["instrument"], data["date"].isoformat()), data, None))
        else:
            raw = item if isinstance(item, dict) else {}
            plan["questionnaires"].append(
                ((_text(raw.get("instrument")), _text(raw.get("date"))), None, errors)
            )
    for kind, key, field, schema in (
        ("deleted_entries", "date", _date_field, _deleted_entry_schema),
        ("deleted_doses", "id", _uuid_field, _deleted_dose_schema),
    ):
        for item in body[kind]:
            try:
                ident, recorded_at = _load_deletion(item, key, field, schema)
                ident = ident.isoformat() if kind == "deleted_entries" else ident
                plan[kind].append((ident, recorded_at, None))
            except ValidationError as exc:
                raw = item.get(key) if isinstance(item, dict) else item
                messages = exc.messages if isinstance(exc.messages, dict) else {key: exc.messages}
                plan[kind].append((_text(raw), None, messages))
    return plan


def _text(value):
    return value if isinstance(value, str) else None


def apply_batch(conn, patient, body, now):
    """Apply a validated sync batch; return one result per item in the order sent."""
    plan = _validated(body, patient, now)
    out = {k: [] for k in plan}
    pid = patient["id"]
    with write(conn):
        seq = next_seq(conn)
        for kind, key, upsert in (
            ("entries", "date", records.upsert_entries),
            ("doses", "id", records.upsert_doses),
        ):
            valid = [(ident, data) for ident, data, errors in plan[kind] if not errors]
            statuses = iter(upsert(conn, pid, valid, now, seq)[0])
            for ident, _, errors in plan[kind]:
                out[kind].append(_result(key, ident, "rejected" if errors else next(statuses), errors))
        for kind, key, delete in (
            ("deleted_entries", "date", records.delete_entry),
            ("deleted_doses", "id", records.delete_dose),
        ):
            for ident, recorded_at, errors in plan[kind]:
                status = "rejected" if errors else delete(conn, pid, ident, now, seq, recorded_at)
                # Nothing there to delete: the device's wish already holds.
                status = "unchanged" if status == "absent" else status
                out[kind].append(_result(key, ident, status, errors))
        valid = [(*ident, data) for ident, data, errors in plan["questionnaires"] if not errors]
        statuses = iter(records.upsert_responses(conn, pid, valid, now, seq)[0])
        for (instrument, day), _, errors in plan["questionnaires"]:
            result = {
                "instrument": instrument,
                "date": day,
                "status": "rejected" if errors else next(statuses),
            }
            if errors:
                result["errors"] = errors
            out["questionnaires"].append(result)
    return out


def _result(key, ident, status, errors):
    result = {key: ident, "status": status}
    if errors:
        result["errors"] = errors
    return result
