"""Schemas of the patient's diary: entries, doses, sync batches and the changes feed."""

import marshmallow as ma
from marshmallow import fields, validate

from diary.measures import BY_NAME, MEASURES
from diary.questionnaires import IDS as QUESTIONNAIRE_IDS
from diary.schemas.common import (
    OPTIONAL,
    ClientUUID,
    DateRangeArgs,
    DateText,
    DoseMg,
    Either,
    ErrorOut,
    Instant,
    InstantText,
    ItemList,
    LocalDate,
    Note,
    Out,
    Score,
    SingleLine,
    Strict,
    StrictFloat,
)
from diary.schemas.questionnaires import ResponseOut, SyncResponseIn

SIDE_EFFECT_NAMES = (
    "vivid_dreams",
    "insomnia",
    "headache",
    "nausea",
    "diarrhea",
    "dizziness",
    "anxiety",
    "flu_like",
    "other",
)
SEVERITIES = ("mild", "moderate", "severe")
MAX_NOTES = 2000


class SideEffectSchema(Strict):
    name = fields.String(required=True, validate=validate.OneOf(SIDE_EFFECT_NAMES))
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    note = SingleLine(load_default=None, allow_none=True, validate=validate.Length(max=500))

    @ma.validates_schema
    def _other_needs_note(self, data, **kwargs):
        if data.get("name") == "other" and not (data.get("note") or "").strip():
            raise ma.ValidationError("A side effect named 'other' needs a note.", "note")


def _two_decimals(value):
    if round(value, 2) != value:
        raise ma.ValidationError("At most two decimals.")


class EntryFields(Strict):
    """The body of one diary day; every measure is optional."""

    pain = Score(metadata={"description": BY_NAME["pain"].description})
    pain_worst = Score(metadata={"description": BY_NAME["pain_worst"].description})
    fatigue = Score(metadata={"description": BY_NAME["fatigue"].description})
    mood = Score(metadata={"description": BY_NAME["mood"].description})
    sleep_quality = Score(metadata={"description": BY_NAME["sleep_quality"].description})
    function = Score(metadata={"description": BY_NAME["function"].description})
    sleep_hours = StrictFloat(
        allow_none=True,
        validate=[
            validate.Range(BY_NAME["sleep_hours"].minimum, BY_NAME["sleep_hours"].maximum),
            _two_decimals,
        ],
        metadata={"description": BY_NAME["sleep_hours"].description},
    )
    side_effects = fields.List(
        fields.Nested(SideEffectSchema),
        load_default=list,
        validate=validate.Length(max=len(SIDE_EFFECT_NAMES)),
    )
    notes = Note(load_default=None, allow_none=True, validate=validate.Length(max=MAX_NOTES))
    recorded_at = Instant(required=True, metadata={"description": "When the patient made this version."})

    @ma.validates_schema
    def _content_rules(self, data, **kwargs):
        names = [s["name"] for s in data.get("side_effects") or []]
        if len(names) != len(set(names)):
            raise ma.ValidationError("Each side effect may appear once.", "side_effects")
        has_measure = any(data.get(m) is not None for m in MEASURES)
        has_note = bool((data.get("notes") or "").strip())
        if not (has_measure or names or has_note):
            raise ma.ValidationError("An entry needs at least one measure, side effect or note.", "_schema")


class EntryIn(EntryFields):
    pass


class SyncEntryIn(EntryFields):
    date = LocalDate(required=True)


class SideEffectOut(Out):
    name = fields.String(validate=validate.OneOf(SIDE_EFFECT_NAMES))
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    note = fields.String(allow_none=True, dump_default=None)


class EntryOut(Out):
    date = DateText()
    pain = fields.Integer(allow_none=True)
    pain_worst = fields.Integer(allow_none=True)
    fatigue = fields.Integer(allow_none=True)
    mood = fields.Integer(allow_none=True)
    sleep_quality = fields.Integer(allow_none=True)
    function = fields.Integer(allow_none=True)
    sleep_hours = fields.Float(allow_none=True)
    side_effects = fields.List(fields.Nested(SideEffectOut))
    notes = fields.String(allow_none=True)
    recorded_at = InstantText()
    updated_at = InstantText()


DOSE_STATUSES = ("taken", "skipped")


class DoseFields(Strict):
    medication = SingleLine(required=True, validate=validate.Length(min=1, max=100))
    amount_mg = DoseMg(required=True)
    taken_at = Instant(
        required=True, metadata={"description": "Aware time; its offset sets the dose's diary day."}
    )
    status = fields.String(required=True, validate=validate.OneOf(DOSE_STATUSES))
    note = Note(load_default=None, allow_none=True, validate=validate.Length(max=500))
    recorded_at = Instant(
        load_default=None,
        metadata={"description": "When the patient made this version; the later version wins."},
    )


class DoseIn(DoseFields):
    pass


class SyncDoseIn(DoseFields):
    id = ClientUUID(required=True)


