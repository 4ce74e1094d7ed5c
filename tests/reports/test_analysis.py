"""Analysis on hand-built diaries; every expected answer is worked out here."""

from datetime import date

import pytest

from diary.measures import MEASURES
from diary.reports import analysis
from diary.reports.analysis import build_report, default_period
from tests.reports.diaries import Days, codes, effect

PATIENT = {"id": "p1", "display_name": "Test Patient", "timezone": "Europe/London"}
D0 = date(2026, 3, 2)  # a Monday


day, entry = Days(D0).day, Days(D0).entry


def regimen(*steps, medication="naltrexone", other=()):
    return {
        "medication": medication,
        "dose_time": "22:00",
        "steps": [{"start_date": day(n), "dose_ug": ug} for n, ug in steps],
        "other_medications": list(other),
    }


def dose(n, status="taken", medication="naltrexone", ug=1500):
    return {
        "id": f"d{n}-{medication}",
        "medication": medication,
        "amount_ug": ug,
        "local_date": day(n),
        "status": status,
        "taken_at": day(n) + "T21:00:00.000000+00:00",
    }


def report(entries, first, last, reg=None, doses=(), **kwargs):
    return build_report(PATIENT, reg, entries, list(doses), day(first), day(last), **kwargs)


def pain_diary(baseline, current):
    """14 baseline days (days 0-13) before a step on day 14; current window days 28-41."""
    entries = [entry(i, pain=v) for i, v in enumerate(baseline)]
    entries += [entry(28 + i, pain=v) for i, v in enumerate(current)]
    return entries, regimen((14, 1500))


# -- IMMPACT bands (Dworkin et al. 2008) and their edges ---------------------------------------


@pytest.mark.parametrize(
    "baseline, current, expected, percent",
    [
        # 10 -> 5: exactly -50%
        ([10] * 14, [5] * 14, "substantial_improvement", -50.0),
        # 10 -> 71/14 = 5.0714: -49.3%, just short of substantial
        ([10] * 14, [5] * 13 + [6], "moderate_improvement", -49.3),
        # 10 -> 7: exactly -30%
        ([10] * 14, [7] * 14, "moderate_improvement", -30.0),
        # 10 -> 99/14 = 7.0714: -29.3%
        ([10] * 14, [7] * 13 + [8], "minimal_improvement", -29.3),
        # 10 -> 9: exactly -10%
        ([10] * 14, [9] * 14, "minimal_improvement", -10.0),
        # 10 -> 127/14 = 9.0714: -9.3%
        ([10] * 14, [9] * 13 + [10], "no_meaningful_change", -9.3),
        # 5 -> 5.5: exactly +10% but only half a point: not a change
        ([5] * 14, [5] * 7 + [6] * 7, "no_meaningful_change", 10.0),
        # 5 -> 6: +20%, +1 point
        ([5] * 14, [6] * 14, "worsening", 20.0),
        # 2 -> 1.5: -25% but half a point
        ([2] * 14, [1] * 7 + [2] * 7, "no_meaningful_change", -25.0),
        # 5 -> 76/14 = 5.4286: +8.6%
        ([5] * 14, [5] * 8 + [6] * 6, "no_meaningful_change", 8.6),
    ],
)
def test_pain_classification_bands_and_edges(baseline, current, expected, percent):
    entries, reg = pain_diary(baseline, current)
    rep = report(entries, 0, 41, reg)
    pain = rep["baseline_comparison"]["measures"]["pain"]
    assert pain["classification"] == expected
    assert pain["percent_change"] == percent
    assert rep["baseline_comparison"]["baseline"] == {
        "from": day(0),
        "to": day(13),
        "source": "pre_treatment",
    }
    assert rep["baseline_comparison"]["current"] == {"from": day(28), "to": day(41)}


