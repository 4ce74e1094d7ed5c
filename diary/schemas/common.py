"""Fields and base schemas shared by every resource."""

import functools
import math
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import marshmallow as ma
from marshmallow import fields

from diary.units import mg_to_ug, ug_to_mg

MAX_DOSE_MG = Decimal(1000)
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Diary days before this are typos, not history.
EARLIEST_DATE = date(2000, 1, 1)


class Strict(ma.Schema):
    """Base schema: unknown fields are an error, never silently dropped."""

    class Meta:
        unknown = ma.RAISE


OPTIONAL = {"optional": True}


class Out(ma.Schema):
    """Base of response schemas: every key is always sent (null when empty), so the document requires it.

    A key that only some answers carry is declared with ``metadata=OPTIONAL``.
    """

    class Meta:
        # Says nothing about other keys: a later release may add one without breaking clients.
        unknown = ma.EXCLUDE

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # ``required`` only documents here: responses are dumped, never loaded.
        for field in self.fields.values():
            field.required = not field.metadata.get("optional", False)


class ErrorOut(Out):
    """The one error shape of every 4xx and 5xx answer."""

    code = fields.Integer(metadata={"description": "The HTTP status code."})
    status = fields.String(metadata={"description": "The HTTP status phrase."})
    message = fields.String(metadata={"description": "What went wrong, for a person."})
    # Typed as a Field so an error with a known body (a 409's stored version) may nest a schema.
    errors: fields.Field = fields.Dict(
        keys=fields.String(),
        metadata={"description": "By location (json, query, path) and field: the messages; may be empty."},
    )


class ItemList(fields.List):
    """A list documented with typed items whose items are checked later, one by one.

    A sync batch answers each item on its own, so one bad item (even null) is
    rejected alone instead of failing the whole body.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise self.make_error("invalid")
        return value


class AsIs(fields.Nested):
    """Documented as the nested schema, sent as the plain value already built (a stored report)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class Either(fields.Field):
    """A value of one of several shapes; documented as ``oneOf`` (see diary.api.spec)."""

    def __init__(self, *alternatives, **kwargs):
        super().__init__(**kwargs)
        self.alternatives = alternatives


class DateText(fields.String):
    """A stored diary day ``YYYY-MM-DD`` sent as it is (documented as ``format: date``)."""


class InstantText(fields.String):
    """A stored ISO-8601 instant with its offset, sent as it is (documented as ``format: date-time``)."""


@functools.cache
def _known_zones():
    # Only names that exist wherever we run: ZoneInfo() alone also opens the
    # system's posix/ and right/ copies (right/ counts leap seconds) and the
    # machine's own "localtime".
    return frozenset(available_timezones()) - {"localtime"}


def is_valid_timezone(name):
    """Whether ``name`` is an IANA zone that zoneinfo knows."""
    if not isinstance(name, str) or not name or name.startswith("/") or ".." in name:
        return False
    if name not in _known_zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


# C0 and C1 controls and DEL; the bidi embeddings, overrides and isolates (U+202A-202E,
# U+2066-2069), which can make "3 mg" read as "gm 3"; and the Unicode line and paragraph
# separators. Right-to-left text itself and the RLM/LRM marks stay allowed.
# Written as \u escapes, which Python's re and the document's (ECMA-262) patterns both read.
_ONE_LINE_REFUSED = r"\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_NOTE_REFUSED = r"\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069"
_NOT_ON_ONE_LINE = re.compile(f"[{_ONE_LINE_REFUSED}]")
_NOT_IN_NOTES = re.compile(f"[{_NOTE_REFUSED}]")


class SingleLine(fields.String):
    """One line of text (a name, a medication, a device): no control characters, no bidi overrides."""

    default_error_messages = {
        "control": "Must be one line of text without control characters or direction overrides."
    }
    # What the OpenAPI document says (diary.api.spec): the same characters refused.
    PATTERN = f"^[^{_ONE_LINE_REFUSED}]*$"

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if _NOT_ON_ONE_LINE.search(text):
            raise self.make_error("control")
        return text


class Note(fields.String):
    """Free text that keeps newlines and tabs, and no other control character or bidi override."""

    default_error_messages = {
        "control": "Only newlines and tabs are allowed among control characters; no direction overrides."
    }
    # A CR is taken only before a LF (Windows line ends), as _deserialize does.
    PATTERN = f"^(?:[^{_NOTE_REFUSED}]|\\r\\n)*$"

    def _deserialize(self, value, attr, data, **kwargs):
        # A phone that sends Windows line ends stores plain newlines.
        text = super()._deserialize(value, attr, data, **kwargs).replace("\r\n", "\n")
        if _NOT_IN_NOTES.search(text):
            raise self.make_error("control")
        return text


class Timezone(fields.String):
    """An IANA time zone name, checked with zoneinfo."""

    default_error_messages = {"invalid_zone": "Not a known IANA time zone (for example Europe/London)."}

    def _deserialize(self, value, attr, data, **kwargs):
        name = super()._deserialize(value, attr, data, **kwargs)
        if not is_valid_timezone(name):
            raise self.make_error("invalid_zone")
        return name


