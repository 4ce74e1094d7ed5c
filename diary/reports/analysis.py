"""Pure trend analysis: a patient's diary rows and a period -> the plain report structure.

No database, no clock, no environment: every input is a plain value, so the
same rows and period always give the same report (and tests can work the
answers out by hand). Rendering (JSON, HTML, CSV, FHIR) happens elsewhere.

Inputs
- ``patient``: ``{id, display_name, timezone}``.
- ``regimen``: ``{medication, dose_time, steps: [{start_date, dose_ug}],
  other_medications: [names]}`` or None.
- ``entries``: ``{date, pain, pain_worst, fatigue, mood, sleep_quality,
  function, sleep_hours, side_effects: [{name, severity, note}], notes}``;
  rows marked ``deleted`` are tombstones and ignored. Entries before the
  period are used only for the baseline window (``diary.reports.fetch`` loads
  the pre-treatment window and the diary's first 14 days besides the period).
- ``doses``: ``{id, medication, amount_ug, local_date, status, taken_at}``,
  including the day either side of the period (a bedtime dose taken after
  midnight belongs to the evening before).
- ``record_start``: the first day of the patient's record; the period never
  starts before it.
- ``appointments``: the local dates of the patient's appointments.
"""

import bisect
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any, Final

from diary import measures, medications
from diary.dosing import DayRule
from diary.measures import DIRECTED, MEASURES
from diary.reports import effect as effects
from diary.reports import questionnaire_summary
from diary.units import ug_to_mg

Row = Mapping[str, Any]
Report = dict[str, Any]

BASELINE_DAYS: Final = 14
CURRENT_DAYS: Final = 14
# Fewer logged days than this in a window (or a dose level): a mean of 1-3 days
# says too little about a fluctuating chronic pain score to classify a change.
MIN_WINDOW_DAYS: Final = 4
ROLLING_DAYS: Final = 7
# A 7-day mean needs more than half of its days; fewer would let one
# logged day pose as a weekly average.
MIN_ROLLING_VALUES: Final = 4
DEFAULT_PERIOD_DAYS: Final = 90
# Without an appointment, the default period reaches back to the baseline before the
# first dose step, but never more than this many days (an old regimen is not a report of years).
MAX_DEFAULT_DAYS: Final = 180
DEFAULT_LAG_DAYS: Final = 3

# IMMPACT recommendations for interpreting clinical importance of treatment
# outcomes in chronic pain trials: Dworkin RH et al., J Pain 2008;9(2):105-121.
# Percent reduction in 0-10 pain intensity: >= 10% minimally, >= 30% moderately,
# >= 50% substantially important.
IMMPACT_SUBSTANTIAL: Final = 50
IMMPACT_MODERATE: Final = 30
IMMPACT_MINIMAL: Final = 10
# This project's symmetric choices: the same bands in each measure's own good
# direction, a change in the bad direction of >= 10% is worsening, and no class
# but no_meaningful_change without an absolute change of at least 1 point
# (so 1 -> 1.36 is not a 36% worsening).
WORSENING_PERCENT: Final = 10
MIN_CHANGE_POINTS: Final = 1
# Farrar JT et al., Pain 2001;94(2):149-158: a reduction of about 2 points
# (or 30%) on the 0-10 numerical rating scale is clinically important.
FARRAR_POINTS: Final = 2
FARRAR_PERCENT: Final = 30

LOW_ADHERENCE: Final = Fraction(8, 10)
SPARSE_DIARY: Final = Fraction(1, 2)
# Without an appointment, severe side effects are looked for in the last 30 days.
SEVERE_WINDOW_DAYS: Final = 30
RESOLVED_QUIET_DAYS: Final = 7
RESOLVED_MIN_ENTRIES_AFTER: Final = 3
# Logged days without a side effect that end one episode of it.
EPISODE_GAP_LOGGED_DAYS: Final = 7
SEVERITY_RANK: Final = {"mild": 1, "moderate": 2, "severe": 3}
SEVERITY_NAMES: Final = {rank: name for name, rank in SEVERITY_RANK.items()}
PRE_TREATMENT_STEP_MG: Final = 0  # mixed_steps names days before the first step as 0 mg


def _ordinal(day: date | str) -> int:
    if isinstance(day, date):
        return day.toordinal()
    return date.fromisoformat(day).toordinal()


