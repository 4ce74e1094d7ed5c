"""Issue 8's rules on the messy diaries real patients keep; every answer is worked out by hand here."""

from datetime import date

import pytest

from diary.reports import analysis
from diary.reports.analysis import build_report
from tests.reports.diaries import Days, codes, effect

PATIENT = {"id": "p1", "display_name": "Test Patient", "timezone": "Europe/London"}
D0 = date(2026, 1, 5)  # a Monday, in GMT (UTC+0) until late March


day, entry = Days(D0).day, Days(D0).entry


def regimen(*steps, medication="naltrexone", other=(), dose_time="22:00"):
    return {
        "medication": medication,
        "dose_time": dose_time,
        "steps": [{"start_date": day(n), "dose_ug": ug} for n, ug in steps],
        "other_medications": list(other),
    }


def dose(n, at="22:00", medication="naltrexone", ug=4500, status="taken", next_day=False):
    # ``at`` is wall time in London (= UTC in January); next_day puts it after midnight.
    taken = day(n + 1 if next_day else n)
    return {
        "id": f"{medication}-{n}-{at}-{next_day}-{ug}",
        "medication": medication,
        "amount_ug": ug,
        "local_date": taken,
        "status": status,
        "taken_at": f"{taken}T{at}:00.000000+00:00",
    }


def report(entries, first, last, reg=None, doses=(), **kwargs):
    return build_report(PATIENT, reg, entries, list(doses), day(first), day(last), **kwargs)


# -- 1. medication identity and the opioid check -------------------------------------------------


@pytest.mark.parametrize("name", ["LDN", "LDN 4.5mg", "Low-dose naltrexone", "Naltrexone 4,5 mg"])
def test_opioid_check_runs_however_naltrexone_is_named(name):
    doses = [dose(n, medication=name) for n in range(14)]
    rep = report(
        [entry(n, pain=5) for n in range(14)],
        0,
        13,
        regimen((0, 4500), medication=name, other=["Tramadol 50mg"]),
        doses,
    )
    assert codes(rep) == ["opioid_co_medication"]
    assert rep["flags"][0]["message"].startswith("Opioid alongside naltrexone: Tramadol 50mg.")


def test_opioid_flag_names_each_medication_as_written_from_lists_and_doses():
    reg = regimen((0, 4500), medication="LDN", other=["OxyContin 10mg", "Amitriptyline", "oxycontin 10 MG"])
    doses = [dose(n) for n in range(14)] + [dose(3, medication="Tylenol #3", ug=1000, at="12:00")]
    rep = report([entry(n, pain=5) for n in range(14)], 0, 13, reg, doses)
    assert rep["flags"][0]["message"].startswith("Opioid alongside naltrexone: OxyContin 10mg, Tylenol #3.")


def test_no_opioid_flag_for_loperamide_naloxone_or_known_look_alikes():
    reg = regimen(
        (0, 4500),
        medication="LDN",
        other=["Loperamide 2mg", "Narcan nasal spray", "codeine-free cough syrup", "Tylenol, 3 times daily"],
    )
    rep = report([entry(n, pain=5) for n in range(14)], 0, 13, reg, [dose(n) for n in range(14)])
    assert "opioid_co_medication" not in codes(rep)
    assert rep["medications"]["unrecognised"] == ["codeine-free cough syrup"]


@pytest.mark.parametrize(
    "reg_name, dose_name",
    [("Naltrexone", "Naltrexone 4.5mg"), ("naltrexone", "LDN"), ("LDN", "naltrexone 4.5 MG")],
)
def test_adherence_compares_substances_not_strings(reg_name, dose_name):
    doses = [dose(n, medication=dose_name) for n in range(14)]
    rep = report([entry(n, pain=5) for n in range(14)], 0, 13, regimen((0, 4500), medication=reg_name), doses)
    adherence = rep["doses"]["adherence"]
    assert (adherence["taken_days"], adherence["fraction"], adherence["on_plan_days"]) == (14, 1.0, 14)
    assert "low_adherence" not in codes(rep)