def test_classify_change_edges_are_exact():
    from fractions import Fraction

    assert analysis.classify_change("pain", Fraction(5), Fraction(7, 2)) == "moderate_improvement"  # -30%
    assert analysis.classify_change("pain", Fraction(4), Fraction(2)) == "substantial_improvement"  # -50%
    # Higher is better: the same bands upward.
    assert analysis.classify_change("mood", Fraction(4), Fraction(6)) == "substantial_improvement"  # +50%
    assert analysis.classify_change("mood", Fraction(10), Fraction(9)) == "worsening"  # -10%, -1 point
    assert analysis.classify_change("mood", Fraction(10), Fraction(91, 10)) == "no_meaningful_change"


def test_zero_baseline_is_classified_by_absolute_change():
    entries, reg = pain_diary([0] * 14, [1] * 14)
    pain = report(entries, 0, 41, reg)["baseline_comparison"]["measures"]["pain"]
    assert (pain["classification"], pain["percent_change"], pain["change"]) == ("worsening", None, 1.0)

    entries, reg = pain_diary([0] * 14, [0] * 7 + [1] * 7)  # +0.5 point: under a point
    pain = report(entries, 0, 41, reg)["baseline_comparison"]["measures"]["pain"]
    assert pain["classification"] == "no_meaningful_change"
    assert pain["percent_change"] is None


def test_insufficient_data_below_four_logged_days_in_either_window():
    entries, reg = pain_diary([8, 8, 8], [2] * 14)
    pain = report(entries, 0, 41, reg)["baseline_comparison"]["measures"]["pain"]
    assert pain["classification"] == "insufficient_data"
    assert pain["two_point_change"] is None
    assert (pain["baseline_mean"], pain["current_mean"]) == (8.0, 2.0)  # means still shown

    entries, reg = pain_diary([8] * 14, [2, 2, 2])
    assert (
        report(entries, 0, 41, reg)["baseline_comparison"]["measures"]["pain"]["classification"]
        == "insufficient_data"
    )

    entries, reg = pain_diary([8] * 4, [2] * 4)  # exactly four: enough
    assert (
        report(entries, 0, 41, reg)["baseline_comparison"]["measures"]["pain"]["classification"]
        == "substantial_improvement"
    )


def test_two_point_change_after_farrar():
    entries, reg = pain_diary([6] * 14, [4] * 14)  # -2 points exactly
    assert report(entries, 0, 41, reg)["baseline_comparison"]["measures"]["pain"]["two_point_change"] is True
    entries, reg = pain_diary([6] * 14, [4] * 13 + [5])  # 57/14 = 4.07: -1.93 points
    pain = report(entries, 0, 41, reg)["baseline_comparison"]["measures"]["pain"]
    assert pain["two_point_change"] is False
    assert pain["change"] == -1.93


def test_baseline_falls_back_to_first_days_without_pre_treatment_entries():
    # Treatment started on day 0; the diary starts on day 3.
    entries = [entry(i, pain=6) for i in range(3, 40)]
    rep = report(entries, 0, 39, regimen((0, 1500)))
    assert rep["baseline_comparison"]["baseline"] == {"from": day(3), "to": day(16), "source": "first_days"}
    assert rep["baseline_comparison"]["measures"]["pain"]["classification"] == "no_meaningful_change"


def test_baseline_before_the_period_is_used_but_not_counted_in_the_period():
    entries = [entry(i, pain=8) for i in range(14)] + [entry(i, pain=4) for i in range(30, 44)]
    rep = report(entries, 30, 43, regimen((14, 1500)))
    assert rep["measures"]["pain"]["n"] == 14
    assert rep["completeness"]["days_logged"] == 14
    pain = rep["baseline_comparison"]["measures"]["pain"]
    assert (pain["baseline_mean"], pain["current_mean"], pain["classification"]) == (
        8.0,
        4.0,
        "substantial_improvement",
    )


# -- missing days ------------------------------------------------------------------------------