class LocalDate(fields.Date):
    """A calendar date ``YYYY-MM-DD`` (a diary day in the patient's zone)."""

    default_error_messages = {
        "invalid": "Not a valid date: use YYYY-MM-DD.",
        "too_early": "Dates before 2000-01-01 are not accepted.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
            raise self.make_error("invalid")
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise self.make_error("invalid") from exc
        if day < EARLIEST_DATE:
            raise self.make_error("too_early")
        return day


class Instant(fields.AwareDateTime):
    """An aware ISO-8601 datetime; a naive one is refused."""

    default_error_messages = {"naive": "Give a time zone offset, for example 2026-03-01T22:00:00+00:00."}

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        instant = super()._deserialize(value, attr, data, **kwargs)
        try:
            # 0001-01-01T00:00+01:00 parses but has no UTC form to store.
            utc = instant.astimezone(UTC).replace(tzinfo=None)
        except OverflowError as exc:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from exc
        # Within a day of the calendar's ends, showing the stored instant in a
        # patient's zone later would overflow (9999-12-31T23:00Z in UTC+14).
        if not _INSTANT_MIN <= utc <= _INSTANT_MAX:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        return instant


_INSTANT_MIN = datetime.min + timedelta(days=2)
_INSTANT_MAX = datetime.max - timedelta(days=2)


class WallTime(fields.String):
    """A local wall-clock time ``HH:MM``."""

    default_error_messages = {"invalid_time": "Use HH:MM, 24-hour (for example 22:00)."}

    def __init__(self, **kwargs):
        metadata = {"pattern": TIME_RE.pattern, "example": "22:00", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not TIME_RE.match(text):
            raise self.make_error("invalid_time")
        return text


class DoseMg(fields.Field):
    """A dose in milligrams (> 0, <= 1000, at most 3 decimals), loaded as integer micrograms."""

    default_error_messages = {
        "invalid": "Give the dose in mg as a number.",
        "range": "Must be more than 0 and at most 1000 mg.",
        "places": "At most 3 decimals (micrograms).",
    }
    DESCRIPTION = (
        "Milligrams: a number > 0 and <= 1000 with at most 3 decimals (stored as whole micrograms). "
        "Sent back normalised: 3.0 comes back as 3, 4.50 as 4.5."
    )

    def __init__(self, **kwargs):
        metadata = {
            "exclusiveMinimum": 0,
            "maximum": int(MAX_DOSE_MG),
            "description": self.DESCRIPTION,
            "example": 4.5,
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise self.make_error("invalid")
        try:
            amount = Decimal(str(value))
        except InvalidOperation as exc:
            raise self.make_error("invalid") from exc
        if not amount.is_finite():
            raise self.make_error("invalid")
        if amount <= 0 or amount > MAX_DOSE_MG:
            raise self.make_error("range")
        try:
            return mg_to_ug(amount)
        except ValueError as exc:
            raise self.make_error("places") from exc

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else ug_to_mg(value)


# SQLite stores integers in 8 bytes: a larger one raises OverflowError at the INSERT.
SQLITE_INT_MIN, SQLITE_INT_MAX = -(2**63), 2**63 - 1


class StrictInteger(fields.Integer):
    """An integer (not a string, float or boolean) within bounds; SQLite's range at most."""

    default_error_messages = {"range": "Must be between {minimum} and {maximum}."}

    def __init__(self, minimum=SQLITE_INT_MIN, maximum=SQLITE_INT_MAX, **kwargs):
        if not SQLITE_INT_MIN <= minimum <= maximum <= SQLITE_INT_MAX:
            raise ValueError("integer bounds must lie within SQLite's range")
        self.minimum, self.maximum = minimum, maximum
        # The range is checked in _deserialize rather than by a validator: six scores per
        # entry, 500 entries per sync batch. metadata documents it in the OpenAPI schema.
        metadata = {"minimum": minimum, "maximum": maximum, **kwargs.pop("metadata", {})}
        super().__init__(strict=True, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        # type() and not isinstance(): True is an int to Python, not to a diary.
        if type(value) is not int:
            raise self.make_error("invalid")
        if not self.minimum <= value <= self.maximum:
            raise self.make_error("range", minimum=self.minimum, maximum=self.maximum)
        return value


class StrictFloat(fields.Float):
    """A JSON number (not a string, not a boolean), finite."""

    def __init__(self, **kwargs):
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) not in (int, float):
            raise self.make_error("invalid")
        try:
            number = float(value)  # an int of 400 digits has no float
        except OverflowError as exc:
            raise self.make_error("special") from exc
        if not math.isfinite(number):
            raise self.make_error("special")
        return number


class Score(StrictInteger):
    """A 0-10 rating."""

    def __init__(self, **kwargs):
        super().__init__(minimum=0, maximum=10, allow_none=True, **kwargs)


class ClientUUID(fields.String):
    """A client-generated UUID, stored in canonical lower-case form (documented as ``format: uuid``)."""

    default_error_messages = {"invalid_uuid": "Not a valid UUID."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return str(uuid.UUID(text))
        except ValueError as exc:
            raise self.make_error("invalid_uuid") from exc


class DateRangeArgs(Strict):
    """``from``/``to`` query parameters (inclusive diary days)."""

    from_ = LocalDate(data_key="from", load_default=None)
    to = LocalDate(load_default=None)

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ma.ValidationError("Must not be before 'from'.", "to")
