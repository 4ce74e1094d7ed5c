"""The treatment-effect estimate (diary/reports/effect.py): its interval, by hand and by simulation."""

import math
from datetime import date, timedelta

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from diary.reports import effect as effects
from diary.reports.analysis import build_report

PATIENT = {"id": "p1", "display_name": "Ann", "timezone": "Europe/London"}
START = date(2026, 3, 2)


def points(values, first=0):
    return [(first + i, v) for i, v in enumerate(values) if v is not None]


# -- by hand and against independent fits ----------------------------------------------------------


def test_with_no_autocorrelation_the_interval_is_the_classic_two_sample_t_interval():
    # Alternating days: the lag-1 estimate is strongly negative, so it is held at 0 and the
    # interval is Student's pooled two-sample interval (scipy's ttest_ind, worked independently).
    base = [6, 4, 6, 4, 6, 4, 6, 4]
    treat = [3, 1, 3, 1, 3, 1, 3, 1, 3]
    out = effects.effect("pain", points(base), points(treat, 20))
    ci = stats.ttest_ind(treat, base, equal_var=True).confidence_interval(0.95)
    assert out["autocorrelation"] == 0
    assert out["estimate"] == round(19 / 9 - 5, 2)
    assert (out["ci_low"], out["ci_high"]) == (round(ci.low, 2), round(ci.high, 2))
    assert (out["n_baseline_days"], out["n_treatment_days"], out["method"]) == (8, 9, "mean_difference_ar1")


def test_the_variance_is_the_ols_variance_under_an_ar1_error_covariance_with_gaps():
    rng = np.random.default_rng(7)
    days_b = [0, 1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 13]
    days_t = [20 + d for d in range(40) if d % 6 != 3]
    y = list(np.round(rng.normal(5, 1.5, len(days_b) + len(days_t)) + np.linspace(0, 3, 12 + len(days_t)), 1))
    base, treat = list(zip(days_b, y[: len(days_b)])), list(zip(days_t, y[len(days_b) :]))
    fit = effects.mean_difference(base, treat)
    rho = fit["autocorrelation"]
    assert 0 < rho < effects.RHO_MAX
    # The same model written out densely: OLS on a treatment indicator (statsmodels), and the
    # sandwich (X'X)^-1 X' S X (X'X)^-1 with S_ij = sigma^2 rho^|t_i - t_j|.
    t = np.array(days_b + days_t, dtype=float)
    x = sm.add_constant(np.r_[np.zeros(len(days_b)), np.ones(len(days_t))])
    ols = sm.OLS(np.array(y), x).fit()
    assert ols.params[1] == pytest.approx(fit["estimate"])
    corr = rho ** np.abs(t[:, None] - t[None, :])
    blocks = [slice(0, len(days_b)), slice(len(days_b), None)]
    c = [corr[b, b].sum() / corr[b, b].shape[0] for b in blocks]
    sigma2 = ols.ssr / sum(corr[b, b].shape[0] - ck for b, ck in zip(blocks, c))
    cov = sigma2 * corr
    # The segments are modelled apart: no covariance is assumed across the gap between them.
    cov_within = np.zeros_like(cov)
    for b in blocks:
        cov_within[b, b] = cov[b, b]
    bread = np.linalg.inv(x.T @ x)
    sandwich = bread @ x.T @ cov_within @ x @ bread
    q = stats.t.ppf(0.975, fit["effective_days"] - 2)
    assert fit["ci_high"] - fit["estimate"] == pytest.approx(q * math.sqrt(sandwich[1, 1]))
    # Effective days: n_k^2 / sum_ij rho^|t_i - t_j| per segment.
    assert fit["effective_days"] == pytest.approx(
        sum(corr[b, b].shape[0] ** 2 / corr[b, b].sum() for b in blocks)
    )


def test_the_plain_python_and_the_numpy_paths_agree():
    # Short sides are worked in plain Python, long ones with numpy and scipy.signal.lfilter.
    rng = np.random.default_rng(3)
    base = [(d, int(v)) for d, v in zip(range(14), rng.integers(3, 9, 14)) if d != 5]
    treat = [(d, int(v)) for d, v in zip(range(20, 260), rng.integers(1, 8, 240)) if d % 9 and d % 13]
    plain = effects.mean_difference(base, treat, small=10**6)
    vectorised = effects.mean_difference(base, treat, small=0)
    assert plain.keys() == vectorised.keys()
    for key in plain:
        assert plain[key] == pytest.approx(vectorised[key], rel=1e-9), key