def test_missing_days_are_missing_never_zero():
    # Days 0-9; pain on 0,1,2,4,6,9; day 5 logged with fatigue only; days 3,7,8 not logged.
    entries = [
        entry(0, pain=2),
        entry(1, pain=4),
        entry(2, pain=6),
        entry(4, pain=8),
        entry(5, fatigue=3),
        entry(6, pain=10),
        entry(9, pain=4),
    ]
    rep = report(entries, 0, 9)
    pain = rep["measures"]["pain"]
    assert pain["n"] == 6
    assert pain["mean"] == 5.67  # 34 / 6, not 34 / 10
    assert pain["median"] == 5.0  # of 2, 4, 4, 6, 8, 10
    assert (pain["min"], pain["max"]) == (2, 10)
    assert [p["date"] for p in pain["daily"]] == [day(0), day(1), day(2), day(4), day(6), day(9)]
    # Trailing 7-day means need 4 values: day 4 (2,4,6,8)=5, day 5 same, day 6 (+10)=6,
    # day 7 (4,6,8,10)=7; days 8 and 9 hold only 3 values.
    assert pain["rolling_7d"] == [
        {"date": day(4), "value": 5.0},
        {"date": day(5), "value": 5.0},
        {"date": day(6), "value": 6.0},
        {"date": day(7), "value": 7.0},
    ]
    assert pain["weekly"] == [
        {"week_start": day(0), "n": 5, "mean": 6.0, "min": 2, "max": 10},
        {"week_start": day(7), "n": 1, "mean": 4.0, "min": 4, "max": 4},
    ]
    assert rep["completeness"] == {
        "days_logged": 7,
        "days_in_period": 10,
        "fraction": 0.7,
        "longest_gap_days": 2,
    }
    assert rep["measures"]["mood"] == {
        "direction": "higher_is_better",
        "n": 0,
        "mean": None,
        "median": None,
        "min": None,
        "max": None,
        "daily": [],
        "rolling_7d": [],
        "weekly": [
            {"week_start": day(0), "n": 0, "mean": None, "min": None, "max": None},
            {"week_start": day(7), "n": 0, "mean": None, "min": None, "max": None},
        ],
    }


def test_deleted_entries_are_ignored_and_gaps_at_the_edges_count():
    entries = [entry(3, pain=5), dict(entry(4, pain=9), deleted=1)]
    rep = report(entries, 0, 9)
    assert rep["measures"]["pain"]["n"] == 1
    assert rep["completeness"]["longest_gap_days"] == 6  # days 4-9 after the last entry


# -- dose levels with lag exclusion ------------------------------------------------------------


def lag_diary():
    # Step 1.5 mg on day 0, 3 mg on day 10, each night at the planned amount.
    # Pain 9 on each step's first 3 days, else 6 then 4.
    values = [9, 9, 9] + [6] * 7 + [9, 9, 9] + [4] * 7
    entries = [entry(i, pain=v, sleep_quality=5, fatigue=i % 2) for i, v in enumerate(values)]
    doses = [dose(i, ug=1500 if i < 10 else 3000) for i in range(20)]
    return entries, regimen((0, 1500), (10, 3000)), doses


def test_dose_levels_leave_out_the_first_days_after_each_step():
    entries, reg, doses = lag_diary()
    levels = report(entries, 0, 19, reg, doses)["doses"]["levels"]
    # No pre-treatment day was logged: no level has an effect estimate.
    effects = [level.pop("effect") for level in levels]
    assert [e["pain"]["insufficient_data"] for e in effects] == [True, True]
    assert effects[1]["pain"]["n_treatment_days"] == 7 and effects[1]["pain"]["n_baseline_days"] == 0
    assert levels == [
        {
            "dose_mg": 1.5,
            "from": day(0),
            "to": day(9),
            "days": 10,
            "days_excluded": 3,
            "n_days": 7,
            "insufficient_data": False,
            "pain_mean": 6.0,
            "pain_median": 6.0,
            "sleep_quality_mean": 5.0,
            "fatigue_mean": 0.57,
        },  # days 3-9: 4 odd of 7
        {
            "dose_mg": 3,
            "from": day(10),
            "to": day(19),
            "days": 10,
            "days_excluded": 3,
            "n_days": 7,
            "insufficient_data": False,
            "pain_mean": 4.0,
            "pain_median": 4.0,
            "sleep_quality_mean": 5.0,
            "fatigue_mean": 0.57,
        },
    ]  # days 13-19: 4 odd of 7