def test_unrecognised_medications_are_listed_as_written():
    reg = regimen((0, 4500), medication="LDN", other=["Mystery Tonic", "mystery tonic"])
    doses = [dose(n) for n in range(14)] + [dose(2, medication="Herbal sleep mix", ug=500, at="09:00")]
    rep = report([entry(n, pain=5) for n in range(14)], 0, 13, reg, doses)
    assert rep["medications"] == {"unrecognised": ["Mystery Tonic", "Herbal sleep mix"]}


# -- 2. which planned day a dose belongs to ------------------------------------------------------


def late_nights():
    # 22:00 dose time; 14 nights (days 0-13), 13 doses of which nights 2, 5 and 9 were taken at
    # 00:30 the next morning; night 11 missed. The diary is kept every day.
    late = {2, 5, 9}
    doses = [dose(n, at="00:30", next_day=True) if n in late else dose(n) for n in range(14) if n != 11]
    return [entry(n, pain=5) for n in range(14)], regimen((0, 4500)), doses


def test_bedtime_doses_after_midnight_count_for_the_evening_before():
    entries, reg, doses = late_nights()
    rep = report(entries, 0, 13, reg, doses)
    adherence = rep["doses"]["adherence"]
    # 13 of 14, not 10 of 14; no night counts twice.
    assert (adherence["planned_days"], adherence["taken_days"], adherence["fraction"]) == (14, 13, 0.929)
    assert (adherence["extra_dose_days"], adherence["longest_missed_streak"]) == (0, 1)
    assert "low_adherence" not in codes(rep)
    rows = analysis.daily_rows(rep, reg, entries, doses)
    assert [r["dose_taken_mg"] for r in rows] == [4.5] * 11 + [None] + [4.5] * 2
    assert [r["doses_taken"] for r in rows] == [1] * 11 + [0] + [1] * 2
    assert rows[11]["dose_status"] == "missed"


def test_a_dose_taken_after_midnight_after_the_period_still_counts_for_its_last_night():
    entries, reg, _ = late_nights()
    doses = [dose(n) for n in range(13)] + [dose(13, at="00:30", next_day=True)]
    adherence = report(entries, 0, 13, reg, doses)["doses"]["adherence"]
    assert (adherence["planned_days"], adherence["taken_days"]) == (14, 14)


def test_other_medications_keep_their_own_local_date():
    entries, reg, doses = late_nights()
    doses = doses + [dose(3, medication="Ibuprofen", ug=400000, at="00:30")]
    rows = analysis.daily_rows(report(entries, 0, 13, reg, doses), reg, entries, doses)
    assert rows[3]["doses_taken"] == 1  # the ibuprofen at 00:30 on day 3 is not the LDN dose


# -- 3. amounts -----------------------------------------------------------------------------------


def test_amounts_on_plan_off_plan_extra_skipped_and_unrecorded():
    # 4.5 mg step from day 0, period days 0-13:
    #   day 1: 1.5 mg (off plan); day 2: 4.5 mg twice (extra dose, 9 mg, off plan);
    #   day 3: skipped; day 4: entry but no dose (missed); days 5 and 6: nothing at all (unrecorded);
    #   the other 8 days: 4.5 mg (on plan).
    doses = [dose(n) for n in range(14) if n not in (1, 2, 3, 4, 5, 6)]
    doses += [dose(1, ug=1500), dose(2), dose(2, at="22:30"), dose(3, status="skipped")]
    entries = [entry(n, pain=5) for n in range(14) if n not in (5, 6)]
    rep = report(entries, 0, 13, regimen((0, 4500)), doses)
    assert rep["doses"]["adherence"] == {
        "planned_days": 14,
        "taken_days": 10,
        "fraction": 0.714,
        "longest_missed_streak": 4,  # days 3-6
        "on_plan_days": 8,
        "off_plan_days": 2,
        "extra_dose_days": 1,
        "skipped_days": 1,
        "unrecorded_days": 2,
        "recorded_fraction": 0.833,  # 10 of 12 recorded planned days
    }
    assert "low_adherence" not in codes(rep)  # judged on recorded days: 83%