def test_under_seven_days_on_a_side_there_is_no_estimate():
    out = effects.effect("pain", points([5] * 6), points([3] * 30, 20))
    assert out == {
        "insufficient_data": True,
        "estimate": None,
        "ci_low": None,
        "ci_high": None,
        "method": None,
        "n_baseline_days": 6,
        "n_treatment_days": 30,
        "autocorrelation": None,
        "meaningful": None,
    }
    assert effects.effect("mood", points([5] * 7), points([5, None] * 6, 20))["insufficient_data"]


@pytest.mark.parametrize(
    ("name", "base", "treat", "meaningful"),
    [
        # Pain 6 -> 3: threshold min(30% of 6 = 1.8, 2) = 1.8 points; the interval lies past -1.8.
        ("pain", [6, 7, 6, 5, 6, 7, 6, 5], [3, 3, 4, 3, 2, 3, 3, 4, 3, 2], True),
        # Pain 8 -> 6.5: threshold min(30% of 8 = 2.4, 2) = 2 points; 1.5 is not beyond it.
        ("pain", [8, 8, 7, 9, 8, 8, 7, 9], [6, 7, 6, 7, 6, 7, 6, 7], False),
        # Mood rising 3 -> 6 (higher is better): beyond 30% of 3 = 0.9 points.
        ("mood", [3, 3, 2, 4, 3, 3, 2, 4], [6, 6, 5, 7, 6, 6, 5, 7], True),
        # Fatigue rising is the bad direction: never meaningful.
        ("fatigue", [3, 3, 2, 4, 3, 3, 2, 4], [6, 6, 5, 7, 6, 6, 5, 7], False),
        # Sleep hours have no good direction.
        ("sleep_hours", [6, 6, 5, 7, 6, 6, 5, 7], [8, 8, 7, 9, 8, 8, 7, 9], None),
    ],
)
def test_meaningful_means_the_whole_interval_is_beyond_the_threshold_the_good_way(
    name, base, treat, meaningful
):
    out = effects.effect(name, points(base), points(treat, 30))
    assert out["meaningful"] is meaningful
    threshold = effects.meaningful_change(name, sum(base) / len(base))
    if meaningful:
        assert abs(out["ci_high"] if out["estimate"] < 0 else out["ci_low"]) >= threshold


def test_meaningful_change_thresholds():
    assert effects.meaningful_change("pain", 8) == 2  # 30% of 8 is 2.4: 2 points is less
    assert effects.meaningful_change("pain", 5) == pytest.approx(1.5)
    assert effects.meaningful_change("mood", 4) == pytest.approx(1.2)
    assert effects.meaningful_change("fatigue", 0) == pytest.approx(3)  # against the 0-10 scale


# -- in the report ---------------------------------------------------------------------------------


def _day(n):
    return (START + timedelta(days=n)).isoformat()


def test_the_report_carries_the_effect_for_the_comparison_and_each_dose_level():
    # 14 pre-treatment days at pain 7, then 1.5 mg (days 14-27) at pain 5, then 3 mg (28-55) at pain 3.
    pain = [7, 8, 7, 6] * 3 + [7, 7] + [5, 6, 5, 4] * 3 + [5, 5] + [3, 4, 3, 2] * 7
    entries = [
        {
            "date": _day(i),
            "pain": v,
            "mood": 4,
            "sleep_hours": 7.5,
            "recorded_at": "2026-03-01T00:00:00+00:00",
        }
        for i, v in enumerate(pain)
    ]
    regimen = {
        "medication": "naltrexone",
        "dose_time": "21:00",
        "steps": [{"start_date": _day(14), "dose_ug": 1500}, {"start_date": _day(28), "dose_ug": 3000}],
        "other_medications": [],
    }
    doses = [
        {
            "id": f"d{i}",
            "medication": "naltrexone",
            "amount_ug": 1500 if i < 28 else 3000,
            "local_date": _day(i),
            "status": "taken",
            "taken_at": f"{_day(i)}T21:00:00+00:00",
        }
        for i in range(14, 56)
    ]
    rep = build_report(PATIENT, regimen, entries, doses, _day(0), _day(55), today=_day(55))
    current = rep["baseline_comparison"]["measures"]["pain"]["effect"]
    assert (current["n_baseline_days"], current["n_treatment_days"]) == (14, 14)
    assert current["estimate"] == round(sum(pain[42:]) / 14 - 7, 2) == -4.07  # 41 / 14 - 7
    assert current["ci_low"] < -4 < current["ci_high"] < -2 and current["meaningful"] is True
    first, second = rep["doses"]["levels"]
    # Levels leave out their first 3 days: 11 and 25 days against the 14 pre-treatment days.
    assert (first["effect"]["pain"]["n_treatment_days"], second["effect"]["pain"]["n_treatment_days"]) == (
        11,
        25,
    )
    assert first["effect"]["pain"]["n_baseline_days"] == 14
    assert first["effect"]["pain"]["estimate"] == round(sum(pain[17:28]) / 11 - 7, 2)
    assert second["effect"]["pain"]["estimate"] == round(sum(pain[31:]) / 25 - 7, 2)
    # A measure logged the same every day: estimate 0, no interval width, not meaningful.
    assert second["effect"]["mood"]["estimate"] == 0 and second["effect"]["mood"]["meaningful"] is False
    assert second["effect"]["fatigue"] == effects.insufficient(0, 0)