def test_lag_is_configurable_and_clipped_to_the_period():
    entries, reg, doses = lag_diary()
    levels = report(entries, 0, 19, reg, doses, lag_days=0)["doses"]["levels"]
    assert levels[0]["pain_mean"] == 6.9  # (3*9 + 7*6) / 10
    assert (levels[0]["days_excluded"], levels[0]["n_days"]) == (0, 10)
    levels = report(entries, 5, 19, reg, doses)["doses"]["levels"]
    assert (levels[0]["from"], levels[0]["days"], levels[0]["days_excluded"]) == (day(5), 5, 0)


def test_levels_use_only_on_plan_days_and_need_four():
    # 4.5 mg step from day 0; pain 3 on plan, pain 8 on the nights at 1.5 mg (days 5-9),
    # nothing logged on days 13-14 as a dose.
    entries = [entry(n, pain=8 if 5 <= n <= 9 else 3) for n in range(15)]
    doses = [dose(n, ug=1500 if 5 <= n <= 9 else 4500) for n in range(13)]
    level = report(entries, 0, 14, regimen((0, 4500)), doses)["doses"]["levels"][0]
    # Days 3-14 after the lag; on plan: 3, 4, 10, 11, 12 (1.5 mg nights and dose-less days left out).
    assert (level["n_days"], level["insufficient_data"], level["pain_mean"]) == (5, False, 3.0)
    # With only 3 on-plan days the step's figures are withheld, not shown from too little.
    level = report(entries, 0, 14, regimen((0, 4500)), doses[:11])["doses"]["levels"][0]
    assert level["n_days"] == 3
    assert level["insufficient_data"] is True
    assert (level["pain_mean"], level["pain_median"], level["sleep_quality_mean"], level["fatigue_mean"]) == (
        None,
        None,
        None,
        None,
    )


# -- adherence ---------------------------------------------------------------------------------


def adherence(**values):
    out = {
        "planned_days": 0,
        "taken_days": 0,
        "fraction": None,
        "longest_missed_streak": 0,
        "on_plan_days": 0,
        "off_plan_days": 0,
        "extra_dose_days": 0,
        "skipped_days": 0,
        "unrecorded_days": 0,
        "recorded_fraction": None,
    }
    out.update(values)
    return out


def test_adherence_with_a_missed_streak():
    # Step on day 5, period days 0-24: 20 planned days. Missed 8,9,10 (streak 3) and 14;
    # day 18 skipped; day 20 only ibuprofen (not the regimen's medication).
    missed = {8, 9, 10, 14, 18, 20}
    doses = [dose(n) for n in range(5, 25) if n not in missed]
    doses += [dose(18, status="skipped"), dose(20, medication="ibuprofen", ug=400000)]
    entries = [entry(n, pain=5) for n in range(25)]
    rep = report(entries, 0, 24, regimen((5, 1500)), doses)
    assert rep["doses"]["adherence"] == adherence(
        planned_days=20,
        taken_days=14,
        fraction=0.7,
        longest_missed_streak=3,
        on_plan_days=14,
        skipped_days=1,
        recorded_fraction=0.7,
    )
    assert "low_adherence" in codes(rep)


def test_adherence_of_exactly_80_percent_is_not_low():
    doses = [dose(n) for n in range(5, 25) if n not in {6, 7, 8, 9}]  # 16 of 20
    rep = report([entry(n, pain=5) for n in range(25)], 0, 24, regimen((5, 1500)), doses)
    assert rep["doses"]["adherence"]["fraction"] == 0.8
    assert "low_adherence" not in codes(rep)