def test_low_adherence_is_judged_on_recorded_days():
    # 14 planned days: 6 taken, 2 missed with an entry, 6 unrecorded: 6/8 = 75% of recorded days.
    doses = [dose(n) for n in range(6)]
    entries = [entry(n, pain=5) for n in range(8)]
    rep = report(entries, 0, 13, regimen((0, 4500)), doses)
    adherence = rep["doses"]["adherence"]
    assert (adherence["unrecorded_days"], adherence["recorded_fraction"]) == (6, 0.75)
    flag = next(f for f in rep["flags"] if f["code"] == "low_adherence")
    assert flag["message"] == (
        "Doses taken on 6 of 8 recorded planned days (below 80%); 6 planned days had nothing recorded."
    )


def test_a_night_at_the_wrong_amount_is_not_filed_under_the_step():
    # 4.5 mg from day 0; pain 2 on 4.5 mg nights, 9 on the 1.5 mg nights (days 6 and 7).
    doses = [dose(n, ug=1500 if n in (6, 7) else 4500) for n in range(14)]
    entries = [entry(n, pain=9 if n in (6, 7) else 2) for n in range(14)]
    level = report(entries, 0, 13, regimen((0, 4500)), doses)["doses"]["levels"][0]
    assert (level["n_days"], level["pain_mean"]) == (9, 2.0)  # days 3-13 less days 6 and 7


# -- 4. change by direction -----------------------------------------------------------------------


def directed_diary(baseline, current):
    """Days 0-13 before a step on day 14; current window days 28-41; values per measure."""
    entries = [entry(i, **baseline) for i in range(14)] + [entry(28 + i, **current) for i in range(14)]
    return entries, regimen((14, 4500))


def test_pain_1_to_1_36_is_no_meaningful_change_and_raises_no_flag():
    # 1 -> 19/14 = 1.357: +36% but +0.36 points.
    entries = [entry(i, pain=1) for i in range(14)]
    entries += [entry(28 + i, pain=2 if i < 5 else 1) for i in range(14)]
    rep = report(entries, 0, 41, regimen((14, 4500)))
    pain = rep["baseline_comparison"]["measures"]["pain"]
    assert (pain["change"], pain["percent_change"], pain["classification"]) == (
        0.36,
        35.7,
        "no_meaningful_change",
    )
    assert "pain_worsening" not in codes(rep)


def test_pain_7_to_8_86_is_worsening_and_7_to_9_is_flagged():
    # 7 -> 124/14 = 8.857: +1.86 points, +26.5%: worsening, but under 2 points and under 30%.
    entries = [entry(i, pain=7) for i in range(14)]
    entries += [entry(28 + i, pain=9 if i < 12 else 8) for i in range(14)]
    rep = report(entries, 0, 41, regimen((14, 4500)))
    pain = rep["baseline_comparison"]["measures"]["pain"]
    assert (pain["current_mean"], pain["change"], pain["percent_change"]) == (8.86, 1.86, 26.5)
    assert pain["classification"] == "worsening"
    assert "pain_worsening" not in codes(rep)
    entries = [entry(i, pain=7) for i in range(14)] + [entry(28 + i, pain=9) for i in range(14)]
    rep = report(entries, 0, 41, regimen((14, 4500)))
    assert "pain_worsening" in codes(rep)
    assert next(f for f in rep["flags"] if f["code"] == "pain_worsening")["message"] == (
        "Pain up 2 points (+28.6%) against baseline (0 none - 10 worst imaginable; higher is worse)."
    )


