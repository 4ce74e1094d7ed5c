"""Schemas of the patient's diary: entries, doses, sync batches and the changes feed."""

import marshmallow as ma
from marshmallow import fields, validate

from diary.schemas.common import (
    ClientUUID,
    DateRangeArgs,
    DoseMg,
    Instant,
    LocalDate,
    Note,
    Score,
    SingleLine,
    Strict,
    StrictFloat,
)

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
MEASURES = ("pain", "pain_worst", "fatigue", "mood", "sleep_quality", "function", "sleep_hours")
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

    pain = Score(metadata={"description": "Average pain today, 0 none - 10 worst imaginable."})
    pain_worst = Score(metadata={"description": "Worst pain today, 0-10."})
    fatigue = Score(metadata={"description": "0 none - 10 exhausted."})
    mood = Score(metadata={"description": "0 very low - 10 very good (higher is better)."})
    sleep_quality = Score(metadata={"description": "0 very poor - 10 very good."})
    function = Score(metadata={"description": "Daily function, 0 unable - 10 fully able."})
    sleep_hours = StrictFloat(allow_none=True, validate=[validate.Range(0, 24), _two_decimals])
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


class EntryOut(ma.Schema):
    date = fields.String()
    pain = fields.Integer(allow_none=True)
    pain_worst = fields.Integer(allow_none=True)
    fatigue = fields.Integer(allow_none=True)
    mood = fields.Integer(allow_none=True)
    sleep_quality = fields.Integer(allow_none=True)
    function = fields.Integer(allow_none=True)
    sleep_hours = fields.Float(allow_none=True)
    side_effects = fields.List(fields.Nested(SideEffectSchema))
    notes = fields.String(allow_none=True)
    recorded_at = fields.String()
    updated_at = fields.String()


class DoseFields(Strict):
    medication = SingleLine(required=True, validate=validate.Length(min=1, max=100))
    amount_mg = DoseMg(required=True, metadata={"description": "mg, > 0, <= 1000, at most 3 decimals."})
    taken_at = Instant(
        required=True, metadata={"description": "Aware time; its offset sets the dose's diary day."}
    )
    status = fields.String(required=True, validate=validate.OneOf(("taken", "skipped")))
    note = Note(load_default=None, allow_none=True, validate=validate.Length(max=500))
    recorded_at = Instant(
        load_default=None,
        metadata={"description": "When the patient made this version; the later version wins."},
    )


class DoseIn(DoseFields):
    pass


class SyncDoseIn(DoseFields):
    id = ClientUUID(required=True)


class DoseOut(ma.Schema):
    id = fields.String()
    medication = fields.String()
    amount_mg = DoseMg()
    taken_at = fields.String()
    local_date = fields.String()
    status = fields.String()
    note = fields.String(allow_none=True)
    recorded_at = fields.String()
    updated_at = fields.String()


class EntryListOut(ma.Schema):
    entries = fields.List(fields.Nested(EntryOut))


class DoseListOut(ma.Schema):
    doses = fields.List(fields.Nested(DoseOut))


class ConflictOut(ma.Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String()
    errors = fields.Dict(metadata={"description": "`stored`: the newer version that was kept."})


class SyncIn(Strict):
    # Items are validated one by one in the view so a bad item (even null) never blocks good ones.
    entries = fields.List(fields.Raw(allow_none=True), load_default=list)
    doses = fields.List(fields.Raw(allow_none=True), load_default=list)
    deleted_entries = fields.List(fields.Raw(allow_none=True), load_default=list)
    deleted_doses = fields.List(fields.Raw(allow_none=True), load_default=list)


class SyncItemResult(ma.Schema):
    # null when a rejected item carried no usable date or id
    date = fields.String(allow_none=True)
    id = fields.String(allow_none=True)
    status = fields.String(
        metadata={"description": "created | updated | unchanged | stale | deleted | rejected"}
    )
    errors = fields.Dict()


class SyncOut(ma.Schema):
    entries = fields.List(fields.Nested(SyncItemResult))
    doses = fields.List(fields.Nested(SyncItemResult))
    deleted_entries = fields.List(fields.Nested(SyncItemResult))
    deleted_doses = fields.List(fields.Nested(SyncItemResult))


class ChangesArgs(Strict):
    since = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^\d{1,18}$"),
        metadata={"description": "Cursor from a previous answer; omit for everything."},
    )


class ChangesOut(ma.Schema):
    entries = fields.List(fields.Nested(EntryOut))
    doses = fields.List(fields.Nested(DoseOut))
    deleted_entries = fields.List(fields.String())
    deleted_doses = fields.List(fields.String())
    cursor = fields.String()


__all__ = ["DateRangeArgs"]