def test_todays_dose_is_not_missed_before_the_day_is_over():
    # Period days 0-9 with today = day 9: the bedtime dose of day 9 is not due yet.
    doses = [dose(n) for n in range(5, 9)]
    entries = [entry(n, pain=5) for n in range(10)]
    seen_today = build_report(PATIENT, regimen((5, 1500)), entries, doses, day(0), day(9), today=day(9))
    assert seen_today["doses"]["adherence"] == adherence(
        planned_days=4, taken_days=4, fraction=1.0, on_plan_days=4, recorded_fraction=1.0
    )
    # Seen the next day (or for a past period) day 9 was missed.
    seen_later = build_report(PATIENT, regimen((5, 1500)), entries, doses, day(0), day(9), today=day(10))
    assert seen_later["doses"]["adherence"]["planned_days"] == 5
    assert seen_later["doses"]["adherence"]["longest_missed_streak"] == 1
    # Taken already today: today counts.
    taken_today = build_report(
        PATIENT, regimen((5, 1500)), entries, doses + [dose(9)], day(0), day(9), today=day(9)
    )
    assert taken_today["doses"]["adherence"]["planned_days"] == 5


def test_flags_without_series_match_the_full_report():
    entries = [
        entry(n, pain=7 if n < 5 else 9, side_effects=[effect("nausea", "severe")] if n == 19 else [])
        for n in range(20)
        if n % 3
    ]
    doses = [dose(n) for n in range(5, 20) if n % 2]
    full = build_report(PATIENT, regimen((5, 1500)), entries, doses, day(0), day(19))
    light = build_report(PATIENT, regimen((5, 1500)), entries, doses, day(0), day(19), series=False)
    assert light["measures"] is None and full["measures"]["pain"]["n"] == len(entries)
    assert light["flags"] == full["flags"] and {f["code"] for f in full["flags"]} >= {
        "low_adherence",
        "severe_side_effect",
    }
    assert {k: v for k, v in light.items() if k != "measures"} == {
        k: v for k, v in full.items() if k != "measures"
    }


def test_no_regimen_means_no_planned_days():
    rep = report([entry(0, pain=5)], 0, 0, None, [dose(0)])
    assert rep["doses"] == {"adherence": adherence(), "levels": []}
    assert rep["regimen"] is None


# -- side effects ------------------------------------------------------------------------------


def test_side_effect_that_resolves_and_one_that_stays_active():
    entries = []
    for n in range(30):  # period days 0-29, diary kept daily
        effects = []
        if 2 <= n <= 5:
            effects.append(effect("vivid_dreams", "moderate" if n == 4 else "mild"))
        if n in (10, 25):
            effects.append(effect("headache"))
        entries.append(entry(n, pain=4, side_effects=effects))
    rep = report(entries, 0, 29, regimen((0, 1500), (10, 3000)))
    assert rep["side_effects"] == {
        "vivid_dreams": {
            "days_reported": 4,
            "first_date": day(2),
            "last_date": day(5),
            "max_severity": "moderate",
            "onset_days_after_dose_change": 2,
            "status": "resolved",
            "present_at_baseline": None,  # nothing logged in the 14 days before treatment
            "episodes": [
                {
                    "start": day(2),
                    "end": day(5),
                    "days_reported": 4,
                    "max_severity": "moderate",
                    "dose_mg_at_onset": 1.5,
                    "onset_days_after_step": 2,
                    "status": "resolved",
                }
            ],
        },
        "headache": {
            "days_reported": 2,
            "first_date": day(10),
            "last_date": day(25),
            "max_severity": "mild",
            "onset_days_after_dose_change": 0,
            "status": "active",
            "present_at_baseline": None,
            # 14 logged days without it between day 10 and day 25: two episodes.
            "episodes": [
                {
                    "start": day(10),
                    "end": day(10),
                    "days_reported": 1,
                    "max_severity": "mild",
                    "dose_mg_at_onset": 3,
                    "onset_days_after_step": 0,
                    "status": "resolved",
                },
                {
                    "start": day(25),
                    "end": day(25),
                    "days_reported": 1,
                    "max_severity": "mild",
                    "dose_mg_at_onset": 3,
                    "onset_days_after_step": 15,
                    "status": "active",
                },
            ],
        },
    }