def test_mood_function_and_sleep_quality_falling_raise_worsening():
    entries, reg = directed_diary(
        {"mood": 7, "function": 6, "sleep_quality": 6, "sleep_hours": 8.0},
        {"mood": 1, "function": 2, "sleep_quality": 2, "sleep_hours": 4.5},
    )
    rep = report(entries, 0, 41, reg, [dose(n) for n in range(14, 42)])
    compared = rep["baseline_comparison"]["measures"]
    for name, change, percent in (
        ("mood", -6.0, -85.7),
        ("function", -4.0, -66.7),
        ("sleep_quality", -4.0, -66.7),
    ):
        assert compared[name]["change"] == change
        assert compared[name]["percent_change"] == percent
        assert compared[name]["classification"] == "worsening"
        assert compared[name]["two_point_change"] is False
    assert codes(rep) == ["mood_worsening", "sleep_quality_worsening", "function_worsening"]
    assert rep["flags"][0]["message"] == (
        "Mood down 6 points (-85.7%) against baseline (0 very low - 10 very good; higher is better)."
    )
    # Sleep hours: the change only, no class and no direction (so no meaningful verdict either).
    assert compared["sleep_hours"].pop("effect")["meaningful"] is None
    assert compared["sleep_hours"] == {
        "baseline_mean": 8.0,
        "current_mean": 4.5,
        "change": -3.5,
        "percent_change": -43.8,
    }
    assert rep["measures"]["sleep_hours"]["direction"] is None


def test_worst_pain_and_fatigue_rising_raise_the_flags_the_issue_names():
    entries, reg = directed_diary({"pain_worst": 4, "fatigue": 3}, {"pain_worst": 7, "fatigue": 6})
    rep = report(entries, 0, 41, reg, [dose(n) for n in range(14, 42)])
    # 4 -> 7 and 3 -> 6: +3 points each, the bad way for both.
    assert codes(rep) == ["worst_pain_worsening", "fatigue_worsening"]
    assert rep["flags"][0]["message"] == (
        "Worst pain up 3 points (+75%) against baseline (0 none - 10 worst imaginable; higher is worse)."
    )


def test_higher_is_better_measures_improve_upward_and_fatigue_downward():
    entries, reg = directed_diary(
        {"mood": 4, "fatigue": 8, "function": 2}, {"mood": 6, "fatigue": 6, "function": 3}
    )
    compared = report(entries, 0, 41, reg)["baseline_comparison"]["measures"]
    # mood 4 -> 6: +50%, +2 points; fatigue 8 -> 6: -25%, -2 points; function 2 -> 3: +50%, +1 point.
    assert (compared["mood"]["classification"], compared["mood"]["two_point_change"]) == (
        "substantial_improvement",
        True,
    )
    assert (compared["fatigue"]["classification"], compared["fatigue"]["two_point_change"]) == (
        "minimal_improvement",
        True,
    )
    assert (compared["function"]["classification"], compared["function"]["two_point_change"]) == (
        "substantial_improvement",
        False,
    )


def test_zero_baseline_of_a_higher_is_better_measure_reads_against_the_scale():
    # mood 0 -> 3: no percentage of 0 exists; 3 points are 30% of the 0-10 scale.
    entries, reg = directed_diary({"mood": 0}, {"mood": 3})
    mood = report(entries, 0, 41, reg)["baseline_comparison"]["measures"]["mood"]
    assert (mood["percent_change"], mood["classification"]) == (None, "moderate_improvement")


# -- 5. honest windows ----------------------------------------------------------------------------


