"""Schemas of reminders, the in-app notification outbox and push tokens."""

from urllib.parse import urlsplit

import marshmallow as ma
from marshmallow import ValidationError, fields, validate

from diary.reminders import webpush
from diary.reminders.rules import DAY_NAMES, KINDS
from diary.schemas.common import DateText, Instant, InstantText, Out, SingleLine, Strict, WallTime


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


class ReminderOut(Out):
    kind = fields.String(validate=validate.OneOf(KINDS))
    time = WallTime(metadata={"description": "Local wall-clock time HH:MM (24-hour)."})
    days = fields.List(fields.String(validate=validate.OneOf(DAY_NAMES)))
    enabled = fields.Boolean()
    follows_regimen = fields.Boolean(
        metadata={"description": "The dose reminder moves with the regimen's dose_time."}
    )
    next_due_at = InstantText(allow_none=True, metadata={"description": "Next fire instant, UTC."})
    next_local_date = DateText(allow_none=True, metadata={"description": "Diary day of the next fire."})


class ReminderListOut(Out):
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


class ReminderSettingsOut(Out):
    detail = fields.Boolean()


class NotificationArgs(Strict):
    since = Instant(
        load_default=None,
        metadata={"description": "Only notifications that reached the outbox after this instant."},
    )


class NotificationOut(Out):
    id = fields.String()
    kind = fields.String(validate=validate.OneOf(KINDS))
    local_date = DateText()
    due_at = InstantText()
    title = fields.String()
    body = fields.String()
    acked_at = InstantText(allow_none=True)


class NotificationListOut(Out):
    notifications = fields.List(fields.Nested(NotificationOut))


def _https_endpoint(url):
    # The scheduler POSTs to this URL: only a push service's https address, never plain http.
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise ValidationError("Must be the push service's https:// URL.")


def _key_check(check, message):
    def validator(value):
        try:
            check(value)
        except ValueError as exc:
            raise ValidationError(message) from exc

    return validator


class WebPushKeysIn(Strict):
    p256dh = fields.String(
        required=True,
        validate=_key_check(webpush.check_p256dh, "Must be a base64url P-256 public key (65 bytes)."),
        metadata={"description": "The browser's P-256 public key, base64url (65 bytes)."},
    )
    auth = fields.String(
        required=True,
        validate=_key_check(webpush.check_auth_secret, "Must be a base64url 16-byte secret."),
        metadata={"description": "The browser's authentication secret, base64url (16 bytes)."},
    )


class WebPushSubscriptionIn(Strict):
    """A browser's PushSubscription as ``subscription.toJSON()`` gives it."""

    # SingleLine: urlsplit drops tabs and line breaks silently, so _https_endpoint alone
    # would let them through into the stored URL.
    endpoint = SingleLine(
        required=True,
        validate=[validate.Length(min=9, max=webpush.MAX_ENDPOINT), _https_endpoint],
        metadata={"format": "uri", "description": "The push service's https:// URL for this browser."},
    )
    # toJSON() also carries expirationTime (null in every browser we know); accepted, not stored.
    expiration_time = fields.Float(
        data_key="expirationTime",
        allow_none=True,
        metadata={"description": "When the subscription ends (ms since 1970), or null; not stored."},
    )
    keys = fields.Nested(WebPushKeysIn, required=True)


class PushIn(Strict):
    """Body of PUT /me/push: a native token (ios, android) or a browser subscription (web)."""

    platform = fields.String(required=True, validate=validate.OneOf(("ios", "android", "web")))
    token = SingleLine(
        validate=validate.Length(min=1, max=4096), metadata={"description": "ios and android only."}
    )
    subscription = fields.Nested(WebPushSubscriptionIn, metadata={"description": "web only."})

    @ma.validates_schema
    def _one_target(self, data, **kwargs):
        web = data.get("platform") == "web"
        wanted, unwanted = ("subscription", "token") if web else ("token", "subscription")
        errors = {}
        if wanted not in data:
            errors[wanted] = [f"Required when platform is {data.get('platform')}."]
        if unwanted in data:
            errors[unwanted] = [f"Not used when platform is {data.get('platform')}."]
        if errors and "platform" in data:
            raise ValidationError(errors)


class VapidKeyOut(Out):
    public_key = fields.String(
        metadata={"description": "The server's VAPID public key, base64url: the applicationServerKey."}
    )
