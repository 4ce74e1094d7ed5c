"""Treatment-effect estimate of one measure, with an interval that respects autocorrelation.

Pure: two lists of (day ordinal, value) in, one plain dict out.

Diary days are not independent (a bad week is not seven independent bad days),
so an interval that treats them as independent is too narrow. The estimate is
the difference of the two means (the least-squares fit of the measure on a
treatment indicator); its standard error comes from an AR(1) model of the
day-to-day errors:

- the lag-1 autocorrelation is estimated once from both segments' residuals
  (pairs of consecutive calendar days only, so a missing day breaks a pair),
  corrected for its small-sample bias by (1 + 3 rho) / n (Kendall 1954;
  Marriott & Pope 1954, Biometrika 41:390-402) and kept within [0, 0.95]
  (a negative estimate from a short diary would narrow the interval);
- the variance of a segment's mean is sigma^2 / n^2 * sum_ij rho^|t_i - t_j|
  over its logged days, so gaps are accounted for;
- sigma^2 is the pooled residual sum of squares over sum_k (n_k - c_k), with
  c_k = sum_ij rho^|t_i - t_j| / n_k, which removes the downward bias that
  subtracting an autocorrelated segment's mean leaves;
- the interval is Student's t with the effective number of days less two as
  degrees of freedom (n_k / c_k per segment).

This is the effective-sample-size correction for short autocorrelated series
described by Bence JR, Ecology 1995;76(2):628-639. Its coverage is checked by
simulation in tests/reports/test_effect.py (AR(1) noise, lag-1 correlation 0.5).
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from scipy import signal, special

from diary import measures

Point = tuple[int, float | int]  # (day ordinal, value)

METHOD: Final = "mean_difference_ar1"
LEVEL: Final = 0.95
# Fewer logged days than this on either side: no estimate (issue 12).
MIN_EFFECT_DAYS: Final = 7
RHO_MAX: Final = 0.95
# The meaningful change: 30% of the baseline mean in the measure's good direction
# (IMMPACT, Dworkin RH et al., J Pain 2008;9:105-121: a 30% fall in pain is moderately
# important), or for pain 2 points when that is less (Farrar JT et al., Pain 2001;94:149-158).
MEANINGFUL_FRACTION: Final = 0.3
PAIN_MEANINGFUL_POINTS: Final = 2.0

KEYS: Final = (
    "insufficient_data",
    "estimate",
    "ci_low",
    "ci_high",
    "method",
    "n_baseline_days",
    "n_treatment_days",
    "autocorrelation",
    "meaningful",
)


# Segments up to this many days are worked in plain Python (numpy's per-call overhead would
# dominate a 14-day window); longer ones with numpy and one scipy filter pass. Same results.
SMALL: Final = 48


@dataclass(frozen=True)
class Segment:
    """One side's logged days: their count, mean, residual sum of squares and lag-1 sums."""

    days: Sequence[int]
    n: int
    mean: float
    ss: float
    lag_products: float  # sum of residual products over pairs of consecutive calendar days
    pairs: int


def segment(points: Sequence[Point], small: int = SMALL) -> Segment:
    """Return a side's figures from its (day, value) points, sorted by day."""
    n = len(points)
    if n <= small:
        days = [d for d, _ in points]
        mean = sum(v for _, v in points) / n
        res = [float(v) - mean for _, v in points]
        adjacent = [i for i in range(1, n) if days[i] - days[i - 1] == 1]
        return Segment(
            days,
            n,
            mean,
            sum(r * r for r in res),
            sum(res[i] * res[i - 1] for i in adjacent),
            len(adjacent),
        )
    array = np.array(points, dtype=np.float64)
    day_array, values = array[:, 0].astype(np.int64), array[:, 1]
    mean = float(values.mean())
    residuals = values - mean
    next_day = np.diff(day_array) == 1
    return Segment(
        day_array.tolist(),
        n,
        mean,
        float(np.dot(residuals, residuals)),
        float(np.dot(residuals[1:][next_day], residuals[:-1][next_day])),
        int(np.count_nonzero(next_day)),
    )


def pair_sum(days: Sequence[int], rho: float, small: int = SMALL) -> float:
    """Return sum over i, j of rho ** |t_i - t_j| for sorted days.

    Short: one pass of s_j = rho ** (t_j - t_{j-1}) * (s_{j-1} + 1). Long: on the daily
    grid x (1 on a logged day), u_d = rho * (u_{d-1} + x_{d-1}) is the sum over earlier
    logged days of rho ** (d - t_i): one IIR filter pass (scipy.signal.lfilter).
    """
    if rho == 0 or len(days) == 1:
        return float(len(days))
    if len(days) <= small:
        total, running = float(len(days)), 0.0
        for previous, day in zip(days, days[1:]):
            running = rho ** (day - previous) * (running + 1.0)
            total += 2.0 * running
        return total
    present = np.zeros(days[-1] - days[0] + 1)
    present[np.asarray(days) - days[0]] = 1.0
    earlier = signal.lfilter([0.0, rho], [1.0, -rho], present)
    return float(len(days) + 2.0 * np.dot(present, earlier))