@pytest.mark.parametrize(
    "later_days, last_report, status",
    [
        ([20, 21], 3, "active"),  # quiet, but only 2 entries after the last report
        ([20, 21, 22], 3, "resolved"),  # 3 entries after it
        ([24, 25, 26], 22, "resolved"),  # last report exactly 7 days before the end (day 29)
        ([24, 25, 26], 23, "active"),  # reported within the last 7 days
    ],
)
def test_side_effect_resolution_rule(later_days, last_report, status):
    entries = [entry(last_report, side_effects=[effect("nausea")], pain=3)]
    entries += [entry(n, pain=3) for n in later_days]
    rep = report(entries, 0, 29)
    assert rep["side_effects"]["nausea"]["status"] == status
    assert rep["side_effects"]["nausea"]["onset_days_after_dose_change"] is None  # no regimen


# -- flags -------------------------------------------------------------------------------------


def full_diary(days=28, **values):
    return [entry(n, **values) for n in range(days)]


def test_no_flags_on_a_good_diary():
    doses = [dose(n) for n in range(28)]
    rep = report(full_diary(pain=4), 0, 27, regimen((0, 1500), other=["amitriptyline"]), doses)
    assert rep["flags"] == []
    assert rep["medications"] == {"unrecognised": []}


def test_opioid_co_medication_from_a_dose():
    doses = [dose(n) for n in range(28)] + [dose(20, medication="Tramadol 50mg", ug=50000)]
    rep = report(full_diary(pain=4), 0, 27, regimen((0, 1500)), doses)
    assert codes(rep) == ["opioid_co_medication"]
    assert "Tramadol 50mg" in rep["flags"][0]["message"]


def test_opioid_co_medication_from_other_medications_brand_name():
    doses = [dose(n) for n in range(28)]
    rep = report(full_diary(pain=4), 0, 27, regimen((0, 1500), other=["Co-codamol 30/500"]), doses)
    assert codes(rep) == ["opioid_co_medication"]


def test_no_opioid_flag_without_naltrexone_or_without_an_opioid():
    doses = [dose(n, medication="amitriptyline") for n in range(28)]
    rep = report(
        full_diary(pain=4), 0, 27, regimen((0, 10000), medication="amitriptyline", other=["tramadol"]), doses
    )
    assert "opioid_co_medication" not in codes(rep)
    rep = report(
        full_diary(pain=4), 0, 27, regimen((0, 1500), other=["codeinex", "paracetamol", "Loperamide 2mg"])
    )
    assert "opioid_co_medication" not in codes(rep)
    assert rep["medications"] == {"unrecognised": ["codeinex"]}


@pytest.mark.parametrize(
    "baseline, current, raised",
    [
        ([5] * 14, [6] * 7 + [7] * 7, True),  # 5 -> 6.5: +30% exactly (+1.5 points)
        ([6] * 14, [7] * 7 + [8] * 7, False),  # 6 -> 7.5: +25%, +1.5 points
        ([8] * 14, [10] * 14, True),  # 8 -> 10: +25% but +2 points
        ([0] * 14, [2] * 14, True),  # zero baseline, +2 points
        ([0] * 14, [1] * 14, False),  # zero baseline, +1 point: worsening, not flagged
        ([3] * 14, [4] * 14, True),  # +33%, +1 point
    ],
)
def test_pain_worsening_flag(baseline, current, raised):
    entries, reg = pain_diary(baseline, current)
    rep = report(entries, 0, 41, reg)
    assert ("pain_worsening" in codes(rep)) is raised


def test_no_pain_worsening_flag_with_insufficient_data():
    entries, reg = pain_diary([2] * 3, [9] * 14)
    assert "pain_worsening" not in codes(report(entries, 0, 41, reg))


@pytest.mark.parametrize("logged, raised", [(4, True), (5, False)])
def test_sparse_diary_flag_below_half_the_days(logged, raised):
    rep = report([entry(n, pain=4) for n in range(logged)], 0, 9)
    assert ("sparse_diary" in codes(rep)) is raised


# -- period rule and shape ---------------------------------------------------------------------


def test_default_period_from_last_appointment_else_90_days():
    today = date(2026, 11, 28)
    assert default_period(today, []) == (date(2026, 8, 31), today)  # 90 days including today
    visits = [date(2026, 10, 1), date(2026, 11, 2), today, date(2026, 12, 5)]
    assert default_period(today, visits) == (date(2026, 11, 2), today)