def test_a_new_patient_with_six_days_gets_no_comparison_and_no_missing_days():
    # Created on day 84, six days logged (84-89); the default 90-day period reaches back to day 0.
    entries = [entry(n, pain=5, mood=6) for n in range(84, 90)]
    rep = report(
        entries, 0, 89, regimen((84, 1500)), [dose(n, ug=1500) for n in range(84, 90)], record_start=day(84)
    )
    assert rep["period"] == {"from": day(84), "to": day(89), "days": 6}
    assert rep["completeness"]["days_in_period"] == 6
    comparison = rep["baseline_comparison"]
    assert (comparison["comparable"], comparison["reason"]) == (False, "windows_overlap")
    assert {m["classification"] for m in comparison["measures"].values() if "classification" in m} == {
        "insufficient_data"
    }
    assert comparison["baseline"]["from"] == day(84)
    assert rep["flags"] == []  # no sparse_diary for the days before they joined


def test_the_record_start_counts_a_backfilled_paper_diary():
    # Created on day 20, but entries from day 5: the record begins on day 5 (the caller's rule).
    entries = [entry(n, pain=5) for n in range(5, 30)]
    rep = report(entries, 0, 29, record_start=day(5))
    assert rep["period"]["from"] == day(5)
    assert rep["completeness"] == {
        "days_logged": 25,
        "days_in_period": 25,
        "fraction": 1.0,
        "longest_gap_days": 0,
    }


def test_a_period_ending_before_the_record_began_is_refused():
    with pytest.raises(ValueError):
        report([], 0, 9, record_start=day(10))


def test_baseline_is_cut_short_where_the_current_window_begins():
    # No pre-treatment entries: the diary's first 14 days (0-13) against the last 14 of a
    # 20-day period (6-19): the baseline keeps days 0-5 only, never the same days twice.
    entries = [entry(n, pain=8 if n < 6 else 4) for n in range(20)]
    comparison = report(entries, 0, 19, regimen((0, 1500)))["baseline_comparison"]
    assert comparison["baseline"] == {"from": day(0), "to": day(5), "source": "first_days"}
    assert comparison["current"] == {"from": day(6), "to": day(19)}
    assert (comparison["comparable"], comparison["reason"]) == (True, None)
    assert comparison["measures"]["pain"]["baseline_mean"] == 8.0
    assert comparison["measures"]["pain"]["classification"] == "substantial_improvement"


def test_too_few_logged_days_in_a_window_is_not_comparable():
    entries = [entry(n, pain=8) for n in range(3)] + [entry(n, pain=3) for n in range(14, 28)]
    comparison = report(entries, 0, 27, regimen((0, 1500)))["baseline_comparison"]
    assert (comparison["comparable"], comparison["reason"]) == (False, "too_few_days")
    assert comparison["measures"]["pain"]["classification"] == "insufficient_data"
    assert comparison["measures"]["pain"]["baseline_mean"] == 8.0  # the means are still shown


def test_current_window_across_two_steps_names_them():
    entries = [entry(n, pain=5) for n in range(42)]
    comparison = report(entries, 0, 41, regimen((14, 1500), (35, 3000)))["baseline_comparison"]
    assert comparison["current"] == {"from": day(28), "to": day(41), "mixed_steps": [1.5, 3]}
    single = report(entries, 0, 41, regimen((14, 1500)))["baseline_comparison"]
    assert "mixed_steps" not in single["current"]


# -- 6. side-effect episodes ----------------------------------------------------------------------


def test_a_headache_present_before_treatment_is_not_an_onset_after_a_dose_change():
    # Step on day 14; period days 20-40 (after the baseline). Headache on days 3-10 and 25-27.
    entries = [
        entry(n, pain=5, side_effects=[effect("headache")] if 3 <= n <= 10 or 25 <= n <= 27 else [])
        for n in range(41)
    ]
    headache = report(entries, 20, 40, regimen((14, 1500)))["side_effects"]["headache"]
    assert headache["present_at_baseline"] is True
    assert headache["onset_days_after_dose_change"] is None
    assert headache["episodes"] == [
        {
            "start": day(25),
            "end": day(27),
            "days_reported": 3,
            "max_severity": "mild",
            "dose_mg_at_onset": 1.5,
            "onset_days_after_step": 11,
            "status": "resolved",
        }
    ]