class DoseOut(Out):
    id = ClientUUID()
    medication = fields.String()
    amount_mg = DoseMg(attribute="amount_ug")
    taken_at = InstantText(metadata={"description": "In the offset it was sent with."})
    local_date = DateText(metadata={"description": "The dose's diary day (the local date of taken_at)."})
    status = fields.String(validate=validate.OneOf(DOSE_STATUSES))
    note = fields.String(allow_none=True)
    recorded_at = InstantText()
    updated_at = InstantText()


class EntryListOut(Out):
    entries = fields.List(fields.Nested(EntryOut))


class DoseListOut(Out):
    doses = fields.List(fields.Nested(DoseOut))


class DayPath(Strict):
    """The diary day in a path: ``/me/entries/{day}``."""

    day = LocalDate(required=True, metadata={"description": "Local diary day YYYY-MM-DD."})


class DosePath(Strict):
    """The client-generated dose id in a path: ``/me/doses/{dose_id}``."""

    dose_id = ClientUUID(required=True)


class EntryConflictErrors(Out):
    stored = fields.Nested(EntryOut, metadata={"description": "The newer version that was kept."})


class EntryConflictOut(ErrorOut):
    """409: a newer version of the entry is stored; it was kept and is sent back."""

    errors = fields.Nested(EntryConflictErrors)


class DoseConflictErrors(Out):
    stored = fields.Nested(DoseOut, metadata={"description": "The newer version that was kept."})


class DoseConflictOut(ErrorOut):
    """409: a newer version of the dose is stored; it was kept and is sent back."""

    errors = fields.Nested(DoseConflictErrors)


class DeletedEntryIn(Strict):
    """A deleted entry with the time it was deleted, so an old deletion loses to a newer edit."""

    date = LocalDate(required=True)
    recorded_at = Instant(load_default=None, allow_none=True)


class DeletedDoseIn(Strict):
    """A deleted dose with the time it was deleted, so an old deletion loses to a newer edit."""

    id = ClientUUID(required=True)
    recorded_at = Instant(load_default=None, allow_none=True)


class SyncIn(Strict):
    """An offline batch. Items are checked one by one: a bad item is rejected alone, never the batch."""

    entries = ItemList(fields.Nested(SyncEntryIn), load_default=list)
    doses = ItemList(fields.Nested(SyncDoseIn), load_default=list)
    deleted_entries = ItemList(
        Either(LocalDate(), fields.Nested(DeletedEntryIn)),
        load_default=list,
        metadata={"description": "A diary day, or {date, recorded_at}."},
    )
    deleted_doses = ItemList(
        Either(ClientUUID(), fields.Nested(DeletedDoseIn)),
        load_default=list,
        metadata={"description": "A dose id, or {id, recorded_at}."},
    )
    questionnaires = ItemList(
        fields.Nested(SyncResponseIn),
        load_default=list,
        metadata={"description": "Answered questionnaires: {instrument, date, answers, recorded_at}."},
    )


SYNC_STATUSES = ("created", "updated", "unchanged", "stale", "deleted", "rejected")
_SYNC_ERRORS = {
    **OPTIONAL,
    "description": "Only on a rejected item: what was wrong, by field (as in the one error shape).",
}


class _SyncResult(Out):
    status = fields.String(validate=validate.OneOf(SYNC_STATUSES))
    errors = fields.Dict(keys=fields.String(), metadata=_SYNC_ERRORS)


class SyncEntryResult(_SyncResult):
    date = fields.String(
        allow_none=True,
        metadata={"description": "The date as sent (a rejected one may not be a date); null when not text."},
    )


class SyncDoseResult(_SyncResult):
    id = fields.String(
        allow_none=True,
        metadata={"description": "The id as sent (a rejected one may not be a UUID); null when not text."},
    )


class SyncResponseResult(_SyncResult):
    instrument = fields.String(
        allow_none=True,
        metadata={"description": f"As sent (one of {', '.join(QUESTIONNAIRE_IDS)} unless rejected)."},
    )
    date = fields.String(allow_none=True, metadata={"description": "The date as sent; null when not text."})


class SyncOut(Out):
    """One result per item, in the order sent."""

    entries = fields.List(fields.Nested(SyncEntryResult))
    doses = fields.List(fields.Nested(SyncDoseResult))
    deleted_entries = fields.List(fields.Nested(SyncEntryResult))
    deleted_doses = fields.List(fields.Nested(SyncDoseResult))
    questionnaires = fields.List(fields.Nested(SyncResponseResult))


class ChangesArgs(Strict):
    since = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^\d{1,18}$"),
        metadata={"description": "Cursor from a previous answer; omit for everything."},
    )


class ChangesOut(Out):
    entries = fields.List(fields.Nested(EntryOut))
    doses = fields.List(fields.Nested(DoseOut))
    deleted_entries = fields.List(DateText())
    deleted_doses = fields.List(ClientUUID())
    questionnaires = fields.List(fields.Nested(ResponseOut))
    cursor = fields.String(metadata={"description": "Send as ?since= next time."})


__all__ = ["DateRangeArgs"]
