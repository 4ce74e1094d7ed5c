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
- ``doses``: ``{id, medication, amount_ug, local_date, status}``.
"""

import bisect
import functools
import re
import statistics
from datetime import date, timedelta
from fractions import Fraction

from diary.units import ug_to_mg

MEASURES = ("pain", "pain_worst", "fatigue", "mood", "sleep_quality", "function", "sleep_hours")
# Scales as the entry schema documents them: pain and fatigue 0 none - 10 worst;
# mood, sleep quality and function 0 worst - 10 best; more sleep is counted better.
DIRECTIONS = {
    "pain": "lower_is_better",
    "pain_worst": "lower_is_better",
    "fatigue": "lower_is_better",
    "mood": "higher_is_better",
    "sleep_quality": "higher_is_better",
    "function": "higher_is_better",
    "sleep_hours": "higher_is_better",
}
CLASSIFIED_MEASURES = ("pain", "pain_worst")

BASELINE_DAYS = 14
CURRENT_DAYS = 14
# Fewer logged days than this in either window: a mean of 1-3 days says too
# little about a fluctuating chronic pain score to classify a change.
MIN_WINDOW_DAYS = 4
ROLLING_DAYS = 7
# A 7-day mean needs more than half of its days; fewer would let one
# logged day pose as a weekly average.
MIN_ROLLING_VALUES = 4
DEFAULT_PERIOD_DAYS = 90
DEFAULT_LAG_DAYS = 3

# IMMPACT recommendations for interpreting clinical importance of treatment
# outcomes in chronic pain trials: Dworkin RH et al., J Pain 2008;9(2):105-121.
# Percent reduction in 0-10 pain intensity: >= 10% minimally, >= 30% moderately,
# >= 50% substantially important.
IMMPACT_SUBSTANTIAL = 50
IMMPACT_MODERATE = 30
IMMPACT_MINIMAL = 10
WORSENING_PERCENT = 10
# With a zero baseline no percentage exists; the change is read against the
# 0-10 scale itself, so 10% of the scale (1 point) up counts as worsening.
ZERO_BASELINE_WORSENING_POINTS = 1
# Farrar JT et al., Pain 2001;94(2):149-158: a reduction of about 2 points
# (or 30%) on the 0-10 numerical rating scale is clinically important.
FARRAR_POINTS = 2

PAIN_WORSENING_PERCENT = 30
PAIN_WORSENING_POINTS = 2
LOW_ADHERENCE = Fraction(8, 10)
SPARSE_DIARY = Fraction(1, 2)
SEVERE_WINDOW_DAYS = 7
RESOLVED_QUIET_DAYS = 7
RESOLVED_MIN_ENTRIES_AFTER = 3
SEVERITY_RANK = {"mild": 1, "moderate": 2, "severe": 3}
SEVERITY_NAMES = {rank: name for name, rank in SEVERITY_RANK.items()}

# Ordinal 1 (0001-01-01) is a Monday, so (ordinal - 1) % 7 is the ISO weekday - 1.
_WORD_RE = re.compile(r"[a-z0-9]+")


def _ordinal(day):
    if isinstance(day, date):
        return day.toordinal()
    return date.fromisoformat(day).toordinal()


def _iso(ordinal):
    return date.fromordinal(ordinal).isoformat()


def _round(value, places=2):
    return None if value is None else round(float(value), places)


def _exact(value):
    # Decimal text of a float (sleep hours have at most 2 decimals) as an exact fraction,
    # so band edges such as exactly 30% compare exactly.
    return Fraction(str(value)) if isinstance(value, float) else Fraction(value)


def _mean_exact(values):
    return sum(_exact(v) for v in values) / len(values) if values else None


@functools.lru_cache(maxsize=1024)
def normalize_name(text):
    """Lower-case a medication or side-effect name to single-spaced words."""
    return " ".join(_WORD_RE.findall((text or "").lower()))


def find_opioids(names, terms):
    """Return the names among ``names`` that contain an opioid term as whole words."""
    found = []
    for name in names:
        padded = " " + normalize_name(name) + " "
        if any(" " + term + " " in padded for term in terms):
            found.append(name)
    return found


def default_period(today, appointment_days, days=DEFAULT_PERIOD_DAYS):
    """Return (from, to): from the last appointment day before today, else the last 90 days, to today."""
    earlier = [d for d in appointment_days if d < today]
    start = max(earlier) if earlier else today - timedelta(days=days - 1)
    return start, today


def baseline_window(regimen, first_entry_day, pre_treatment_logged):
    """Return (from, to, source) of the baseline window as dates, or None without any entry.

    ``pre_treatment_logged`` says whether any entry lies in the 14 days before the
    first regimen step; without it the diary's own first 14 days stand in.
    """
    steps = _steps(regimen)
    if steps and pre_treatment_logged:
        first = steps[0][0]
        return date.fromordinal(first - BASELINE_DAYS), date.fromordinal(first - 1), "pre_treatment"
    if first_entry_day is None:
        return None
    start = _ordinal(first_entry_day)
    return date.fromordinal(start), date.fromordinal(start + BASELINE_DAYS - 1), "first_days"


def pre_treatment_window(regimen):
    """Return (from, to) dates of the 14 days before the first regimen step, or None."""
    steps = _steps(regimen)
    if not steps:
        return None
    first = steps[0][0]
    return date.fromordinal(first - BASELINE_DAYS), date.fromordinal(first - 1)


def _steps(regimen):
    if not regimen or not regimen.get("steps"):
        return []
    return sorted((_ordinal(s["start_date"]), s["dose_ug"]) for s in regimen["steps"])


def tracked_medication(regimen, doses):
    """Return the normalised medication a report follows: the regimen's, else the most logged."""
    if regimen and regimen.get("medication"):
        return normalize_name(regimen["medication"])
    counts = {}
    for dose in doses:
        if dose.get("status") == "taken" and not dose.get("deleted"):
            name = normalize_name(dose["medication"])
            counts[name] = counts.get(name, 0) + 1
    return max(sorted(counts), key=counts.get) if counts else None


