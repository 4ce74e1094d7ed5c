"""Pure reminder rules: when a reminder is next due, and what it says.

Nothing here reads the clock, the environment or the database: every function
takes plain values and an explicit instant.
"""

from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from diary.clock import local_date
from diary.units import ug_to_mg

Occurrence = tuple[date, datetime]

KINDS = ("dose", "diary", "questionnaire")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_DAYS = frozenset(DAY_NAMES)
# A diary reminder needs no regimen; evening is when a day can be summed up.
DEFAULT_DIARY_TIME = "20:00"
# The weekly questionnaires (PEG, PGIC): Sunday evening, sent only when one is due.
DEFAULT_QUESTIONNAIRE_TIME = "19:00"
DEFAULT_QUESTIONNAIRE_DAYS = ("sun",)
# Enough to pass a week of disabled weekdays plus a date already delivered.
_SEARCH_DAYS = 16


def parse_time(text: str) -> time:
    """Parse a wall-clock ``HH:MM`` into a time."""
    hours, minutes = text.split(":")
    if len(hours) != 2 or len(minutes) != 2:
        raise ValueError("Use HH:MM.")
    return time(int(hours), int(minutes))


def parse_days(text: str) -> frozenset[str]:
    """Parse the stored comma-separated weekday names into a frozenset."""
    days = frozenset(d for d in text.split(",") if d)
    if not days <= ALL_DAYS:
        raise ValueError("Unknown weekday name.")
    return days


def format_days(days: Collection[str]) -> str:
    """Format weekday names in calendar order for storage and JSON."""
    return ",".join(d for d in DAY_NAMES if d in days)


def due_at(day: date, wall_time: time, tz: str) -> datetime:
    """Return the UTC instant of ``wall_time`` on ``day`` in zone ``tz``.

    fold=0 is deliberate: a wall time inside a spring-forward gap then uses the
    offset before the change, which lands it later by the gap; a wall time that
    happens twice in autumn takes its first occurrence.
    """
    local = datetime.combine(day, wall_time, tzinfo=ZoneInfo(tz)).replace(fold=0)
    return local.astimezone(UTC)


def next_occurrence(
    wall_time: time,
    days: Collection[str],
    tz: str,
    after: datetime,
    after_date: date | None = None,
    delivered: Collection[str] = frozenset(),
) -> Occurrence | None:
    """Return the first ``(local_date, due_utc)`` due strictly after ``after``.

    ``after_date`` (exclusive) and ``delivered`` (local dates that already had
    this reminder) rule out dates, so a local date never gets a second one.
    Returns None when no weekday is enabled.
    """
    if after.tzinfo is None:
        raise ValueError("naive datetime")
    if not days:
        return None
    # The previous local date too: west of UTC its wall time can still be ahead.
    day = local_date(after, tz) - timedelta(days=1)
    if after_date is not None and day <= after_date:
        day = after_date + timedelta(days=1)
    for _ in range(_SEARCH_DAYS):
        if DAY_NAMES[day.weekday()] in days and day.isoformat() not in delivered:
            due = due_at(day, wall_time, tz)
            if due > after:
                return day, due
        day += timedelta(days=1)
    return None


def occurrences(
    wall_time: time, days: Collection[str], tz: str, after: datetime, count: int
) -> list[Occurrence]:
    """Return the next ``count`` occurrences after ``after`` (for previews)."""
    found: list[Occurrence] = []
    last_date: date | None = None
    while len(found) < count:
        nxt = next_occurrence(wall_time, days, tz, after, after_date=last_date)
        if nxt is None:
            break
        found.append(nxt)
        last_date, after = nxt[0], nxt[1]
    return found


def part_of_day(wall_time: time) -> str:
    """Name the part of the day of a wall time, as people say it."""
    if 5 <= wall_time.hour < 12:
        return "morning"
    if 12 <= wall_time.hour < 17:
        return "afternoon"
    return "evening"


def planned_dose_ug(steps: Iterable[tuple[str, int]], day: date | str) -> int | None:
    """Return the planned dose on ``day`` from titration steps, or None.

    ``steps`` are ``(start_date 'YYYY-MM-DD', dose_ug)`` pairs; the latest step
    starting on or before the date applies.
    """
    text = day.isoformat() if isinstance(day, date) else day
    current = None
    for start, dose_ug in sorted(steps):
        if start <= text:
            current = dose_ug
    return current


def message(
    kind: str,
    wall_time: time,
    detail: bool = False,
    medication: str | None = None,
    dose_ug: int | None = None,
) -> tuple[str, str]:
    """Return ``(title, body)`` for a reminder.

    By default the text is safe on a lock screen: it names no drug, dose or
    condition. With ``detail`` the dose reminder names the planned dose.
    """
    if kind == "dose":
        body = f"Time for your {part_of_day(wall_time)} dose"
        if detail and medication and dose_ug:
            body += f": {medication} {ug_to_mg(dose_ug)} mg"
        return "Reminder", body
    if kind == "diary":
        return "Reminder", "A minute for today's diary?"
    if kind == "questionnaire":
        return "Reminder", "Your weekly questions are ready"
    raise ValueError(f"unknown reminder kind {kind!r}")
