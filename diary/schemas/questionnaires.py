"""Schemas of the weekly questionnaires (PEG, PGIC): what is due, answers in, responses out.

Items and their ranges come from the instrument files (diary/questionnaires.py),
so an item is added or re-worded in one place.
"""

import marshmallow as ma
from marshmallow import fields, validate

from diary import questionnaires
from diary.schemas.common import (
    OPTIONAL,
    DateText,
    ErrorOut,
    Instant,
    InstantText,
    LocalDate,
    Out,
    Strict,
    StrictInteger,
)

ITEMS = {
    item["id"]: item for ident in questionnaires.IDS for item in questionnaires.INSTRUMENTS[ident]["items"]
}
INSTRUMENT_OF = {item: ident for ident in questionnaires.IDS for item in questionnaires.items(ident)}


def _answer_field(item):
    values = questionnaires.allowed_values(item)
    return StrictInteger(
        minimum=values[0], maximum=values[-1], metadata={"description": f"{item['text']} ({item['id']})"}
    )


# Every item of every instrument, each optional; unknown item ids are refused (Strict).
AnswersIn = Strict.from_dict({i: _answer_field(item) for i, item in ITEMS.items()}, name="AnswersIn")
AnswersOut = Out.from_dict(
    {i: fields.Integer(metadata={**OPTIONAL, "description": item["text"]}) for i, item in ITEMS.items()},
    name="AnswerMap",
)


class ResponseFields(Strict):
    answers = fields.Nested(
        AnswersIn,
        required=True,
        metadata={"description": "{item_id: answer}; only items of the path's instrument, at least one."},
    )
    recorded_at = Instant(required=True, metadata={"description": "When the patient made this version."})

    @ma.validates_schema
    def _items_of_instrument(self, data, **kwargs):
        answers = data.get("answers")
        if answers is None:
            return
        if not answers:
            raise ma.ValidationError({"answers": {"_schema": ["Answer at least one item."]}})
        wrong = wrong_items(data.get("instrument"), answers)
        if wrong:
            raise ma.ValidationError({"answers": wrong})


def wrong_items(instrument, answers):
    """Return {item: [message]} for answered items that are not the instrument's (none without one)."""
    if instrument is None:
        return {}
    return {
        key: [f"Not an item of {instrument}: one of {', '.join(questionnaires.items(instrument))}."]
        for key in answers
        if INSTRUMENT_OF[key] != instrument
    }


class ResponseIn(ResponseFields):
    """The body of ``PUT /me/questionnaires/{instrument}/{date}`` (the view checks items against the path)."""


class SyncResponseIn(ResponseFields):
    instrument = fields.String(required=True, validate=validate.OneOf(questionnaires.IDS))
    date = LocalDate(required=True)


class QuestionnairePath(Strict):
    """``/me/questionnaires/{instrument}/{date}``."""

    instrument = fields.String(required=True, validate=validate.OneOf(questionnaires.IDS))
    date = LocalDate(required=True, metadata={"description": "Local diary day YYYY-MM-DD."})


class ResponseOut(Out):
    instrument = fields.String(validate=validate.OneOf(questionnaires.IDS))
    date = DateText()
    answers = fields.Nested(AnswersOut)
    score = fields.Float(
        allow_none=True, metadata={"description": "By the instrument's scoring rule; null while incomplete."}
    )
    recorded_at = InstantText()
    updated_at = InstantText()


class ResponseListOut(Out):
    questionnaires = fields.List(fields.Nested(ResponseOut))


class ResponseConflictErrors(Out):
    stored = fields.Nested(ResponseOut, metadata={"description": "The newer version that was kept."})


class ResponseConflictOut(ErrorOut):
    """409: a newer version of the response is stored; it was kept and is sent back."""

    errors = fields.Nested(ResponseConflictErrors)


class OptionOut(Out):
    value = fields.Integer()
    text = fields.String()


class ItemOut(Out):
    id = fields.String()
    text = fields.String(metadata={"description": "The item's exact wording."})
    type = fields.String(validate=validate.OneOf(("integer", "choice")))
    min = fields.Integer(allow_none=True)
    max = fields.Integer(allow_none=True)
    low_anchor = fields.String(allow_none=True)
    high_anchor = fields.String(allow_none=True)
    options = fields.List(fields.Nested(OptionOut), allow_none=True)


class QuestionnaireOut(Out):
    instrument = fields.String(validate=validate.OneOf(questionnaires.IDS))
    title = fields.String()
    due = fields.Boolean(metadata={"description": "Whether the patient should answer it today."})
    last_date = DateText(allow_none=True, metadata={"description": "The last day it was answered."})
    items = fields.List(fields.Nested(ItemOut))
    citation = fields.String()
    licence = fields.String()


class QuestionnaireListOut(Out):
    date = DateText(metadata={"description": "Today in the patient's zone: the day to answer for."})
    questionnaires = fields.List(fields.Nested(QuestionnaireOut))


def item_out(item):
    """Render an instrument file's item as ``ItemOut``."""
    return {
        "id": item["id"],
        "text": item["text"],
        "type": item["type"],
        "min": item.get("min"),
        "max": item.get("max"),
        "low_anchor": item.get("low_anchor"),
        "high_anchor": item.get("high_anchor"),
        "options": item.get("options"),
    }