def build_report(
    patient,
    regimen,
    entries,
    doses,
    period_from,
    period_to,
    *,
    lag_days=DEFAULT_LAG_DAYS,
    opioids=frozenset(),
    today=None,
    series=True,
):
    """Build the report structure for a patient's rows over an inclusive period.

    ``today`` (the patient's local date, when known) keeps a bedtime dose that
    is simply not due yet from counting as missed. ``series=False`` leaves out
    the per-measure statistics and series (half the work), for lists that only
    show flags.
    """
    lo, hi = _ordinal(period_from), _ordinal(period_to)
    if hi < lo:
        raise ValueError("period ends before it starts")
    names = [_iso(o) for o in range(lo, hi + 1)]
    weeks = _weeks(lo, hi)
    by_day = {}
    for entry in entries:
        if not entry.get("deleted"):
            by_day[_ordinal(entry["date"])] = entry
    in_period = sorted((o, e) for o, e in by_day.items() if lo <= o <= hi)
    steps = _steps(regimen)
    live_doses = [d for d in doses if not d.get("deleted")]

    completeness = _completeness(in_period, lo, hi)
    comparison = _baseline_comparison(by_day, regimen, steps, hi, max(lo, hi - CURRENT_DAYS + 1))
    dose_part = _doses(
        regimen, steps, live_doses, by_day, lo, hi, lag_days, _ordinal(today) if today is not None else None
    )
    side_effects = _side_effects(in_period, steps, hi)
    report = {
        "patient": {
            "id": patient["id"],
            "display_name": patient["display_name"],
            "timezone": patient["timezone"],
        },
        "period": {"from": names[0], "to": names[-1], "days": hi - lo + 1},
        "regimen": _regimen_out(regimen, steps),
        "completeness": completeness,
        "measures": {m: _measure(m, in_period, lo, hi, names, weeks) for m in MEASURES} if series else None,
        "baseline_comparison": comparison,
        "doses": dose_part,
        "side_effects": side_effects,
    }
    report["flags"] = _flags(report, regimen, steps, live_doses, in_period, lo, hi, opioids)
    return report


