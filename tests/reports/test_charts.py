"""The report's charts and page parts as pure functions: sizes, palette, labels, axes, notes, flag groups."""

import re
from datetime import date, timedelta

import pytest

from diary.reports import analysis, charts, notes
from diary.reports.analysis import build_report, daily_rows
from diary.web.report_pages import css_string, period_errors


def _contrast(hex_colour, background="#ffffff"):
    def luminance(h):
        channels = [int(h.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    hi, lo = sorted((luminance(hex_colour), luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("colour", sorted(set(charts.MARK_COLOURS) | set(charts.LEGEND.values())))
def test_every_mark_colour_has_at_least_3_to_1_contrast_on_the_background(colour):
    assert _contrast(colour, charts.BACKGROUND) >= 3, colour


def test_contrast_formula_matches_known_ratios():
    assert round(_contrast("#000000"), 1) == 21.0
    assert round(_contrast("#767676"), 2) == 4.54  # the WCAG reference grey


def test_severities_and_dose_marks_differ_by_height_too_not_only_colour():
    assert len(set(charts.SEVERITY_HEIGHT.values())) == 3
    taken = {tall for status, (_, tall) in charts.DOSE_MARKS.items() if status in ("on_plan", "off_plan")}
    not_taken = {
        tall for status, (_, tall) in charts.DOSE_MARKS.items() if status not in ("on_plan", "off_plan")
    }
    assert taken == {True} and not_taken == {False}


def test_place_labels_never_lets_two_labels_in_a_row_overlap():
    labels = [(100, 60), (120, 60), (140, 60), (300, 60), (310, 60), (900, 60)]
    rows = charts.place_labels(labels, gap=5)
    assert rows == [0, 1, 2, 0, 1, 0]
    for i, (x, w) in enumerate(labels):
        for j, (x2, w2) in enumerate(labels):
            if i < j and rows[i] == rows[j]:
                assert x + w + 5 <= x2 or x2 + w2 + 5 <= x


def _report(first, days, steps, values=None, sleep=7.0, effects=None):
    patient = {"id": "p", "display_name": "Pat", "timezone": "Europe/London"}
    regimen = {
        "medication": "naltrexone",
        "dose_time": "21:00",
        "other_medications": ["tramadol"],
        "steps": [{"start_date": d.isoformat(), "dose_ug": ug} for d, ug in steps],
    }
    entries = []
    for n in range(days):
        day = first + timedelta(days=n)
        entries.append(
            {
                "date": day.isoformat(),
                "pain": (values or {}).get(n, 5),
                "pain_worst": 7,
                "fatigue": 4,
                "mood": 5,
                "sleep_quality": 5,
                "function": 5,
                "sleep_hours": sleep if n != 3 else 16.5,
                "side_effects": (effects or {}).get(n, []),
                "notes": f"note {n}" if n % 10 == 0 else None,
            }
        )
    last = first + timedelta(days=days - 1)
    report = build_report(patient, regimen, entries, [], first, last, today=last)
    return report, daily_rows(report, regimen, entries, [], last)


def test_dates_carry_the_year_when_the_period_crosses_a_year():
    report, days = _report(date(2025, 12, 1), 60, [(date(2025, 12, 15), 1500)])
    timeline, small = charts.all_charts(report, days)
    ticks = re.findall(r'class="tick"[^>]*>([^<]+)</text>', timeline["svg"])
    dated = [t for t in ticks if re.search(r"[A-Z][a-z]{2}", t)]
    assert dated and all(re.search(r" 20(25|26)$", t) for t in dated), dated
    report, days = _report(date(2026, 3, 1), 60, [(date(2026, 3, 15), 1500)])
    timeline, _ = charts.all_charts(report, days)
    ticks = re.findall(r'class="tick"[^>]*>([^<]+)</text>', timeline["svg"])
    assert not any("2026" in t for t in ticks)


def test_every_measure_has_a_chart_and_the_sleep_axis_covers_the_data():
    report, days = _report(date(2026, 3, 1), 30, [(date(2026, 3, 10), 1500)])
    timeline, small = charts.all_charts(report, days)
    charted = {"pain"} | {c["id"].removeprefix("chart-") for c in small}
    assert charted == set(analysis.MEASURES)
    sleep = next(c for c in small if c["id"] == "chart-sleep_hours")["svg"]
    # A 16.5 h night: the axis goes to 18 h (6-hour grid), not 12.
    assert re.search(r'class="tick"[^>]*>18</text>', sleep)
    assert "y_max" not in sleep
    assert charts._y_max("sleep_hours", {"daily": [{"value": 23.5}]}) == 24
    assert charts._y_max("sleep_hours", {"daily": [{"value": 7}]}) == 12


def test_y_axes_say_their_scale_words():
    report, days = _report(date(2026, 3, 1), 30, [(date(2026, 3, 10), 1500)])
    timeline, small = charts.all_charts(report, days)
    assert "0 none – 10 worst imaginable" in timeline["svg"]
    fatigue = next(c for c in small if c["id"] == "chart-fatigue")["svg"]
    assert "0 none – 10 exhausted" in fatigue
    assert "hours slept" in next(c for c in small if c["id"] == "chart-sleep_hours")["svg"]


def test_timeline_draws_each_step_baseline_and_all_other_side_effects_in_one_lane():
    effects = {
        2: [{"name": "other", "severity": "mild", "note": "itchy"}],
        20: [{"name": "other", "severity": "severe", "note": "dizzy"}],
        21: [{"name": "nausea", "severity": "moderate"}],
    }
    steps = [(date(2026, 3, 15) + timedelta(days=7 * k), ug) for k, ug in enumerate((500, 1000, 1500))]
    report, days = _report(date(2026, 3, 1), 40, steps, effects=effects)
    timeline, _ = charts.all_charts(report, days)
    svg = str(timeline["svg"])
    assert svg.count('class="dose-step"') == 3
    assert svg.count('class="step-label"') == 3
    assert 'class="baseline-mean"' in svg and 'class="baseline-window"' in svg
    assert set(charts.side_effect_lanes(report)) == {"other", "nausea"}
    assert svg.count("severity-severe") == 1 and svg.count("severity-mild") == 1
    assert svg.count("severity-moderate") == 1


def test_notes_are_newest_first_with_other_side_effect_notes():
    effects = {12: [{"name": "other", "severity": "mild", "note": "Itchy skin"}]}
    report, days = _report(date(2026, 3, 1), 30, [(date(2026, 3, 10), 1500)], effects=effects)
    found = notes.period_notes(days)
    assert [n["date"] for n in found] == sorted((n["date"] for n in found), reverse=True)
    assert {"date": "2026-03-13", "kind": "other side effect", "text": "Itchy skin"} in found
    assert {"date": "2026-03-21", "kind": "diary", "text": "note 20"} in found
    # A snapshot stored before per-day rows carried other_notes: read from the shown name.
    old = [dict(d) for d in days]
    for d in old:
        d.pop("other_notes")
    assert notes.period_notes(old) == found


def test_flags_are_grouped_safety_first_data_quality_last():
    flags = [
        {"code": "sparse_diary", "message": "thin"},
        {"code": "pain_worsening", "message": "worse"},
        {"code": "severe_side_effect", "message": "severe"},
        {"code": "opioid_co_medication", "message": "opioid"},
    ]
    groups = analysis.grouped_flags(flags)
    assert [g["group"] for g in groups] == ["safety", "clinical", "data_quality"]
    assert [f["code"] for f in groups[0]["flags"]] == ["severe_side_effect", "opioid_co_medication"]
    assert analysis.grouped_flags([]) == []


def test_css_string_escapes_everything_that_could_end_the_string():
    quoted = css_string('O\'Brien "x"; } @import url(evil)\\')
    assert quoted.startswith('"') and quoted.endswith('"')
    inner = quoted[1:-1]
    # Only letters, digits, spaces and hex escapes ("\\27 ") remain.
    assert re.fullmatch(r"(?:[A-Za-z0-9 ]|\\[0-9a-f]+ )*", inner), inner


def test_period_errors_are_sentences_naming_the_field():
    assert period_errors({"from": ["Not a valid date."], "_schema": ["Bad."]}) == [
        "From: Not a valid date.",
        "Period: Bad.",
    ]


def test_a_timeline_without_side_effects_says_so_in_full():
    report, days = _report(date(2026, 3, 1), 30, [(date(2026, 3, 10), 1500)])
    svg = str(charts.all_charts(report, days)[0]["svg"])
    assert ">None reported in this period</text>" in svg
    assert "…" not in svg and 'class="episode' not in svg