# -- the simulation the issue asks for -------------------------------------------------------------

DIARIES = 200
BASELINE, TREATMENT = 14, 60
RHO, MISSING = 0.5, 0.1


def _simulate(true_effect, seed):
    """Return (coverage of the AR(1) interval, of the naive interval, share excluding zero)."""
    rng = np.random.default_rng(seed)
    covered = naive_covered = excludes_zero = 0
    days = np.arange(BASELINE + TREATMENT)
    for _ in range(DIARIES):
        noise = np.empty(len(days))
        noise[0] = rng.normal() / math.sqrt(1 - RHO**2)
        for i in range(1, len(days)):
            noise[i] = RHO * noise[i - 1] + rng.normal()
        y = 6 + 1.2 * noise + np.where(days >= BASELINE, true_effect, 0.0)
        kept = rng.random(len(days)) >= MISSING
        base = [(int(d), float(v)) for d, v, k in zip(days[:BASELINE], y[:BASELINE], kept[:BASELINE]) if k]
        treat = [(int(d), float(v)) for d, v, k in zip(days[BASELINE:], y[BASELINE:], kept[BASELINE:]) if k]
        fit = effects.mean_difference(base, treat)
        covered += fit["ci_low"] <= true_effect <= fit["ci_high"]
        excludes_zero += not fit["ci_low"] <= 0 <= fit["ci_high"]
        naive = stats.ttest_ind([v for _, v in treat], [v for _, v in base]).confidence_interval(0.95)
        naive_covered += naive.low <= true_effect <= naive.high
    return covered / DIARIES, naive_covered / DIARIES, excludes_zero / DIARIES


def test_simulation_coverage_of_the_interval_with_ar1_noise():
    coverage, naive, _ = _simulate(-2.0, seed=20261206)
    print(
        f"\n95% interval coverage over {DIARIES} AR(1) diaries: {coverage:.1%}; naive independent days: {naive:.1%}"
    )
    assert 0.90 <= coverage <= 0.98
    assert naive < coverage


def test_simulation_with_no_true_effect_rarely_excludes_zero():
    _, _, excludes = _simulate(0.0, seed=1206)
    print(f"\nno true effect: the interval excludes zero in {excludes:.1%} of {DIARIES} diaries")
    assert excludes <= 0.10


@pytest.mark.parametrize(
    ("name", "fit", "words"),
    [
        (
            "pain",
            {"estimate": -2.1, "ci_low": -2.8, "ci_high": -1.4, "meaningful": False},
            "Pain fell by 2.1 points, 95% interval 1.4 to 2.8.",
        ),
        (
            "mood",
            {"estimate": 3.0, "ci_low": 1.96, "ci_high": 4.04, "meaningful": True},
            "Mood rose by 3.0 points, 95% interval 2.0 to 4.0; the whole interval is a clinically "
            "meaningful improvement.",
        ),
        (
            "fatigue",
            {"estimate": -0.4, "ci_low": -1.25, "ci_high": 0.3, "meaningful": False},
            "Fatigue changed by -0.4 points, 95% interval -1.2 to +0.3: the interval includes no change.",
        ),
        (
            "sleep_hours",
            {"estimate": 1.0, "ci_low": 0.31, "ci_high": 1.7, "meaningful": None},
            "Sleep (hours) rose by 1.0 h, 95% interval 0.3 to 1.7.",
        ),
        (
            "pain",
            effects.insufficient(3, 40),
            "Pain: too few days for an estimate (7 needed on each side; 3 before, 40 after).",
        ),
    ],
)
def test_the_words_a_clinician_reads_aloud(name, fit, words):
    assert effects.describe(name, fit) == words