def _regimen_out(regimen, steps):
    if not regimen:
        return None
    return {
        "medication": regimen["medication"],
        "steps": [{"start_date": _iso(o), "dose_mg": ug_to_mg(ug)} for o, ug in steps],
    }


def _completeness(in_period, lo, hi):
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


def _measure(name, in_period, lo, hi, names, weeks):
    pairs = [(o, e[name]) for o, e in in_period if e.get(name) is not None]
    values = [v for _, v in pairs]
    n = len(values)
    daily = [{"date": names[o - lo], "value": v} for o, v in pairs]
    slots = [None] * (hi - lo + 1)
    for o, v in pairs:
        slots[o - lo] = v
    return {
        "direction": DIRECTIONS[name],
        "n": n,
        "mean": round(sum(values) / n, 2) if n else None,
        "median": _round(statistics.median(values)) if n else None,
        "min": min(values) if n else None,
        "max": max(values) if n else None,
        "daily": daily,
        "rolling_7d": _rolling(slots, names),
        "weekly": _weekly(slots, lo, weeks),
    }


def _rolling(slots, names):
    # Trailing window of ROLLING_DAYS calendar days ending on each day of the period;
    # missing days are skipped, never counted as zero.
    out, total, count = [], 0, 0
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


def _weeks(lo, hi):
    # ISO weeks (Monday start) that touch the period, as (monday ordinal, its date text).
    first_monday = lo - (lo - 1) % 7
    return [(monday, _iso(monday)) for monday in range(first_monday, hi + 1, 7)]


def _weekly(slots, lo, weeks):
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


def _window_values(by_day, start, end, name):
    values = []
    for o in range(start, end + 1):
        entry = by_day.get(o)
        if entry is not None and entry.get(name) is not None:
            values.append(entry[name])
    return values


def _baseline_comparison(by_day, regimen, steps, hi, current_from):
    pre = pre_treatment_window(regimen)
    pre_logged = pre is not None and any(
        pre[0].toordinal() <= o <= pre[1].toordinal() for o in by_day if o <= hi
    )
    first_entry = min((o for o in by_day if o <= hi), default=None)
    window = baseline_window(
        regimen, None if first_entry is None else date.fromordinal(first_entry), pre_logged
    )
    current = {"from": _iso(current_from), "to": _iso(hi)}
    if window is None:
        baseline = {"from": None, "to": None, "source": "first_days"}
        b_lo, b_hi = 1, 0
    else:
        baseline = {"from": window[0].isoformat(), "to": window[1].isoformat(), "source": window[2]}
        b_lo, b_hi = window[0].toordinal(), min(window[1].toordinal(), hi)
    measures = {}
    for name in MEASURES:
        base = _window_values(by_day, b_lo, b_hi, name)
        cur = _window_values(by_day, current_from, hi, name)
        measures[name] = _compare(name, base, cur)
    return {"baseline": baseline, "current": current, "measures": measures}


def _compare(name, base, cur):
    b, c = _mean_exact(base), _mean_exact(cur)
    change = None if b is None or c is None else c - b
    percent = None if change is None or b == 0 else change / b * 100
    out = {
        "baseline_mean": _round(b),
        "current_mean": _round(c),
        "change": _round(change),
        "percent_change": _round(percent, 1),
    }
    if name in CLASSIFIED_MEASURES:
        out["classification"] = classify_pain_change(b, c, len(base), len(cur))
        out["two_point_change"] = (
            None if out["classification"] == "insufficient_data" else change <= -FARRAR_POINTS
        )
    return out