def _iso(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def _round(value: Fraction | float | None, places: int = 2) -> float | None:
    return None if value is None else round(float(value), places)


def _exact(value: float | int) -> Fraction:
    # Decimal text of a float (sleep hours have at most 2 decimals) as an exact fraction,
    # so band edges such as exactly 30% compare exactly.
    return Fraction(str(value)) if isinstance(value, float) else Fraction(value)


def _mean_exact(values: Sequence[float | int]) -> Fraction | None:
    return sum((_exact(v) for v in values), Fraction(0)) / len(values) if values else None


def _mean(values: Sequence[float | int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def default_period(
    today: date,
    appointment_days: Iterable[date],
    first_step: date | None = None,
    days: int = DEFAULT_PERIOD_DAYS,
) -> tuple[date, date]:
    """Return (from, to) of the default report period, to ``today``.

    From the last appointment day before today; without one, from the 14
    baseline days before the first regimen step (``first_step``), so the
    baseline is on the charts, but at most MAX_DEFAULT_DAYS back; without a
    step up to today either, the last ``days`` days.
    """
    earlier = [d for d in appointment_days if d < today]
    if earlier:
        start = max(earlier)
    elif first_step is not None and first_step <= today:
        start = max(first_step - timedelta(days=BASELINE_DAYS), today - timedelta(days=MAX_DEFAULT_DAYS - 1))
    else:
        start = today - timedelta(days=days - 1)
    return start, today


def pre_treatment_window(regimen: Row | None) -> tuple[date, date] | None:
    """Return (from, to) dates of the 14 days before the first regimen step, or None."""
    steps = _steps(regimen)
    if not steps:
        return None
    first = steps[0][0]
    return date.fromordinal(first - BASELINE_DAYS), date.fromordinal(first - 1)


def _steps(regimen: Row | None) -> list[tuple[int, int]]:
    if not regimen or not regimen.get("steps"):
        return []
    return sorted((_ordinal(s["start_date"]), s["dose_ug"]) for s in regimen["steps"])


def _has_content(entry: Row) -> bool:
    return (
        any(entry.get(m) is not None for m in MEASURES)
        or bool(entry.get("side_effects"))
        or bool((entry.get("notes") or "").strip())
    )


# -- the prepared diary ---------------------------------------------------------------------------


@dataclass
class Diary:
    """A patient's rows prepared once: entries by day, doses by the day they count for, steps."""

    lo: int
    hi: int
    by_day: dict[int, Row]
    steps: list[tuple[int, int]]
    regimen: Row | None
    rule: DayRule
    doses: list[Row]
    # Doses of the followed medication by the (planned) day they count for.
    plan_doses: dict[int, list[Row]] = field(default_factory=dict)
    # Per planned day: total taken (ug) and how many taken doses of the followed medication.
    taken_ug: dict[int, int] = field(default_factory=dict)
    taken_n: dict[int, int] = field(default_factory=dict)
    # Days with any dose of any medication counted for them.
    dosed_days: set[int] = field(default_factory=set)
    step_starts: list[int] = field(default_factory=list)

    def step_at(self, ordinal: int) -> tuple[int, int] | None:
        """Return the (start, dose_ug) of the step in force on a day, or None before the first."""
        i = bisect.bisect_right(self.step_starts, ordinal)
        return self.steps[i - 1] if i else None

    def in_period(self) -> list[tuple[int, Row]]:
        """Return the period's logged days as (ordinal, entry), oldest first."""
        return sorted((o, e) for o, e in self.by_day.items() if self.lo <= o <= self.hi)


def _followed_medication(regimen: Row | None, doses: Sequence[Row]) -> str | None:
    # The regimen's medication, else the most logged taken one (no regimen: no dose time either).
    if regimen and regimen.get("medication"):
        return str(regimen["medication"])
    counts: dict[str, int] = {}
    first_text: dict[str, str] = {}
    for dose in doses:
        if dose.get("status") == "taken":
            key = repr(sorted(medications.identity(dose["medication"])))
            counts[key] = counts.get(key, 0) + 1
            first_text.setdefault(key, dose["medication"])
    if not counts:
        return None
    return first_text[max(sorted(counts), key=lambda k: counts[k])]


def prepare(
    patient: Row,
    regimen: Row | None,
    entries: Iterable[Row],
    doses: Iterable[Row],
    period_from: date | str,
    period_to: date | str,
    record_start: date | str | None = None,
) -> Diary:
    """Prepare a patient's rows for a period: the one place doses are matched to planned days."""
    lo, hi = _ordinal(period_from), _ordinal(period_to)
    if hi < lo:
        raise ValueError("period ends before it starts")
    if record_start is not None:
        start = _ordinal(record_start)
        if hi < start:
            raise ValueError("period ends before the patient's record began")
        # Days before the record began are neither missing nor counted.
        lo = max(lo, start)
    live = [d for d in doses if not d.get("deleted")]
    followed = _followed_medication(regimen, live)
    rule = DayRule(followed, regimen.get("dose_time") if regimen else None, patient["timezone"])
    steps = _steps(regimen)
    diary = Diary(
        lo=lo,
        hi=hi,
        by_day={_ordinal(e["date"]): e for e in entries if not e.get("deleted")},
        steps=steps,
        regimen=regimen,
        rule=rule,
        doses=[],
        step_starts=[s for s, _ in steps],
    )
    for dose in live:
        o = rule.day_of(dose).toordinal()
        if not lo <= o <= hi:
            continue
        diary.doses.append(dose)
        diary.dosed_days.add(o)
        if rule.follows_plan(dose["medication"]):
            diary.plan_doses.setdefault(o, []).append(dose)
            if dose["status"] == "taken":
                diary.taken_ug[o] = diary.taken_ug.get(o, 0) + dose["amount_ug"]
                diary.taken_n[o] = diary.taken_n.get(o, 0) + 1
    return diary


# -- the report -----------------------------------------------------------------------------------


def build_report(
    patient: Row,
    regimen: Row | None,
    entries: Iterable[Row],
    doses: Iterable[Row],
    period_from: date | str,
    period_to: date | str,
    *,
    lag_days: int = DEFAULT_LAG_DAYS,
    today: date | str | None = None,
    series: bool = True,
    record_start: date | str | None = None,
    appointments: Iterable[date | str] = (),
    responses: Iterable[Row] = (),
) -> Report:
    """Build the report structure for a patient's rows over an inclusive period.

    ``today`` (the patient's local date, when known) keeps a bedtime dose that
    is simply not due yet from counting as missed. ``series=False`` leaves out
    the per-measure statistics and series (half the work), for lists that only
    show flags. ``responses``: the stored questionnaire responses of the period
    and before it (the PEG baseline is the last one before the first step).
    """
    diary = prepare(patient, regimen, entries, doses, period_from, period_to, record_start)
    lo, hi = diary.lo, diary.hi
    in_period = diary.in_period()
    names = [_iso(o) for o in range(lo, hi + 1)]
    today_o = _ordinal(today) if today is not None else None
    effect_names = side_effect_names(in_period)
    side_effects = _side_effects(diary, in_period, effect_names)
    windows = comparison_windows(diary)
    comparison, worse = _baseline_comparison(diary, windows)
    weeks = _weeks(lo, hi)  # the same ISO weeks for every measure
    report: Report = {
        "patient": {
            "id": patient["id"],
            "display_name": patient["display_name"],
            "timezone": patient["timezone"],
        },
        "period": {"from": names[0], "to": names[-1], "days": hi - lo + 1},
        "regimen": _regimen_out(regimen, diary.steps),
        "medications": {"unrecognised": medications.unrecognised(_medication_texts(diary))},
        "completeness": _completeness(in_period, lo, hi),
        "measures": ({m: _measure(m, in_period, lo, hi, names, weeks) for m in MEASURES} if series else None),
        "baseline_comparison": comparison,
        "doses": {
            "adherence": _adherence(diary, today_o),
            "levels": [level for level, _ in _levels(diary, lag_days)],
        },
        "side_effects": side_effects,
        "questionnaires": questionnaire_summary.summarise(
            responses, names[0], names[-1], _iso(diary.steps[0][0]) if diary.steps else None
        ),
    }
    report["flags"] = _flags(
        report, diary, worse, in_period, effect_names, [_ordinal(a) for a in appointments]
    )
    return report


def _regimen_out(regimen: Row | None, steps: list[tuple[int, int]]) -> dict[str, Any] | None:
    if not regimen:
        return None
    return {
        "medication": regimen["medication"],
        "substances": sorted(medications.resolve(regimen["medication"]).substances),
        "steps": [{"start_date": _iso(o), "dose_mg": ug_to_mg(ug)} for o, ug in steps],
    }


def _medication_texts(diary: Diary) -> list[str]:
    texts = []
    if diary.regimen:
        texts.append(diary.regimen["medication"])
        texts.extend(diary.regimen.get("other_medications") or [])
    texts.extend(d["medication"] for d in diary.doses)
    return texts


def _completeness(in_period: list[tuple[int, Row]], lo: int, hi: int) -> dict[str, Any]:
    days = hi - lo + 1
    longest, previous = 0, lo - 1
    for o, _ in in_period:
        longest = max(longest, o - previous - 1)
        previous = o
    longest = max(longest, hi - previous)
    return {
        "days_logged": len(in_period),
        "days_in_period": days,
        "fraction": round(len(in_period) / days, 3),
        "longest_gap_days": longest,
    }


def _measure(
    name: str,
    in_period: list[tuple[int, Row]],
    lo: int,
    hi: int,
    names: list[str],
    weeks: list[tuple[int, str]],
) -> dict[str, Any]:
    pairs = [(o, e[name]) for o, e in in_period if e.get(name) is not None]
    values = [v for _, v in pairs]
    n = len(values)
    daily = [{"date": names[o - lo], "value": v} for o, v in pairs]
    slots: list[float | int | None] = [None] * (hi - lo + 1)
    for o, v in pairs:
        slots[o - lo] = v
    return {
        "direction": measures.DIRECTIONS[name],
        "n": n,
        "mean": _mean(values),
        "median": _round(statistics.median(values)) if n else None,
        "min": min(values) if n else None,
        "max": max(values) if n else None,
        "daily": daily,
        "rolling_7d": _rolling(slots, names),
        "weekly": _weekly(slots, lo, weeks),
    }


def _rolling(slots: list[float | int | None], names: list[str]) -> list[dict[str, Any]]:
    # Trailing window of ROLLING_DAYS calendar days ending on each day of the period;
    # missing days are skipped, never counted as zero.
    out = []
    total: float = 0
    count = 0
    for i, v in enumerate(slots):
        if v is not None:
            total += v
            count += 1
        if i >= ROLLING_DAYS:
            old = slots[i - ROLLING_DAYS]
            if old is not None:
                total -= old
                count -= 1
        if count >= MIN_ROLLING_VALUES:
            out.append({"date": names[i], "value": round(total / count, 2)})
    return out


def _weeks(lo: int, hi: int) -> list[tuple[int, str]]:
    # ISO weeks (Monday start) that touch the period, as (monday ordinal, its date text).
    first_monday = lo - (lo - 1) % 7
    return [(monday, _iso(monday)) for monday in range(first_monday, hi + 1, 7)]


def _weekly(slots: list[float | int | None], lo: int, weeks: list[tuple[int, str]]) -> list[dict[str, Any]]:
    # Only in-period days count; a week without values is reported with n 0, never as zeros.
    out = []
    for monday, text in weeks:
        start = max(monday - lo, 0)
        values = [v for v in slots[start : monday - lo + 7] if v is not None]
        if values:
            out.append(
                {
                    "week_start": text,
                    "n": len(values),
                    "mean": round(sum(values) / len(values), 2),
                    "min": min(values),
                    "max": max(values),
                }
            )
        else:
            out.append({"week_start": text, "n": 0, "mean": None, "min": None, "max": None})
    return out


# -- baseline against current ----------------------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    """The comparison windows as inclusive ordinals, and whether they can be compared."""

    baseline: tuple[int, int] | None  # the window as used (never sharing a day with current)
    baseline_named: tuple[int, int] | None  # the window the rule names, for the page
    source: str
    current: tuple[int, int]
    comparable: bool
    reason: str | None


def comparison_windows(diary: Diary) -> Windows:
    """Return the baseline and current windows of a prepared diary, disjoint, with comparability."""
    hi = diary.hi
    current = (max(diary.lo, hi - CURRENT_DAYS + 1), hi)
    logged = [o for o in diary.by_day if o <= hi]
    named: tuple[int, int] | None = None
    source = "first_days"
    if diary.steps:
        first = diary.steps[0][0]
        if any(first - BASELINE_DAYS <= o < first for o in logged):
            named, source = (first - BASELINE_DAYS, first - 1), "pre_treatment"
    if named is None and logged:
        start = min(logged)
        named = (start, start + BASELINE_DAYS - 1)
    if named is None:
        return Windows(None, None, source, current, False, "too_few_days")
    # The baseline never reaches into the current window or past the period.
    used = (named[0], min(named[1], hi, current[0] - 1))
    if used[0] > used[1]:
        return Windows(None, named, source, current, False, "windows_overlap")
    if min(_logged_days(diary, *used), _logged_days(diary, *current)) < MIN_WINDOW_DAYS:
        return Windows(used, named, source, current, False, "too_few_days")
    return Windows(used, named, source, current, True, None)


def _logged_days(diary: Diary, lo: int, hi: int) -> int:
    return sum(1 for o in range(lo, hi + 1) if o in diary.by_day and _has_content(diary.by_day[o]))


def window_points(diary: Diary, window: tuple[int, int] | None, name: str) -> list[effects.Point]:
    """Return a measure's (ordinal, value) pairs in an inclusive window of ordinals, oldest first."""
    if window is None:
        return []
    points = []
    for o in range(window[0], window[1] + 1):
        entry = diary.by_day.get(o)
        if entry is not None and entry.get(name) is not None:
            points.append((o, entry[name]))
    return points


def window_values(diary: Diary, window: tuple[int, int] | None, name: str) -> list[float | int]:
    """Return a measure's daily values in an inclusive window of ordinals, oldest first."""
    return [v for _, v in window_points(diary, window, name)]


def _baseline_comparison(diary: Diary, windows: Windows) -> tuple[dict[str, Any], list[str]]:
    """Return the comparison's report part and the measures that got clinically worse (flags)."""
    shown = windows.baseline or windows.baseline_named
    baseline = {
        "from": _iso(shown[0]) if shown else None,
        "to": _iso(shown[1]) if shown else None,
        "source": windows.source,
    }
    current: dict[str, Any] = {"from": _iso(windows.current[0]), "to": _iso(windows.current[1])}
    mixed = _steps_in(diary, windows.current)
    if len(mixed) > 1:
        current["mixed_steps"] = mixed
    compared, worse = {}, []
    for name in MEASURES:
        base = window_points(diary, windows.baseline, name)
        cur = window_points(diary, windows.current, name)
        compared[name], worse_now = _compare(
            name, [v for _, v in base], [v for _, v in cur], windows.comparable
        )
        # The estimate with its interval (diary/reports/effect.py); it needs 7 days a side.
        compared[name]["effect"] = effects.effect(name, base, cur)
        if worse_now:
            worse.append(name)
    part = {
        "baseline": baseline,
        "current": current,
        "comparable": windows.comparable,
        "reason": windows.reason,
        "measures": compared,
    }
    return part, worse


def _steps_in(diary: Diary, window: tuple[int, int]) -> list[float | int]:
    # The dose (mg) in force on each day of the window, in order, each once; 0 before the first step.
    seen: list[float | int] = []
    for o in range(window[0], window[1] + 1):
        step = diary.step_at(o)
        mg = ug_to_mg(step[1]) if step else PRE_TREATMENT_STEP_MG
        if mg not in seen:
            seen.append(mg)
    return seen


def _compare(
    name: str, base: Sequence[float | int], cur: Sequence[float | int], comparable: bool
) -> tuple[dict[str, Any], bool]:
    b, c = _mean_exact(base), _mean_exact(cur)
    change = None if b is None or c is None else c - b
    percent = None if change is None or not b else change / b * 100
    out: dict[str, Any] = {
        "baseline_mean": _round(b),
        "current_mean": _round(c),
        "change": _round(change),
        "percent_change": _round(percent, 1),
    }
    worse = False
    if name in DIRECTED:
        enough = comparable and len(base) >= MIN_WINDOW_DAYS and len(cur) >= MIN_WINDOW_DAYS
        if not enough or b is None or c is None:
            out["classification"] = "insufficient_data"
            out["two_point_change"] = None
        else:
            better, _ = _good_change(name, b, c)
            out["classification"] = classify_change(name, b, c)
            out["two_point_change"] = better >= FARRAR_POINTS
            worse = is_clinically_worse(name, b, c)
    return out, worse


def _good_change(name: str, baseline: Fraction, current: Fraction) -> tuple[Fraction, Fraction]:
    """Return (points, percent) of a change in the measure's good direction (negative: worse).

    With a zero baseline no percentage of it exists; the change is read against
    the scale itself (1 point of 0-10 is 10%).
    """
    measure = measures.BY_NAME[name]
    points = baseline - current if measure.direction == "lower_is_better" else current - baseline
    base = baseline if baseline != 0 else Fraction(measure.maximum - measure.minimum)
    return points, points / base * 100


def classify_change(name: str, baseline_mean: Fraction, current_mean: Fraction) -> str:
    """Classify a baseline -> current change of a 0-10 measure in its own direction.

    IMMPACT bands (Dworkin et al. 2008) for improvement; the project's symmetric
    worsening band; at least 1 point for any class but no_meaningful_change.
    """
    points, percent = _good_change(name, Fraction(baseline_mean), Fraction(current_mean))
    if points >= MIN_CHANGE_POINTS:
        if percent >= IMMPACT_SUBSTANTIAL:
            return "substantial_improvement"
        if percent >= IMMPACT_MODERATE:
            return "moderate_improvement"
        if percent >= IMMPACT_MINIMAL:
            return "minimal_improvement"
    if -points >= MIN_CHANGE_POINTS and -percent >= WORSENING_PERCENT:
        return "worsening"
    return "no_meaningful_change"


def is_clinically_worse(name: str, baseline_mean: Fraction, current_mean: Fraction) -> bool:
    """Say whether a measure moved the bad way by >= 2 points, or by >= 30% and >= 1 point (Farrar)."""
    points, percent = _good_change(name, Fraction(baseline_mean), Fraction(current_mean))
    worse, worse_percent = -points, -percent
    return worse >= FARRAR_POINTS or (worse_percent >= FARRAR_PERCENT and worse >= MIN_CHANGE_POINTS)


# -- doses -----------------------------------------------------------------------------------------


def planned_range(diary: Diary, today: int | None) -> tuple[int, int]:
    """Return the inclusive ordinals of the planned dose days in the period (empty when from > to)."""
    if not diary.steps:
        return diary.hi + 1, diary.hi
    start = max(diary.lo, diary.steps[0][0])
    taken_today = diary.hi in diary.taken_n
    # Today's dose is not missed until today is over.
    end = diary.hi - 1 if diary.hi == today and not taken_today else diary.hi
    return start, end


def dose_status(diary: Diary, ordinal: int, planned_ug: int) -> str:
    """Return what happened on a planned day: on_plan, off_plan, skipped, missed or unrecorded."""
    taken = diary.taken_ug.get(ordinal)
    if taken is not None:
        return "on_plan" if taken == planned_ug else "off_plan"
    if ordinal in diary.plan_doses:
        return "skipped"
    entry = diary.by_day.get(ordinal)
    if ordinal in diary.dosed_days or (entry is not None and _has_content(entry)):
        return "missed"
    return "unrecorded"


def taken_count(diary: Diary, ordinal: int) -> int:
    """Return how many taken doses of the followed medication count for a day."""
    return diary.taken_n.get(ordinal, 0)


def _adherence(diary: Diary, today: int | None) -> dict[str, Any]:
    start, end = planned_range(diary, today)
    counts = dict.fromkeys(("on_plan", "off_plan", "skipped", "missed", "unrecorded"), 0)
    extra, streak, longest = 0, 0, 0
    for o in range(start, end + 1):
        step = diary.step_at(o)
        assert step is not None  # planned days lie on or after the first step
        status = dose_status(diary, o, step[1])
        counts[status] += 1
        if taken_count(diary, o) > 1:
            extra += 1
        if status in ("on_plan", "off_plan"):
            streak = 0
        else:
            streak += 1
            longest = max(longest, streak)
    planned = max(0, end - start + 1)
    taken = counts["on_plan"] + counts["off_plan"]
    recorded = planned - counts["unrecorded"]
    return {
        "planned_days": planned,
        "taken_days": taken,
        "fraction": round(taken / planned, 3) if planned else None,
        "longest_missed_streak": longest,
        "on_plan_days": counts["on_plan"],
        "off_plan_days": counts["off_plan"],
        "extra_dose_days": extra,
        "skipped_days": counts["skipped"],
        "unrecorded_days": counts["unrecorded"],
        "recorded_fraction": round(taken / recorded, 3) if recorded else None,
    }


LEVEL_MEASURES: Final = ("pain", "sleep_quality", "fatigue")


def _levels(diary: Diary, lag_days: int) -> list[tuple[dict[str, Any], list[int]]]:
    """Return each dose level's figures with the days they used.

    Effects of a dose change lag by days (LDN titration practice), so the first
    ``lag_days`` of each step, the first included, are left out; and only
    on-plan days count, so a night at another amount is not filed under the step.
    """
    out = []
    pre = pre_treatment_window(diary.regimen)
    window = (pre[0].toordinal(), pre[1].toordinal()) if pre else None
    baseline = {m: window_points(diary, window, m) for m in MEASURES}
    for i, (start, ug) in enumerate(diary.steps):
        end = diary.steps[i + 1][0] - 1 if i + 1 < len(diary.steps) else diary.hi
        first, last = max(start, diary.lo), min(end, diary.hi)
        if first > last:
            continue
        counted_from = max(first, start + lag_days)
        used = [
            o
            for o in range(counted_from, last + 1)
            if o in diary.by_day and dose_status(diary, o, ug) == "on_plan"
        ]
        enough = len(used) >= MIN_WINDOW_DAYS
        values = {m: window_values_on(diary, used, m) for m in LEVEL_MEASURES}
        out.append(
            (
                {
                    "dose_mg": ug_to_mg(ug),
                    "from": _iso(first),
                    "to": _iso(last),
                    "days": last - first + 1,
                    "days_excluded": min(counted_from, last + 1) - first,
                    "n_days": len(used),
                    "insufficient_data": not enough,
                    "pain_mean": _mean(values["pain"]) if enough else None,
                    "pain_median": _round(statistics.median(values["pain"]))
                    if enough and values["pain"]
                    else None,
                    "sleep_quality_mean": _mean(values["sleep_quality"]) if enough else None,
                    "fatigue_mean": _mean(values["fatigue"]) if enough else None,
                    # Pre-treatment baseline -> this level, per measure (diary/reports/effect.py).
                    "effect": {
                        m: effects.effect(m, baseline[m], points_on(diary, used, m)) for m in MEASURES
                    },
                },
                used,
            )
        )
    return out


def points_on(diary: Diary, days: Iterable[int], name: str) -> list[effects.Point]:
    """Return a measure's (ordinal, value) pairs on the given logged days, skipping days without it."""
    return [(o, v) for o in days if (v := diary.by_day[o].get(name)) is not None]


def window_values_on(diary: Diary, days: Iterable[int], name: str) -> list[float | int]:
    """Return a measure's values on the given days (ordinals), skipping days without it."""
    return [v for _, v in points_on(diary, days, name)]


# -- side effects ----------------------------------------------------------------------------------


def _effect_group(effect: Row) -> tuple[str, str]:
    # (grouping key, display name): "other" side effects are grouped by their note.
    name = str(effect["name"])
    note = " ".join((effect.get("note") or "").split())
    if name != "other" or not note:
        return name, name
    return "other: " + note.casefold(), "other: " + note


def side_effect_names(in_period: Iterable[tuple[int, Row]]) -> dict[str, str]:
    """Return grouping key -> display name for the side effects of the period (first spelling kept)."""
    names: dict[str, str] = {}
    for _, entry in in_period:
        for effect in entry.get("side_effects") or ():
            key, shown = _effect_group(effect)
            names.setdefault(key, shown)
    return names


def _episodes(reports: list[tuple[int, int]], position: dict[int, int], diary: Diary) -> list[dict[str, Any]]:
    # reports: (ordinal, severity rank), oldest first; a new episode starts after
    # EPISODE_GAP_LOGGED_DAYS or more logged days without the side effect.
    groups: list[list[tuple[int, int]]] = []
    for o, rank in reports:
        if groups and position[o] - position[groups[-1][-1][0]] - 1 < EPISODE_GAP_LOGGED_DAYS:
            groups[-1].append((o, rank))
        else:
            groups.append([(o, rank)])
    out = []
    for group in groups:
        start, end = group[0][0], group[-1][0]
        step = diary.step_at(start)
        out.append(
            {
                "start": _iso(start),
                "end": _iso(end),
                "days_reported": len(group),
                "max_severity": SEVERITY_NAMES.get(max(rank for _, rank in group)),
                "dose_mg_at_onset": ug_to_mg(step[1]) if step else None,
                "onset_days_after_step": start - step[0] if step else None,
                "status": "resolved",
            }
        )
    return out


def _present_at_baseline(diary: Diary, key: str) -> bool | None:
    # True when reported in the 14 days before the first step; None when nothing was logged there.
    if not diary.steps:
        return None
    first = diary.steps[0][0]
    logged = False
    for o in range(first - BASELINE_DAYS, first):
        entry = diary.by_day.get(o)
        if entry is None or not _has_content(entry):
            continue
        logged = True
        if any(_effect_group(e)[0] == key for e in entry.get("side_effects") or ()):
            return True
    return False if logged else None


def _side_effects(diary: Diary, in_period: list[tuple[int, Row]], names: dict[str, str]) -> dict[str, Any]:
    reports: dict[str, list[tuple[int, int]]] = {key: [] for key in names}
    for o, entry in in_period:
        for effect in entry.get("side_effects") or ():
            reports[_effect_group(effect)[0]].append((o, SEVERITY_RANK.get(effect.get("severity") or "", 0)))
    logged = [o for o, _ in in_period]
    position = {o: i for i, o in enumerate(logged)}
    out = {}
    for key in sorted(names, key=lambda k: (reports[k][0][0], names[k])):
        days = reports[key]
        last = days[-1][0]
        episodes = _episodes(days, position, diary)
        entries_after = len(logged) - position[last] - 1
        # Resolved: quiet for the last 7 days of the period while the diary
        # went on (at least 3 entries after its last report), so silence is news.
        resolved = last <= diary.hi - RESOLVED_QUIET_DAYS and entries_after >= RESOLVED_MIN_ENTRIES_AFTER
        episodes[-1]["status"] = "resolved" if resolved else "active"
        at_baseline = _present_at_baseline(diary, key)
        on_treatment = [e for e in episodes if e["onset_days_after_step"] is not None]
        onset = None if at_baseline or not on_treatment else on_treatment[0]["onset_days_after_step"]
        out[names[key]] = {
            "days_reported": len(days),
            "first_date": _iso(days[0][0]),
            "last_date": _iso(last),
            "max_severity": SEVERITY_NAMES.get(max(rank for _, rank in days)),
            "onset_days_after_dose_change": onset,
            "status": episodes[-1]["status"],
            "present_at_baseline": at_baseline,
            "episodes": episodes,
        }
    return out


# -- flags -----------------------------------------------------------------------------------------


def opioid_medications(diary: Diary) -> list[str]:
    """Return the opioids beside a naltrexone regimen, as written: other medications, then doses.

    Runs whenever the regimen's medication resolves to naltrexone, however it is
    named; looks at every other medication and every dose logged in the period.
    """
    regimen = diary.regimen
    if not regimen or medications.NALTREXONE not in medications.resolve(regimen["medication"]).substances:
        return []
    texts = list(regimen.get("other_medications") or [])
    texts += [d["medication"] for d in sorted(diary.doses, key=lambda d: d["local_date"])]
    found, seen = [], set()
    for text in dict.fromkeys(texts):  # a dose per night repeats the same few names
        folded = medications.words(text)
        if folded not in seen and medications.is_opioid(text):
            seen.add(folded)
            found.append(text)
    return found


def severe_window(diary: Diary, appointments: Sequence[int]) -> tuple[int, int, int | None]:
    """Return (from, to, last appointment) of the part of the period that severe_side_effect reads.

    After the last appointment before the period's end, else the period's last 30 days.
    """
    earlier = [a for a in appointments if a < diary.hi]
    if earlier:
        last = max(earlier)
        return max(diary.lo, last + 1), diary.hi, last
    return max(diary.lo, diary.hi - SEVERE_WINDOW_DAYS + 1), diary.hi, None


# How the report page groups flags, most urgent first: safety apart from clinical change,
# and data quality (a thin diary) last. A code not named here is a clinical-change flag.
SAFETY_FLAGS: Final = ("opioid_co_medication", "severe_side_effect")
DATA_QUALITY_FLAGS: Final = ("sparse_diary",)
FLAG_GROUPS: Final = (("safety", "Safety"), ("clinical", "Clinical change"), ("data_quality", "Data quality"))


def flag_group(code: str) -> str:
    """Return the group of a flag code: safety, clinical or data_quality."""
    if code in SAFETY_FLAGS:
        return "safety"
    return "data_quality" if code in DATA_QUALITY_FLAGS else "clinical"


def grouped_flags(flags: Iterable[dict[str, str]]) -> list[dict[str, Any]]:
    """Return the report's flags as [{group, title, flags}], safety first, empty groups left out."""
    flags = list(flags)
    out = []
    for group, title in FLAG_GROUPS:
        members = [f for f in flags if flag_group(f["code"]) == group]
        if members:
            out.append({"group": group, "title": title, "flags": members})
    return out


def _flags(
    report: Report,
    diary: Diary,
    worse: list[str],
    in_period: list[tuple[int, Row]],
    names: dict[str, str],
    appointments: list[int],
) -> list[dict[str, str]]:
    flags = []
    opioids = opioid_medications(diary)
    if opioids:
        flags.append(
            {
                "code": "opioid_co_medication",
                "message": f"Opioid alongside naltrexone: {', '.join(opioids)}. Naltrexone blocks opioid "
                "effect and can precipitate withdrawal.",
            }
        )
    comparison = report["baseline_comparison"]["measures"]
    for name in worse:
        m = comparison[name]
        measure = measures.BY_NAME[name]
        assert measure.worsening_flag is not None  # only directed measures get worse
        way = "up" if measure.direction == "lower_is_better" else "down"
        percent = f" ({m['percent_change']:+g}%)" if m["percent_change"] is not None else ""
        flags.append(
            {
                "code": measure.worsening_flag,
                "message": f"{measure.label} {way} {abs(m['change']):g} points{percent} against baseline "
                f"({measure.scale}).",
            }
        )
    adherence = report["doses"]["adherence"]
    recorded = adherence["planned_days"] - adherence["unrecorded_days"]
    if recorded and Fraction(adherence["taken_days"], recorded) < LOW_ADHERENCE:
        unrecorded = adherence["unrecorded_days"]
        flags.append(
            {
                "code": "low_adherence",
                "message": f"Doses taken on {adherence['taken_days']} of {recorded} recorded planned days "
                "(below 80%)" + (f"; {unrecorded} planned days had nothing recorded." if unrecorded else "."),
            }
        )
    start, end, last_visit = severe_window(diary, appointments)
    severe = []
    for o, entry in in_period:
        if start <= o <= end:
            for effect in entry.get("side_effects") or ():
                shown = names[_effect_group(effect)[0]]
                if effect.get("severity") == "severe" and shown not in severe:
                    severe.append(shown)
    if severe:
        since = f"since the last appointment ({_iso(last_visit)})" if last_visit else "in the last 30 days"
        flags.append(
            {
                "code": "severe_side_effect",
                "message": f"Severe side effect {since}: {', '.join(sorted(severe))}.",
            }
        )
    completeness = report["completeness"]
    if Fraction(completeness["days_logged"], completeness["days_in_period"]) < SPARSE_DIARY:
        flags.append(
            {
                "code": "sparse_diary",
                "message": f"Diary kept on {completeness['days_logged']} of "
                f"{completeness['days_in_period']} days (below 50%).",
            }
        )
    return flags


# -- per-day rows ----------------------------------------------------------------------------------


def daily_rows(
    report: Report,
    regimen: Row | None,
    entries: Iterable[Row],
    doses: Iterable[Row],
    today: date | str | None = None,
) -> list[dict[str, Any]]:
    """Return one row per day of a report's period, by the report's own rules (CSV, charts).

    Each row: the measures, the dose taken of the followed medication for that
    planned day (mg) and how many doses, the planned dose, the day's dose status,
    the comparison window it belongs to, side effects with their episode number,
    and notes.
    """
    period = report["period"]
    diary = prepare(report["patient"], regimen, entries, doses, period["from"], period["to"])
    windows = comparison_windows(diary)
    start, end = planned_range(diary, _ordinal(today) if today is not None else None)
    in_period = diary.in_period()
    names = side_effect_names(in_period)
    episode_of = _episode_numbers(report)
    rows = []
    for o in range(diary.lo, diary.hi + 1):
        entry = diary.by_day.get(o) or {}
        step = diary.step_at(o)
        taken_ug = diary.taken_ug.get(o)
        row: dict[str, Any] = {"date": _iso(o)}
        for name in MEASURES:
            row[name] = entry.get(name)
        row["dose_taken_mg"] = ug_to_mg(taken_ug) if taken_ug is not None else None
        row["doses_taken"] = taken_count(diary, o)
        row["planned_dose_mg"] = ug_to_mg(step[1]) if step else None
        row["dose_status"] = dose_status(diary, o, step[1]) if step and start <= o <= end else None
        row["window"] = _window_name(windows, o)
        row["comparable"] = windows.comparable if row["window"] else None
        row["side_effects"] = [
            {
                "name": (shown := names[_effect_group(s)[0]]),
                "severity": s.get("severity"),
                "episode": episode_of.get((shown, o)),
            }
            for s in entry.get("side_effects") or ()
        ]
        row["notes"] = entry.get("notes")
        row["other_notes"] = [
            s["note"] for s in entry.get("side_effects") or () if s.get("name") == "other" and s.get("note")
        ]
        row["logged"] = bool(entry)
        rows.append(row)
    return rows


def _window_name(windows: Windows, ordinal: int) -> str | None:
    if windows.baseline and windows.baseline[0] <= ordinal <= windows.baseline[1]:
        return "baseline"
    if windows.current[0] <= ordinal <= windows.current[1]:
        return "current"
    return None


def _episode_numbers(report: Report) -> dict[tuple[str, int], int]:
    # (side effect, day) -> its episode number (1 = first in the period).
    out = {}
    for name, item in report["side_effects"].items():
        for number, episode in enumerate(item.get("episodes") or (), start=1):
            for o in range(_ordinal(episode["start"]), _ordinal(episode["end"]) + 1):
                out[(name, o)] = number
    return out


def patient_summary(report: Report) -> Report:
    """Return the patient's own view of a report: no per-day series and no clinician flags."""
    return {
        "period": report["period"],
        "regimen": report["regimen"],
        "completeness": report["completeness"],
        "measures": {
            name: {k: v for k, v in m.items() if k not in ("daily", "rolling_7d")}
            for name, m in report["measures"].items()
        },
        "baseline_comparison": report["baseline_comparison"],
        "doses": report["doses"],
        "side_effects": report["side_effects"],
    }
