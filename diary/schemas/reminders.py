"""Schemas of reminders, the in-app notification outbox and push tokens."""

from marshmallow import ValidationError, fields, validate

from diary.reminders.rules import DAY_NAMES
from diary.schemas.common import Instant, SingleLine, Strict, WallTime


def _distinct(values):
    if len(values) != len(set(values)):
        raise ValidationError("Each weekday may appear once.")


class ReminderIn(Strict):
    """Body of PUT .../reminders/{kind}."""

    time = WallTime(required=True, metadata={"description": "Local wall-clock time HH:MM (24-hour)."})
    days = fields.List(
        fields.String(validate=validate.OneOf(DAY_NAMES)),
        load_default=lambda: list(DAY_NAMES),
        validate=[validate.Length(min=1), _distinct],
        metadata={
            "description": "Weekdays it runs on (mon..sun); default every day. Use enabled=false to pause it."
        },
    )
    enabled = fields.Boolean(load_default=True)


class ReminderOut(Strict):
    kind = fields.String(metadata={"description": "dose or diary"})
    time = fields.String()
    days = fields.List(fields.String())
    enabled = fields.Boolean()
    follows_regimen = fields.Boolean(
        metadata={"description": "The dose reminder moves with the regimen's dose_time."}
    )
    next_due_at = fields.String(allow_none=True, metadata={"description": "Next fire instant, UTC."})
    next_local_date = fields.String(allow_none=True, metadata={"description": "Diary day of the next fire."})


class ReminderListOut(Strict):
    detail = fields.Boolean(metadata={"description": "Whether reminder texts may name the planned dose."})
    reminders = fields.List(fields.Nested(ReminderOut))


class ReminderSettingsIn(Strict):
    """Body of PUT /me/reminder-settings: the patient's opt-in to detailed text."""

    detail = fields.Boolean(
        required=True,
        metadata={
            "description": "false (default): lock-screen safe text without drug or dose. "
            "true: the dose reminder names the planned dose of that day."
        },
    )


class ReminderSettingsOut(Strict):
    detail = fields.Boolean()


class NotificationArgs(Strict):
    since = Instant(
        load_default=None,
        metadata={"description": "Only notifications that reached the outbox after this instant."},
    )


class NotificationOut(Strict):
    id = fields.String()
    kind = fields.String()
    local_date = fields.String()
    due_at = fields.String()
    title = fields.String()
    body = fields.String()
    acked_at = fields.String(allow_none=True)


class NotificationListOut(Strict):
    notifications = fields.List(fields.Nested(NotificationOut))


class PushIn(Strict):
    platform = fields.String(required=True, validate=validate.OneOf(("ios", "android")))
    token = SingleLine(required=True, validate=validate.Length(min=1, max=4096))