def classify_pain_change(baseline_mean, current_mean, baseline_n, current_n):
    """Classify a 0-10 pain change after IMMPACT (Dworkin et al. 2008)."""
    if baseline_n < MIN_WINDOW_DAYS or current_n < MIN_WINDOW_DAYS:
        return "insufficient_data"
    b, c = Fraction(baseline_mean), Fraction(current_mean)
    change = c - b
    if b == 0:
        return "worsening" if change >= ZERO_BASELINE_WORSENING_POINTS else "no_meaningful_change"
    percent = change / b * 100
    if percent <= -IMMPACT_SUBSTANTIAL:
        return "substantial_improvement"
    if percent <= -IMMPACT_MODERATE:
        return "moderate_improvement"
    if percent <= -IMMPACT_MINIMAL:
        return "minimal_improvement"
    if percent >= WORSENING_PERCENT:
        return "worsening"
    return "no_meaningful_change"


def _taken_days(doses, medication):
    days = {}
    for dose in doses:
        if dose["status"] == "taken" and normalize_name(dose["medication"]) == medication:
            o = _ordinal(dose["local_date"])
            days[o] = days.get(o, 0) + dose["amount_ug"]
    return days


def _doses(regimen, steps, doses, by_day, lo, hi, lag_days, today=None):
    medication = tracked_medication(regimen, doses)
    taken = _taken_days(doses, medication) if medication else {}
    planned_from = max(lo, steps[0][0]) if steps else hi + 1
    # Today's dose is not missed until today is over.
    planned_to = hi - 1 if hi == today and hi not in taken else hi
    planned = max(0, planned_to - planned_from + 1)
    taken_count, streak, longest = 0, 0, 0
    for o in range(planned_from, planned_to + 1):
        if o in taken:
            taken_count += 1
            streak = 0
        else:
            streak += 1
            longest = max(longest, streak)
    adherence = {
        "planned_days": planned,
        "taken_days": taken_count,
        "fraction": round(taken_count / planned, 3) if planned else None,
        "longest_missed_streak": longest,
    }
    return {"adherence": adherence, "levels": _levels(steps, by_day, lo, hi, lag_days)}


def _levels(steps, by_day, lo, hi, lag_days):
    # Effects of a dose change lag by days (LDN titration practice), so the
    # first lag_days of each step, the first included, are left out of its figures.
    levels = []
    for i, (start, ug) in enumerate(steps):
        end = steps[i + 1][0] - 1 if i + 1 < len(steps) else hi
        first, last = max(start, lo), min(end, hi)
        if first > last:
            continue
        counted_from = max(first, start + lag_days)
        pain, sleep, fatigue = [], [], []
        for o in range(counted_from, last + 1):
            entry = by_day.get(o)
            if entry is None:
                continue
            if entry.get("pain") is not None:
                pain.append(entry["pain"])
            if entry.get("sleep_quality") is not None:
                sleep.append(entry["sleep_quality"])
            if entry.get("fatigue") is not None:
                fatigue.append(entry["fatigue"])
        levels.append(
            {
                "dose_mg": ug_to_mg(ug),
                "from": _iso(first),
                "to": _iso(last),
                "days": last - first + 1,
                "days_excluded": min(counted_from, last + 1) - first,
                "pain_mean": round(sum(pain) / len(pain), 2) if pain else None,
                "pain_median": _round(statistics.median(pain)) if pain else None,
                "sleep_quality_mean": round(sum(sleep) / len(sleep), 2) if sleep else None,
                "fatigue_mean": round(sum(fatigue) / len(fatigue), 2) if fatigue else None,
            }
        )
    return levels


def _side_effects(in_period, steps, hi):
    found = {}
    for o, entry in in_period:
        for effect in entry.get("side_effects") or ():
            name = effect["name"]
            rank = SEVERITY_RANK.get(effect.get("severity"), 0)
            item = found.get(name)
            if item is None:
                found[name] = [1, o, o, rank]
            else:
                item[0] += 1
                item[2] = o
                item[3] = max(item[3], rank)
    step_starts = [s for s, _ in steps]
    logged = [o for o, _ in in_period]
    out = {}
    for name, (count, first, last, rank) in sorted(found.items(), key=lambda kv: (kv[1][1], kv[0])):
        i = bisect.bisect_right(step_starts, first)
        onset = first - step_starts[i - 1] if i else None
        entries_after = len(logged) - bisect.bisect_right(logged, last)
        # Resolved: quiet for the last 7 days of the period while the diary
        # went on (at least 3 entries after its last report), so silence is news.
        resolved = last <= hi - RESOLVED_QUIET_DAYS and entries_after >= RESOLVED_MIN_ENTRIES_AFTER
        out[name] = {
            "days_reported": count,
            "first_date": _iso(first),
            "last_date": _iso(last),
            "max_severity": SEVERITY_NAMES.get(rank),
            "onset_days_after_dose_change": onset,
            "status": "resolved" if resolved else "active",
        }
    return out