def test_default_period_without_appointment_starts_at_the_baseline_at_most_180_days_back():
    today = date(2026, 11, 28)
    # 14 days before the first step, so the pre-treatment baseline is charted.
    assert default_period(today, [], date(2026, 10, 1)) == (date(2026, 9, 17), today)
    # A regimen begun long ago: 180 days including today, no more.
    assert default_period(today, [], date(2025, 1, 1)) == (date(2026, 6, 2), today)
    # A first step still to come: the last 90 days.
    assert default_period(today, [], date(2026, 12, 20)) == (date(2026, 8, 31), today)
    # An appointment wins over the step.
    assert default_period(today, [date(2026, 11, 2)], date(2026, 10, 1)) == (date(2026, 11, 2), today)


def test_report_has_exactly_the_issue_keys():
    entries, reg = pain_diary([6] * 14, [4] * 14)
    rep = report(entries, 0, 41, reg)
    assert list(rep) == [
        "patient",
        "period",
        "regimen",
        "medications",
        "completeness",
        "measures",
        "baseline_comparison",
        "doses",
        "side_effects",
        "questionnaires",
        "flags",
    ]
    assert rep["period"] == {"from": day(0), "to": day(41), "days": 42}
    assert rep["regimen"] == {
        "medication": "naltrexone",
        "substances": ["naltrexone"],
        "steps": [{"start_date": day(14), "dose_mg": 1.5}],
    }
    assert set(rep["measures"]) == set(MEASURES)
    assert set(rep["measures"]["pain"]) == {
        "direction",
        "n",
        "mean",
        "median",
        "min",
        "max",
        "daily",
        "rolling_7d",
        "weekly",
    }
    assert set(rep["baseline_comparison"]) == {"baseline", "current", "comparable", "reason", "measures"}
    assert set(rep["baseline_comparison"]["measures"]["fatigue"]) == {
        "baseline_mean",
        "current_mean",
        "change",
        "percent_change",
        "classification",
        "two_point_change",
        "effect",
    }
    assert set(rep["baseline_comparison"]["measures"]["sleep_hours"]) == {
        "baseline_mean",
        "current_mean",
        "change",
        "percent_change",
        "effect",
    }


def test_daily_rows_one_per_day_with_taken_and_planned_dose():
    entries = [entry(1, pain=5, side_effects=[effect("headache"), effect("vivid_dreams", "moderate")])]
    doses = [dose(1, ug=1500), dose(1, ug=1500), dose(2, status="skipped")]
    doses[1] = dict(doses[1], id="second")
    reg = regimen((1, 3000))
    rep = report(entries, 0, 2, reg, doses)
    rows = analysis.daily_rows(rep, reg, entries, doses)
    assert [r["date"] for r in rows] == [day(0), day(1), day(2)]
    assert [r["dose_taken_mg"] for r in rows] == [None, 3, None]
    assert [r["doses_taken"] for r in rows] == [0, 2, 0]
    assert [r["planned_dose_mg"] for r in rows] == [None, 3, 3]
    assert [r["dose_status"] for r in rows] == [None, "on_plan", "skipped"]
    assert rows[0]["pain"] is None and rows[1]["pain"] == 5
    assert rows[1]["side_effects"] == [
        {"name": "headache", "severity": "mild", "episode": 1},
        {"name": "vivid_dreams", "severity": "moderate", "episode": 1},
    ]
    assert rep["doses"]["adherence"]["extra_dose_days"] == 1


def test_weeks_are_iso_weeks_even_when_the_period_starts_midweek():
    # Period Wednesday (day 2) to the next Tuesday (day 8): two ISO weeks, in-period days only.
    entries = [entry(n, pain=n) for n in range(10)]
    weekly = report(entries, 2, 8)["measures"]["pain"]["weekly"]
    assert weekly == [
        {"week_start": day(0), "n": 5, "mean": 4.0, "min": 2, "max": 6},
        {"week_start": day(7), "n": 2, "mean": 7.5, "min": 7, "max": 8},
    ]
