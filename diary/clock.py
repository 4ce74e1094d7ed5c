"""The one place that reads the wall clock, the UTC text format we store, and local dates in a zone."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Return the current instant as an aware UTC datetime."""
    return datetime.now(UTC)


def to_utc_text(dt: datetime) -> str:
    """Format an aware datetime as stored UTC ISO-8601 text."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("naive datetime")
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def parse_utc_text(text: str) -> datetime:
    """Parse stored UTC ISO-8601 text back into an aware datetime."""
    return datetime.fromisoformat(text)


def local_date(instant: datetime, tz: str) -> date:
    """Return the calendar date of an aware instant in the IANA zone ``tz`` (a diary day)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("naive datetime")
    return instant.astimezone(ZoneInfo(tz)).date()
