"""Which planned day a dose belongs to: one pure rule for the report, the CSV and the dose reminder.

A dose of the regimen's substance counts for the local date D whose planned
instant (D at the regimen's ``dose_time`` in the patient's zone) is nearest to
when it was taken, within 12 hours; a tie goes to the earlier day. With a 22:00
dose time a dose at 00:30 counts for the evening before. Doses of any other
medication keep their own local date.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from diary import medications

WINDOW: Final = timedelta(hours=12)
_HALF_DAY_SECONDS: Final = WINDOW.total_seconds()
_DAY_SECONDS: Final = 86400
_SURE_SECONDS: Final = 11 * 3600
_DAY: Final = timedelta(days=1)


def parse_dose_time(text: str) -> time:
    """Parse a regimen's ``HH:MM`` dose time."""
    return time.fromisoformat(text)


def planned_instant(day: date, dose_time: time, zone: ZoneInfo) -> datetime:
    """Return the aware instant of ``dose_time`` on ``day`` in ``zone``.

    fold=0, as for reminders: a time inside a spring-forward gap lands later by
    the gap, a time that happens twice in autumn is its first occurrence.
    """
    return datetime.combine(day, dose_time, tzinfo=zone)


def planned_day(taken_at: datetime, dose_time: time, zone: ZoneInfo) -> date:
    """Return the planned day a dose taken at the aware ``taken_at`` counts for."""
    if taken_at.tzinfo is None:
        raise ValueError("naive datetime")
    local = taken_at.astimezone(zone)
    # Fast path, by the wall clock. It is exact when the UTC offset at the dose equals the one
    # at the chosen planned instant and the dose is well inside the window: another day's
    # instant is then more than 24 h - 11 h - 2 h (the largest offset change) away. Otherwise
    # the exact search over the three candidate days decides.
    gap: float = (local.hour - dose_time.hour) * 3600 + (local.minute - dose_time.minute) * 60
    gap += local.second - dose_time.second + (local.microsecond - dose_time.microsecond) / 1e6
    day = local.date()
    if gap > _HALF_DAY_SECONDS:
        day, gap = day + _DAY, gap - _DAY_SECONDS
    elif gap <= -_HALF_DAY_SECONDS:
        day, gap = day - _DAY, gap + _DAY_SECONDS
    if abs(gap) < _SURE_SECONDS and planned_instant(day, dose_time, zone).utcoffset() == local.utcoffset():
        return day
    return _nearest_day(taken_at, local.date(), dose_time, zone)


def _nearest_day(taken_at: datetime, local: date, dose_time: time, zone: ZoneInfo) -> date:
    # (gap, day): the nearest planned instant wins, and on a tie the earlier day.
    near = [
        (gap, day)
        for day in (local - _DAY, local, local + _DAY)
        if (gap := abs(taken_at - planned_instant(day, dose_time, zone))) <= WINDOW
    ]
    return min(near)[1] if near else local


class DayRule:
    """The planned-day rule for one patient's regimen: which day each dose counts for."""

    def __init__(self, medication: str | None, dose_time: str | None, timezone: str) -> None:
        self.identity = medications.identity(medication) if medication else None
        self.dose_time = parse_dose_time(dose_time) if dose_time else None
        self.zone = ZoneInfo(timezone)
        # A diary repeats the same few medication names: decide each name once.
        self._follows: dict[str | None, bool] = {}

    def follows_plan(self, medication: str | None) -> bool:
        """Say whether a dose of ``medication`` is a dose of the regimen's substance."""
        known = self._follows.get(medication)
        if known is None:
            known = self.identity is not None and medications.identity(medication) == self.identity
            self._follows[medication] = known
        return known

    def day_of(self, dose: Mapping[str, Any]) -> date:
        """Return the day a dose row (``medication``, ``local_date``, ``taken_at``) counts for."""
        if self.dose_time is not None and dose["taken_at"] and self.follows_plan(dose["medication"]):
            return planned_day(datetime.fromisoformat(dose["taken_at"]), self.dose_time, self.zone)
        return date.fromisoformat(dose["local_date"])


def dose_logged_for(rule: DayRule, day: date, doses: Iterable[Mapping[str, Any]]) -> bool:
    """Say whether a dose of the regimen's substance (taken or skipped) counts for ``day``.

    The dose reminder's skip-if-done: ``doses`` are the patient's live doses
    with a local date from the day before ``day`` to the day after.
    """
    return any(rule.follows_plan(d["medication"]) and rule.day_of(d) == day for d in doses)