def test_vivid_dreams_that_stop_and_return_on_the_next_step_are_two_episodes():
    # Steps: 1.5 mg day 0, 3 mg day 20. Dreams days 1-5, quiet 6-21 (16 logged days), back 22-24.
    # Day 30 is not logged, so the diary's gap does not end an episode: dreams on 29 and 31 stay one.
    effects = {
        n: [effect("vivid_dreams", "moderate" if n == 23 else "mild")] for n in [*range(1, 6), 22, 23, 24]
    }
    entries = [entry(n, pain=4, side_effects=effects.get(n, [])) for n in range(-14, 35) if n != 30]
    dreams = report(entries, 0, 34, regimen((0, 1500), (20, 3000)))["side_effects"]["vivid_dreams"]
    assert dreams["present_at_baseline"] is False  # logged before treatment, without dreams
    assert dreams["onset_days_after_dose_change"] == 1
    assert [
        (
            e["start"],
            e["end"],
            e["days_reported"],
            e["max_severity"],
            e["dose_mg_at_onset"],
            e["onset_days_after_step"],
            e["status"],
        )
        for e in dreams["episodes"]
    ] == [
        (day(1), day(5), 5, "mild", 1.5, 1, "resolved"),
        (day(22), day(24), 3, "moderate", 3, 2, "resolved"),
    ]
    assert dreams["status"] == "resolved"


def test_an_episode_is_split_by_seven_logged_days_without_it_not_by_six():
    def diary(quiet_days):
        days = [0] + [1 + i for i in range(quiet_days)] + [1 + quiet_days]
        return [entry(n, pain=3, side_effects=[effect("nausea")] if n in (0, days[-1]) else []) for n in days]

    assert len(report(diary(6), 0, 20)["side_effects"]["nausea"]["episodes"]) == 1
    assert len(report(diary(7), 0, 20)["side_effects"]["nausea"]["episodes"]) == 2


def test_other_side_effects_are_grouped_by_their_note():
    entries = [
        entry(0, pain=3, side_effects=[effect("other", "mild", "  Itching ")]),
        entry(1, pain=3, side_effects=[effect("other", "severe", "itching")]),
        entry(2, pain=3, side_effects=[effect("other", "moderate", "ringing  in ears")]),
    ]
    rep = report(entries, 0, 2)
    assert list(rep["side_effects"]) == ["other: Itching", "other: ringing in ears"]
    assert rep["side_effects"]["other: Itching"]["days_reported"] == 2
    assert rep["side_effects"]["other: Itching"]["max_severity"] == "severe"
    severe = next(f for f in rep["flags"] if f["code"] == "severe_side_effect")
    assert severe["message"] == "Severe side effect in the last 30 days: other: Itching."
    rows = analysis.daily_rows(rep, None, entries, [])
    assert rows[1]["side_effects"] == [{"name": "other: Itching", "severity": "severe", "episode": 1}]


@pytest.mark.parametrize(
    "severe_day, visits, raised",
    [
        (5, [], False),  # no appointment: the last 30 days of a 40-day period are days 10-39
        (10, [], True),
        (9, [], False),
        (21, [20], True),  # after the last appointment (day 20)
        (20, [20], False),  # on the visit day itself: seen at the visit
        (25, [20, 39], True),  # a visit on the period's last day is not "the last appointment before"
        (2, [-5], True),  # the last visit before the period: the whole period counts
    ],
)
def test_severe_side_effect_window_follows_the_last_appointment(severe_day, visits, raised):
    entries = [
        entry(n, pain=4, side_effects=[effect("headache", "severe")] if n == severe_day else [])
        for n in range(40)
    ]
    rep = report(entries, 0, 39, appointments=[day(v) for v in visits])
    assert ("severe_side_effect" in codes(rep)) is raised
