"""The one place that reads the wall clock, and the UTC text format we store."""

from datetime import UTC, datetime


def utcnow():
    """Return the current instant as an aware UTC datetime."""
    return datetime.now(UTC)


def to_utc_text(dt):
    """Format an aware datetime as stored UTC ISO-8601 text."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("naive datetime")
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def parse_utc_text(text):
    """Parse stored UTC ISO-8601 text back into an aware datetime."""
    return datetime.fromisoformat(text)