def mean_difference(
    baseline: Sequence[Point], treatment: Sequence[Point], small: int = SMALL
) -> dict[str, float]:
    """Return estimate, interval, autocorrelation, effective days of treatment mean - baseline mean.

    Both segments need at least two days each, sorted by day. The lag-1
    autocorrelation is pooled over both sides' residuals (consecutive days only).
    """
    sides = [segment(baseline, small), segment(treatment, small)]
    n = sum(s.n for s in sides)
    ss = sum(s.ss for s in sides)
    pairs = sum(s.pairs for s in sides)
    raw = (sum(s.lag_products for s in sides) / pairs) / (ss / n) if pairs and ss else 0.0
    rho = min(max(raw + (1 + 3 * raw) / n, 0.0), RHO_MAX)
    factors = [pair_sum(s.days, rho, small) / s.n for s in sides]
    variance_scale = sum(c / s.n for c, s in zip(factors, sides))
    effective = sum(s.n / c for c, s in zip(factors, sides))
    sigma2 = ss / sum(s.n - c for c, s in zip(factors, sides))
    estimate = sides[1].mean - sides[0].mean
    half = float(special.stdtrit(max(effective - 2.0, 1.0), 0.5 + LEVEL / 2)) * math.sqrt(
        sigma2 * variance_scale
    )
    return {
        "estimate": estimate,
        "ci_low": estimate - half,
        "ci_high": estimate + half,
        "autocorrelation": rho,
        "effective_days": effective,
    }


def meaningful_change(name: str, baseline_mean: float) -> float:
    """Return the smallest meaningful change of a measure, in points, from its baseline mean.

    30% of the baseline mean (against the 0-10 scale when the baseline is 0), or
    2 points for pain when that is less.
    """
    measure = measures.BY_NAME[name]
    base = baseline_mean if baseline_mean else float(measure.maximum - measure.minimum)
    threshold = MEANINGFUL_FRACTION * abs(base)
    return min(threshold, PAIN_MEANINGFUL_POINTS) if name == "pain" else threshold


def insufficient(n_baseline: int, n_treatment: int) -> dict[str, Any]:
    """Return the effect of a measure with too few days on a side: every figure null."""
    out: dict[str, Any] = dict.fromkeys(KEYS)
    out.update(insufficient_data=True, n_baseline_days=n_baseline, n_treatment_days=n_treatment)
    return out


def effect(name: str, baseline: Sequence[Point], treatment: Sequence[Point]) -> dict[str, Any]:
    """Return the report's ``effect`` of a measure: treatment mean - baseline mean with its 95% interval.

    ``meaningful``: the whole interval lies beyond the meaningful change in the
    measure's good direction (null for a measure without a direction).
    """
    if min(len(baseline), len(treatment)) < MIN_EFFECT_DAYS:
        return insufficient(len(baseline), len(treatment))
    fit = mean_difference(baseline, treatment)
    direction = measures.DIRECTIONS[name]
    meaningful: bool | None = None
    if direction is not None:
        threshold = meaningful_change(name, sum(v for _, v in baseline) / len(baseline))
        if direction == "lower_is_better":
            meaningful = fit["ci_high"] <= -threshold
        else:
            meaningful = fit["ci_low"] >= threshold
    return {
        "insufficient_data": False,
        "estimate": round(fit["estimate"], 2),
        "ci_low": round(fit["ci_low"], 2),
        "ci_high": round(fit["ci_high"], 2),
        "method": METHOD,
        "n_baseline_days": len(baseline),
        "n_treatment_days": len(treatment),
        "autocorrelation": round(fit["autocorrelation"], 3),
        "meaningful": meaningful,
    }


def _amount(value: float, unit: str) -> str:
    text = f"{abs(value):.1f}"
    return f"{text} {'point' if text == '1.0' else 'points'}" if unit == "score" else f"{text} {unit}"


def describe(name: str, fit: Mapping[str, Any]) -> str:
    """Say an effect in words a clinician can read aloud.

    "Pain fell by 2.1 points, 95% interval 1.4 to 2.8." A rise or fall is named
    only when the whole interval lies that way; otherwise the interval is given
    with signs and said to include no change.
    """
    measure = measures.BY_NAME[name]
    if fit.get("insufficient_data") or fit.get("estimate") is None:
        return (
            f"{measure.label}: too few days for an estimate ({MIN_EFFECT_DAYS} needed on each side; "
            f"{fit.get('n_baseline_days', 0)} before, {fit.get('n_treatment_days', 0)} after)."
        )
    estimate, low, high = float(fit["estimate"]), float(fit["ci_low"]), float(fit["ci_high"])
    unit = measure.unit
    if low > 0 or high < 0:
        way = "rose" if estimate > 0 else "fell"
        near, far = sorted((abs(low), abs(high)))
        words = f"{measure.label} {way} by {_amount(estimate, unit)}, 95% interval {near:.1f} to {far:.1f}"
    else:
        unit_words = "points" if unit == "score" else unit
        words = (
            f"{measure.label} changed by {estimate:+.1f} {unit_words}, 95% interval {low:+.1f} to "
            f"{high:+.1f}: the interval includes no change"
        )
    if fit.get("meaningful"):
        words += "; the whole interval is a clinically meaningful improvement"
    return words + "."
