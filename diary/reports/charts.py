"""Inline SVG charts of a report, rendered on the server, each with its numbers as text.

Hand-written SVG rather than a charting library: each chart here is a few
paths and lines on a day axis; the dose band, staggered step labels, gaps for
missing days and print sizing would need custom work in any library anyway,
and a library such as pygal emits its own inline styles and script hooks that
a strict Content-Security-Policy page then has to strip. Colours are
presentation attributes (allowed by the CSP), layout lives in the static
stylesheet.

Sizes: every chart is drawn in user units with FONT-unit text. The timeline is
TIMELINE_WIDTH wide and spans the page; the small charts are SMALL_WIDTH wide,
two to a row on a desktop and in print. At a 1366 px window (1060 px of chart)
and on A4 paper (about 718 px of print width) that keeps text at 12 px or more
and 8 pt or more (``tests/web/test_report_visit.py`` measures it in Chromium).
"""

import html
from datetime import date

from markupsafe import Markup, escape

from diary import measures

FONT = 15
CHAR_WIDTH = 0.6 * FONT  # a generous average glyph width, for placing labels without overlap
TIMELINE_WIDTH = 960
SMALL_WIDTH, SMALL_HEIGHT = 480, 124
LEFT, RIGHT = 118, 16  # timeline margins: room for lane names on the left
SMALL_LEFT, SMALL_RIGHT, SMALL_TOP, AXIS_HEIGHT = 40, 14, 30, 26

# Colour-blind-safe marks (Okabe-Ito and Paul Tol hues), each at least 3:1 against white
# (tests/web/test_report_visit.py computes the ratios); severity and dose status are told
# apart by mark height too, so the charts read without colour.
BACKGROUND = "#ffffff"
DAILY_COLOUR = "#555555"
MEAN_COLOUR = "#0072B2"
BASELINE_COLOUR = "#D55E00"
DOSE_COLOUR = "#5e3c99"
SEVERITY_COLOURS = {"mild": "#0072B2", "moderate": "#D55E00", "severe": "#7F0000"}
SEVERITY_HEIGHT = {"mild": 0.4, "moderate": 0.7, "severe": 1.0}
# Adherence strip: (colour, tall) per planned-day status; tall marks are days a dose was taken.
DOSE_MARKS = {
    "on_plan": ("#117733", True),
    "off_plan": ("#AA4499", True),
    "skipped": ("#D55E00", False),
    "missed": ("#D55E00", False),
    "unrecorded": ("#767676", False),
}
MARK_COLOURS = (
    DAILY_COLOUR,
    MEAN_COLOUR,
    BASELINE_COLOUR,
    DOSE_COLOUR,
    *SEVERITY_COLOURS.values(),
    *(c for c, _ in DOSE_MARKS.values()),
)
# The page's legend draws its swatches in the chart colours.
LEGEND = {
    "daily": DAILY_COLOUR,
    "mean": MEAN_COLOUR,
    "baseline": BASELINE_COLOUR,
    "dose": DOSE_COLOUR,
    **SEVERITY_COLOURS,
    **{status: colour for status, (colour, _) in DOSE_MARKS.items()},
}
GRID_COLOUR = "#e5e7eb"
TEXT_COLOUR = "#374151"
BASELINE_SHADE = "#f3f4f6"

# The small charts, in page order (pain is on the timeline). Sleep hours are drawn to
# 12 h, or further when the diary holds longer nights, up to 24 h.
SMALL_CHARTS = ("pain_worst", "fatigue", "mood", "sleep_quality", "function", "sleep_hours")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class _Axis:
    """Map diary days to x and values to y in one chart's plot area."""

    def __init__(self, period, left, width):
        self.first = date.fromisoformat(period["from"]).toordinal()
        self.days = period["days"]
        self.left, self.right = left, width
        self.step = (width - left) / self.days
        # Day text -> index, built once: a 730-day page places thousands of points.
        self.index = {date.fromordinal(self.first + i).isoformat(): i for i in range(self.days)}

    def x(self, day_text):
        i = self.index.get(day_text)
        if i is None:
            i = date.fromisoformat(day_text).toordinal() - self.first
        return self.left + (i + 0.5) * self.step

    def edge(self, day_text):
        """The left edge of a day's slot."""
        return self.x(day_text) - self.step / 2