def _flags(report, regimen, steps, doses, in_period, lo, hi, opioids):
    flags = []
    on_naltrexone = bool(regimen and steps and "naltrexone" in normalize_name(regimen["medication"]).split())
    if on_naltrexone:
        treated_from = max(lo, steps[0][0])
        dosed = sorted(
            {
                d["medication"]
                for d in doses
                if d["status"] == "taken" and treated_from <= _ordinal(d["local_date"]) <= hi
            }
        )
        found = find_opioids(dosed, opioids) + find_opioids(regimen.get("other_medications") or [], opioids)
        if found:
            names = ", ".join(sorted(set(found), key=str.lower))
            flags.append(
                {
                    "code": "opioid_co_medication",
                    "message": f"Opioid alongside naltrexone: {names}. Naltrexone blocks opioid "
                    "effect and can precipitate withdrawal.",
                }
            )
    pain = report["baseline_comparison"]["measures"]["pain"]
    if pain["classification"] != "insufficient_data":
        change, percent = pain["change"], pain["percent_change"]
        if change >= PAIN_WORSENING_POINTS or (percent is not None and percent >= PAIN_WORSENING_PERCENT):
            flags.append(
                {
                    "code": "pain_worsening",
                    "message": f"Pain up {change:+g} points"
                    + (f" ({percent:+g}%)" if percent is not None else "")
                    + " against baseline.",
                }
            )
    adherence = report["doses"]["adherence"]
    if (
        adherence["planned_days"]
        and Fraction(adherence["taken_days"], adherence["planned_days"]) < LOW_ADHERENCE
    ):
        flags.append(
            {
                "code": "low_adherence",
                "message": f"Doses taken on {adherence['taken_days']} of "
                f"{adherence['planned_days']} planned days (below 80%).",
            }
        )
    recent_from = hi - SEVERE_WINDOW_DAYS + 1
    severe = sorted(
        {
            effect["name"]
            for o, e in in_period
            if o >= recent_from
            for effect in e.get("side_effects") or ()
            if effect.get("severity") == "severe"
        }
    )
    if severe:
        flags.append(
            {
                "code": "severe_side_effect",
                "message": f"Severe side effect in the last 7 days: {', '.join(severe)}.",
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


def daily_rows(regimen, entries, doses, period_from, period_to):
    """Return one row per day of the period: measures, taken and planned dose (mg), side effects, notes."""
    lo, hi = _ordinal(period_from), _ordinal(period_to)
    by_day = {_ordinal(e["date"]): e for e in entries if not e.get("deleted")}
    live = [d for d in doses if not d.get("deleted")]
    medication = tracked_medication(regimen, live)
    taken = _taken_days(live, medication) if medication else {}
    steps = _steps(regimen)
    starts = [s for s, _ in steps]
    rows = []
    for o in range(lo, hi + 1):
        entry = by_day.get(o) or {}
        i = bisect.bisect_right(starts, o)
        row = {"date": _iso(o)}
        for name in MEASURES:
            row[name] = entry.get(name)
        row["dose_taken_mg"] = ug_to_mg(taken[o]) if o in taken else None
        row["planned_dose_mg"] = ug_to_mg(steps[i - 1][1]) if i else None
        row["side_effects"] = [
            {"name": s["name"], "severity": s.get("severity")} for s in entry.get("side_effects") or ()
        ]
        row["notes"] = entry.get("notes")
        row["logged"] = bool(entry)
        rows.append(row)
    return rows


def patient_summary(report):
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
