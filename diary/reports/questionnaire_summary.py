"""The report's ``questionnaires`` section: the PEG series with its change, and the PGIC answers.

Pure: stored responses (``records.response_out`` shape) and the period in, a plain dict out.
"""

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any, Final

from diary import questionnaires

Row = Mapping[str, Any]

# A 30% fall of the PEG score is the meaningful change: IMMPACT, Dworkin RH et al.,
# J Pain 2008;9:105-121 (a 30% reduction in pain is moderately important; applied to the
# PEG, the mean of pain and two pain-interference items, as Krebs et al. 2009 report
# its responsiveness on the same scale).
PEG_MEANINGFUL_PERCENT: Final = 30
# A PEG before the first step counts as the baseline when at most this many days before it (project).
PEG_BASELINE_DAYS: Final = 28
PGIC_OPTIONS: Final = tuple(
    (int(o["value"]), o["text"].lower().replace(" ", "_"))
    for o in questionnaires.INSTRUMENTS["pgic"]["items"][0]["options"]
)
PGIC_RESPONDER_AT_MOST: Final = int(questionnaires.INSTRUMENTS["pgic"]["scoring"]["responder_at_most"])


def summarise(
    responses: Iterable[Row], period_from: str, period_to: str, first_step: str | None
) -> dict[str, Any]:
    """Return ``{peg, pgic}`` for the responses of a period (and the PEG baseline before treatment)."""
    rows = sorted(responses, key=lambda r: (r["date"], r["instrument"]))
    return {
        "peg": _peg([r for r in rows if r["instrument"] == "peg"], period_from, period_to, first_step),
        "pgic": _pgic(
            [r for r in rows if r["instrument"] == "pgic" and period_from <= r["date"] <= period_to]
        ),
    }


def _peg(rows: list[Row], period_from: str, period_to: str, first_step: str | None) -> dict[str, Any]:
    scored = [r for r in rows if r["score"] is not None]
    series = [
        {"date": r["date"], "score": r["score"]} for r in scored if period_from <= r["date"] <= period_to
    ]
    baseline: Row | None = None
    if first_step is not None:
        earliest = (date.fromisoformat(first_step) - timedelta(days=PEG_BASELINE_DAYS)).isoformat()
        before = [r for r in scored if earliest <= r["date"] < first_step]
        baseline = before[-1] if before else None
    if baseline is None and series:
        baseline = series[0]
    current = series[-1] if series else None
    change = percent = meaningful = None
    if baseline is not None and current is not None and current["date"] > baseline["date"]:
        change = round(current["score"] - baseline["score"], 2)
        if baseline["score"]:
            percent = round(change / baseline["score"] * 100, 1)
            meaningful = -percent >= PEG_MEANINGFUL_PERCENT
    return {
        "series": series,
        "baseline_score": baseline["score"] if baseline else None,
        "baseline_date": baseline["date"] if baseline else None,
        "current_score": current["score"] if current else None,
        "current_date": current["date"] if current else None,
        "change": change,
        "percent_change": percent,
        "meaningful": meaningful,
    }


def add_to_days(days: list[dict[str, Any]], responses: Iterable[Row]) -> list[dict[str, Any]]:
    """Give each per-day row its ``peg_score`` and ``pgic`` answer (None when not answered that day)."""
    by_day = {(r["date"], r["instrument"]): r for r in responses}
    for day in days:
        peg, pgic = by_day.get((day["date"], "peg")), by_day.get((day["date"], "pgic"))
        day["peg_score"] = peg["score"] if peg else None
        day["pgic"] = pgic["score"] if pgic else None
    return days


def _pgic(rows: list[Row]) -> dict[str, Any]:
    answered = [r for r in rows if r["score"] is not None]
    counts = {name: 0 for _, name in PGIC_OPTIONS}
    names = dict(PGIC_OPTIONS)
    for r in answered:
        counts[names[int(r["score"])]] += 1
    latest = answered[-1] if answered else None
    return {
        "latest": int(latest["score"]) if latest else None,
        "latest_text": names[int(latest["score"])] if latest else None,
        "latest_date": latest["date"] if latest else None,
        "counts": counts,
        "responder": int(latest["score"]) <= PGIC_RESPONDER_AT_MOST if latest else None,
    }