class _Scale:
    """Map a value range to a vertical band [top, bottom]."""

    def __init__(self, top, bottom, y_min, y_max):
        self.top, self.bottom, self.y_min, self.y_max = top, bottom, y_min, y_max

    def y(self, value):
        return self.bottom - (value - self.y_min) / (self.y_max - self.y_min) * (self.bottom - self.top)


def _fmt(number):
    return f"{number:.1f}"


def _text(x, y, words, anchor="start", cls="label", fill=TEXT_COLOUR, extra=""):
    return (
        f'<text x="{_fmt(x)}" y="{_fmt(y)}" text-anchor="{anchor}" class="{cls}" fill="{fill}"{extra}>'
        f"{escape(words)}</text>"
    )


def day_label(day_text, with_year):
    """'3 Dec', or '3 Dec 2026' when the period crosses a year."""
    d = date.fromisoformat(day_text)
    return f"{d.day} {MONTHS[d.month - 1]}" + (f" {d.year}" if with_year else "")


def crosses_year(period):
    return period["from"][:4] != period["to"][:4]


def _date_ticks(axis, period, y):
    with_year = crosses_year(period)
    label_width = len(day_label(period["to"], with_year)) * CHAR_WIDTH + 24
    count = max(1, min(7, period["days"], int((axis.right - axis.left) // label_width)))
    out = []
    for k in range(count):
        offset = round(k * (axis.days - 1) / max(1, count - 1))
        text = date.fromordinal(axis.first + offset).isoformat()
        x = axis.x(text)
        anchor = "middle"
        if count > 1 and k == 0:
            anchor, x = "start", axis.left
        elif count > 1 and k == count - 1:
            anchor, x = "end", axis.right
        out.append(
            f'<line x1="{_fmt(axis.x(text))}" x2="{_fmt(axis.x(text))}" y1="{y - FONT - 6}" '
            f'y2="{y - FONT - 2}" stroke="{TEXT_COLOUR}"/>'
            + _text(x, y, day_label(text, with_year), anchor, "tick")
        )
    return "".join(out)


def _steps(report):
    return sorted(((report.get("regimen") or {}).get("steps") or []), key=lambda s: s["start_date"])


def step_segments(report):
    """Return (from, to, dose_mg) of each dose step in force during the period, oldest first."""
    period = report["period"]
    steps = _steps(report)
    out = []
    for i, step in enumerate(steps):
        end = period["to"]
        if i + 1 < len(steps):
            end = date.fromordinal(date.fromisoformat(steps[i + 1]["start_date"]).toordinal() - 1).isoformat()
        start = max(step["start_date"], period["from"])
        end = min(end, period["to"])
        if start <= end:
            out.append((start, end, step["dose_mg"]))
    return out


def place_labels(labels, gap=CHAR_WIDTH):
    """Put (x, width) labels in rows so that no two in a row overlap; return each label's row.

    Greedy: each label goes to the first row whose last label ends before it starts.
    """
    ends, rows = [], []
    for x, width in labels:
        for row, end in enumerate(ends):
            if x >= end + gap:
                ends[row] = x + width
                rows.append(row)
                break
        else:
            ends.append(x + width)
            rows.append(len(ends) - 1)
    return rows


def _step_lines(axis, segments, top, bottom):
    parts = []
    for start, _, _ in segments[1:] if segments else ():
        x = _fmt(axis.edge(start))
        parts.append(
            f'<line x1="{x}" x2="{x}" y1="{top}" y2="{bottom}" stroke="{DOSE_COLOUR}" '
            f'stroke-dasharray="4 3" stroke-width="1.5" class="step"/>'
        )
    return "".join(parts)


def _series_path(axis, scale, points):
    # Consecutive days are joined; a missing day breaks the line (missing is not zero).
    commands, previous = [], None
    for point in points:
        ordinal = axis.index.get(point["date"])
        if ordinal is None:
            continue
        verb = "L" if previous is not None and ordinal == previous + 1 else "M"
        commands.append(f"{verb}{_fmt(axis.x(point['date']))} {_fmt(scale.y(point['value']))}")
        previous = ordinal
    return " ".join(commands)


def _dots_path(axis, scale, points):
    return " ".join(
        f"M{_fmt(axis.x(p['date']))} {_fmt(scale.y(p['value']))}h0" for p in points if p["date"] in axis.index
    )


def _svg(chart_id, title, desc, body, width, height):
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {_fmt(height)}" class="chart-svg" '
        f'font-size="{FONT}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def _scale_words(name):
    m = measures.BY_NAME[name]
    if m.unit == "h":
        return "hours slept"
    return f"{m.minimum} {m.low_word} – {m.maximum} {m.high_word}"


def _y_max(name, data):
    m = measures.BY_NAME[name]
    if m.unit != "h":
        return m.maximum
    top = max([12.0] + [p["value"] for p in data["daily"]])
    return min(24, 6 * -(-int(top) // 6) if top > 12 else 12)


def _measure_panel(axis, scale, report, name, with_shade):
    """Grid, baseline window and mean, daily dots and 7-day mean of one measure."""
    data = report["measures"][name]
    parts = []
    span = scale.y_max - scale.y_min
    for value in (scale.y_min, scale.y_min + span / 2, scale.y_max):
        y = _fmt(scale.y(value))
        parts.append(
            f'<line x1="{axis.left}" x2="{axis.right}" y1="{y}" y2="{y}" stroke="{GRID_COLOUR}"/>'
            + _text(axis.left - 6, scale.y(value) + FONT / 3, f"{value:g}", "end", "tick")
        )
    bc = report["baseline_comparison"]
    window = bc.get("baseline") or {}
    if with_shade and window.get("from") and window.get("to"):
        lo, hi = max(window["from"], report["period"]["from"]), min(window["to"], report["period"]["to"])
        if lo <= hi:
            x0, x1 = axis.edge(lo), axis.edge(hi) + axis.step
            parts.append(
                f'<rect x="{_fmt(x0)}" y="{scale.top}" width="{_fmt(x1 - x0)}" '
                f'height="{_fmt(scale.bottom - scale.top)}" fill="{BASELINE_SHADE}" class="baseline-window"/>'
            )
    base = (bc.get("measures") or {}).get(name, {}).get("baseline_mean")
    if base is not None:
        y = scale.y(base)
        parts.append(
            f'<line x1="{axis.left}" x2="{axis.right}" y1="{_fmt(y)}" y2="{_fmt(y)}" stroke="{BASELINE_COLOUR}" '
            f'stroke-width="2" stroke-dasharray="8 4" class="baseline-mean"/>'
            + _text(
                axis.right - 2,
                y - 5,
                f"baseline {base:g}",
                "end",
                "baseline-label",
                BASELINE_COLOUR,
                # A white halo keeps the label readable over the daily dots.
                ' stroke="#ffffff" stroke-width="4" paint-order="stroke"',
            )
        )
    parts.append(
        f'<path d="{_dots_path(axis, scale, data["daily"])}" stroke="{DAILY_COLOUR}" stroke-width="6" '
        f'stroke-linecap="round" fill="none" class="daily"/>'
        f'<path d="{_series_path(axis, scale, data["rolling_7d"])}" stroke="{MEAN_COLOUR}" stroke-width="3" '
        f'fill="none" class="rolling"/>'
    )
    return "".join(parts)


def _measure_summary(report, name):
    data = report["measures"][name]
    label = measures.BY_NAME[name].label
    if not data["n"]:
        return f"No {label.lower()} logged in this period."
    last = data["rolling_7d"][-1]["value"] if data["rolling_7d"] else None
    base = (report["baseline_comparison"].get("measures") or {}).get(name, {}).get("baseline_mean")
    return (
        f"{label}: {data['n']} days logged of {report['period']['days']}; mean {data['mean']}, "
        f"range {data['min']}-{data['max']}"
        + (f"; baseline mean {base}" if base is not None else "")
        + (f"; latest 7-day mean {last}" if last is not None else "")
        + "."
    )


def _measure_rows(data):
    rolling = {p["date"]: p["value"] for p in data["rolling_7d"]}
    daily = {p["date"]: p["value"] for p in data["daily"]}
    return [(day, daily.get(day, ""), rolling.get(day, "")) for day in sorted(set(daily) | set(rolling))]


def small_chart(report, name):
    """Return a chart dict for one measure: daily values, 7-day mean, baseline mean, dose steps."""
    period = report["period"]
    data = report["measures"][name]
    label = measures.BY_NAME[name].label
    axis = _Axis(period, SMALL_LEFT, SMALL_WIDTH - SMALL_RIGHT)
    bottom = SMALL_HEIGHT - AXIS_HEIGHT - 4
    scale = _Scale(SMALL_TOP, bottom, 0, _y_max(name, data))
    body = (
        _text(4, FONT + 2, _scale_words(name), "start", "axis-title")
        + _measure_panel(axis, scale, report, name, with_shade=False)
        + _step_lines(axis, step_segments(report), SMALL_TOP, bottom)
        + _date_ticks(axis, period, SMALL_HEIGHT - 6)
    )
    summary = _measure_summary(report, name)
    chart_id = "chart-" + name
    return {
        "id": chart_id,
        "title": label if measures.BY_NAME[name].unit == "h" else f"{label} ({measures.BY_NAME[name].scale})",
        "summary": summary,
        "svg": _svg(chart_id, f"{label} with 7-day mean", summary, body, SMALL_WIDTH, SMALL_HEIGHT),
        "tables": [_table(f"Numbers for {label}", ("Date", label, "7-day mean"), _measure_rows(data))],
    }


def _table(caption, columns, rows):
    return {"caption": caption, "columns": columns, "body": table_body(rows)}


def _short(name, room):
    chars = int(room // CHAR_WIDTH)
    return name if len(name) <= chars else name[: chars - 1] + "…"


def timeline(report, days):
    """Return the treatment timeline: dose band, pain, side-effect episodes and adherence on one day axis."""
    period = report["period"]
    axis = _Axis(period, LEFT, TIMELINE_WIDTH - RIGHT)
    segments = step_segments(report)
    parts = []
    # Dose step labels above the band, staggered into rows so that none overlap.
    labels = [f"{mg:g} mg" for _, _, mg in segments]
    boxes = [(axis.edge(start), len(text) * CHAR_WIDTH) for (start, _, _), text in zip(segments, labels)]
    rows = place_labels(boxes)
    label_rows = (max(rows) + 1) if rows else 0
    row_h = FONT + 5
    band_top = 8 + row_h * label_rows
    for (x, _), text, row in zip(boxes, labels, rows):
        parts.append(_text(x + 2, 6 + row_h * (row + 1) - 4, text, "start", "step-label", DOSE_COLOUR))
    band_h = 36
    band_bottom = band_top + band_h
    top_mg = max([mg for _, _, mg in segments] or [1])
    parts.append(_text(LEFT - 6, band_bottom - 4, "Dose", "end", "lane"))
    parts.append(
        f'<line x1="{LEFT}" x2="{axis.right}" y1="{band_bottom}" y2="{band_bottom}" stroke="{GRID_COLOUR}"/>'
    )
    for start, end, mg in segments:
        h = max(4.0, band_h * mg / top_mg) if mg else 2.0
        x0, x1 = axis.edge(start), axis.edge(end) + axis.step
        parts.append(
            f'<rect x="{_fmt(x0)}" y="{_fmt(band_bottom - h)}" width="{_fmt(x1 - x0)}" height="{_fmt(h)}" '
            f'fill="{DOSE_COLOUR}" class="dose-step"/>'
        )
    if not segments:
        parts.append(_text(LEFT + 4, band_bottom - 8, "No dose step in this period", "start", "tick"))
    # Pain, with its baseline window shaded and the baseline mean as a reference line.
    pain_top = band_bottom + 14 + FONT + 6
    pain_bottom = pain_top + 116
    parts.append(_text(LEFT, pain_top - 8, f"Pain ({_scale_words('pain')})", "start", "axis-title"))
    scale = _Scale(pain_top, pain_bottom, 0, 10)
    parts.append(_measure_panel(axis, scale, report, "pain", with_shade=True))
    # Side-effect episodes: one lane per side effect, a bar per episode, by its worst severity.
    lanes = side_effect_lanes(report)
    names = list(lanes)
    lane_h = FONT + 5
    lanes_top = pain_bottom + 14
    parts.append(_text(LEFT, lanes_top + FONT, "Side effects", "start", "axis-title"))
    lanes_top += FONT + 6
    if not names:
        parts.append(_text(LEFT + 4, lanes_top + lane_h - 5, "None reported in this period", "start", "lane"))
        parts.append(
            f'<line x1="{LEFT}" x2="{axis.right}" y1="{lanes_top + lane_h}" y2="{lanes_top + lane_h}" '
            f'stroke="{GRID_COLOUR}"/>'
        )
    for i, name in enumerate(names):
        y0 = lanes_top + i * lane_h
        shown = name.replace("_", " ")
        parts.append(
            f'<text x="{LEFT - 6}" y="{_fmt(y0 + lane_h - 5)}" text-anchor="end" class="lane" fill="{TEXT_COLOUR}">'
            f"<title>{escape(shown)}</title>{escape(_short(shown, LEFT - 10))}</text>"
            f'<line x1="{LEFT}" x2="{axis.right}" y1="{y0 + lane_h}" y2="{y0 + lane_h}" stroke="{GRID_COLOUR}"/>'
        )
        for episode in lanes.get(name, ()):
            lo, hi = max(episode["start"], period["from"]), min(episode["end"], period["to"])
            if lo > hi:
                continue
            severity = episode.get("max_severity")
            h = (lane_h - 4) * SEVERITY_HEIGHT.get(severity, 0.4)
            x0, x1 = axis.edge(lo), axis.edge(hi) + axis.step
            parts.append(
                f'<rect x="{_fmt(x0)}" y="{_fmt(y0 + lane_h - 1 - h)}" width="{_fmt(max(2.0, x1 - x0))}" '
                f'height="{_fmt(h)}" fill="{SEVERITY_COLOURS.get(severity, DAILY_COLOUR)}" '
                f'class="episode severity-{escape(severity or "unknown")}"/>'
            )
    lanes_bottom = lanes_top + lane_h * max(1, len(names))
    # Adherence: a mark per planned day, tall when a dose was taken.
    strip_top = lanes_bottom + 8
    strip_h = 24
    parts.append(_text(LEFT - 6, strip_top + strip_h - 5, "Doses taken", "end", "lane"))
    weeks = _adherence_marks(axis, days, strip_top, strip_h, parts)
    strip_bottom = strip_top + strip_h
    parts.append(_step_lines(axis, segments, band_top, strip_bottom))
    height = strip_bottom + 12 + FONT + 6
    parts.append(_date_ticks(axis, period, height - 6))
    summary = _timeline_summary(report, segments)
    return {
        "id": "chart-timeline",
        "title": "Treatment timeline",
        # The caption is the pain sentence; the chart's description holds every lane in words.
        "summary": _measure_summary(report, "pain"),
        "svg": _svg("chart-timeline", "Treatment timeline", summary, "".join(parts), TIMELINE_WIDTH, height),
        "steps": [
            {"from": start, "to": end, "dose_mg": mg, "label": day_label(start, crosses_year(period))}
            for start, end, mg in segments
        ],
        "tables": [
            _table(
                "Numbers for pain", ("Date", "Pain", "7-day mean"), _measure_rows(report["measures"]["pain"])
            ),
            _side_effect_table(report),
            _table("Doses by week", ("Week starting", "Planned days", "Taken days"), weeks),
        ],
    }


def side_effect_lanes(report):
    """Return lane name -> episodes: one lane per side effect, every `other` (grouped by note) in one lane."""
    lanes = {}
    for name, effect in report["side_effects"].items():
        lane = "other" if name.startswith("other: ") else name
        lanes.setdefault(lane, []).extend(effect.get("episodes") or ())
    return lanes


def _adherence_marks(axis, days, top, height, parts):
    width = max(1.0, axis.step - 0.6)
    weeks = {}
    for day in days:
        if day["planned_dose_mg"] is None or day["date"] not in axis.index:
            continue
        status = day.get("dose_status")  # absent from snapshots stored before it existed
        if status is None and "dose_status" in day:
            continue  # today, before its dose is due
        taken = day["dose_taken_mg"] is not None
        colour, tall = DOSE_MARKS.get(status, DOSE_MARKS["on_plan"] if taken else DOSE_MARKS["missed"])
        h = height if tall else height * 0.4
        parts.append(
            f'<rect x="{_fmt(axis.edge(day["date"]) + 0.3)}" y="{_fmt(top + height - h)}" width="{_fmt(width)}" '
            f'height="{_fmt(h)}" fill="{colour}" class="dose-mark"/>'
        )
        d = date.fromisoformat(day["date"])
        monday = date.fromordinal(d.toordinal() - d.weekday()).isoformat()
        week = weeks.setdefault(monday, [0, 0])
        week[0] += 1
        week[1] += taken
    return [(monday, planned, taken) for monday, (planned, taken) in sorted(weeks.items())]


def _timeline_summary(report, segments):
    parts = [_measure_summary(report, "pain")]
    if segments:
        parts.append("Dose steps: " + ", ".join(f"{mg:g} mg from {start}" for start, _, mg in segments) + ".")
    effects = report["side_effects"]
    if effects:
        parts.append(
            "Side effects: "
            + "; ".join(
                f"{name.replace('_', ' ')} {len(s.get('episodes') or [])} episode(s), worst {s['max_severity']}, "
                f"{s['status']}"
                for name, s in effects.items()
            )
            + "."
        )
    else:
        parts.append("No side effects reported.")
    adherence = report["doses"]["adherence"]
    if adherence["planned_days"]:
        parts.append(
            f"Doses taken on {adherence['taken_days']} of {adherence['planned_days']} planned days "
            f"({round(adherence['fraction'] * 100)}%)."
        )
    return " ".join(parts)


def _side_effect_table(report):
    rows = [
        (
            name.replace("_", " "),
            episode["start"],
            episode["end"],
            episode.get("max_severity") or "",
            "" if episode.get("dose_mg_at_onset") is None else f"{episode['dose_mg_at_onset']:g} mg",
        )
        for name, s in report["side_effects"].items()
        for episode in s.get("episodes") or ()
    ]
    return _table("Side-effect episodes", ("Side effect", "From", "To", "Worst", "Dose at onset"), rows)


def _cell(value):
    # Numbers and dates need no escaping; any text is escaped.
    return html.escape(value) if isinstance(value, str) else str(value)


def table_body(rows):
    """Render table rows as escaped HTML in one pass (cheaper than a template loop per cell)."""
    return Markup(
        "".join("<tr><td>" + "</td><td>".join(_cell(cell) for cell in row) + "</td></tr>" for row in rows)
    )


def all_charts(report, days):
    """Return (timeline, small charts) of the report page, in page order."""
    return timeline(report, days), [small_chart(report, name) for name in SMALL_CHARTS]
