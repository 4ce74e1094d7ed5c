"""Inline SVG charts of a report, rendered on the server, each with its numbers as text.

Hand-written SVG rather than a charting library: each chart here is a few
paths and lines on a day axis; the dose-step markers, gaps for missing days
and print sizing would need custom work in any library anyway, and a library
such as pygal emits its own inline styles and script hooks that a strict
Content-Security-Policy page then has to strip. Colours are presentation
attributes (allowed by the CSP), layout lives in the static stylesheet.
"""

import html
from datetime import date

from markupsafe import Markup, escape

from diary import measures

WIDTH, HEIGHT = 720, 150
LEFT, RIGHT, TOP, BOTTOM = 72, 18, 18, 20
DAILY_COLOUR = "#6b7280"
MEAN_COLOUR = "#1d4ed8"
STEP_COLOUR = "#b45309"
SEVERITY_COLOURS = {"mild": "#fcd34d", "moderate": "#f97316", "severe": "#b91c1c"}
# Taller marks for worse severities, so the timeline reads without colour too.
SEVERITY_HEIGHT = {"mild": 0.45, "moderate": 0.7, "severe": 1.0}

# Charted measures in page order; titles and scales come from the one home of the measures.
# Sleep hours are drawn to 12 h: more than 12 would squash every real night into the bottom half.
LINE_CHARTS = tuple(
    (name, measures.BY_NAME[name].label, measures.BY_NAME[name].scale, 0, 12 if name == "sleep_hours" else 10)
    for name in ("pain", "sleep_quality", "sleep_hours", "mood", "fatigue")
)
# Adherence strip: (colour, tall) per planned-day status; tall marks are days a dose was taken.
DOSE_MARKS = {
    "on_plan": ("#15803d", True),
    "off_plan": ("#b45309", True),
    "skipped": ("#dc2626", False),
    "missed": ("#dc2626", False),
    "unrecorded": ("#9ca3af", False),
}


class _Axis:
    """Map diary days and values to SVG coordinates."""

    def __init__(self, first_day, days, y_min, y_max, height=HEIGHT):
        self.first = date.fromisoformat(first_day).toordinal()
        self.days = days
        self.y_min, self.y_max = y_min, y_max
        self.height = height
        self.step = (WIDTH - LEFT - RIGHT) / days
        # Day text -> index, built once: a 730-day page places thousands of points.
        self.index = {date.fromordinal(self.first + i).isoformat(): i for i in range(days)}

    def x(self, day_text):
        i = self.index.get(day_text)
        if i is None:
            i = date.fromisoformat(day_text).toordinal() - self.first
        return LEFT + (i + 0.5) * self.step

    def y(self, value):
        span = self.y_max - self.y_min
        return TOP + (self.y_max - value) / span * (self.height - TOP - BOTTOM)


def _fmt(number):
    return f"{number:.1f}"


def _date_ticks(axis, period):
    count = min(6, period["days"])
    first = axis.first
    out = []
    for k in range(count):
        offset = round(k * (axis.days - 1) / max(1, count - 1))
        text = date.fromordinal(first + offset).isoformat()
        x = axis.x(text)
        anchor = "end" if k == count - 1 and count > 1 else "middle"
        out.append(
            f'<text x="{_fmt(x)}" y="{axis.height - 5}" text-anchor="{anchor}" class="tick">{text[5:]}</text>'
        )
    return "".join(out)


def _frame(axis, period, grid_values):
    parts = []
    for value in grid_values:
        y = _fmt(axis.y(value))
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="#e5e7eb"/>'
            f'<text x="{LEFT - 4}" y="{y}" dy="3" text-anchor="end" class="tick">{value}</text>'
        )
    parts.append(_date_ticks(axis, period))
    return "".join(parts)


def _step_marks(axis, period, steps):
    parts = []
    for step in steps:
        if not (period["from"] <= step["start_date"] <= period["to"]):
            continue
        x = _fmt(axis.x(step["start_date"]) - axis.step / 2)
        parts.append(
            f'<line x1="{x}" x2="{x}" y1="{TOP - 6}" y2="{axis.height - BOTTOM}" '
            f'stroke="{STEP_COLOUR}" stroke-dasharray="3 2" class="step"/>'
            f'<text x="{x}" y="{TOP - 8}" dx="2" class="step-label" fill="{STEP_COLOUR}">'
            f"{escape(step['dose_mg'])} mg</text>"
        )
    return "".join(parts)


def _series_path(axis, points):
    # Consecutive days are joined; a missing day breaks the line (missing is not zero).
    commands, previous = [], None
    for point in points:
        ordinal = axis.index[point["date"]]
        verb = "L" if previous is not None and ordinal == previous + 1 else "M"
        commands.append(f"{verb}{_fmt(axis.x(point['date']))} {_fmt(axis.y(point['value']))}")
        previous = ordinal
    return " ".join(commands)


def _dots_path(axis, points):
    return " ".join(f"M{_fmt(axis.x(p['date']))} {_fmt(axis.y(p['value']))}h0" for p in points)


def _svg(chart_id, title, desc, body, height=HEIGHT):
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" class="chart-svg" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def line_chart(report, measure, title, scale, y_min, y_max):
    """Return a chart dict for one measure: daily values, 7-day mean, dose steps."""
    data = report["measures"][measure]
    period = report["period"]
    steps = (report["regimen"] or {}).get("steps") or []
    axis = _Axis(period["from"], period["days"], y_min, y_max)
    grid = [y_min, (y_min + y_max) // 2, y_max]
    body = (
        _frame(axis, period, grid)
        + _step_marks(axis, period, steps)
        + f'<path d="{_dots_path(axis, data["daily"])}" stroke="{DAILY_COLOUR}" stroke-width="4" '
        f'stroke-linecap="round" fill="none" class="daily"/>'
        + f'<path d="{_series_path(axis, data["rolling_7d"])}" stroke="{MEAN_COLOUR}" stroke-width="2" '
        f'fill="none" class="rolling"/>'
    )
    if data["n"]:
        last = data["rolling_7d"][-1]["value"] if data["rolling_7d"] else None
        summary = (
            f"{data['n']} days logged of {period['days']}; mean {data['mean']}, "
            f"range {data['min']}-{data['max']}"
            + (f"; latest 7-day mean {last}" if last is not None else "")
            + "."
        )
    else:
        summary = f"No {title.lower()} logged in this period."
    desc = summary
    if steps:
        desc += " Dose steps: " + ", ".join(f"{s['dose_mg']} mg from {s['start_date']}" for s in steps) + "."
    rolling = {p["date"]: p["value"] for p in data["rolling_7d"]}
    daily = {p["date"]: p["value"] for p in data["daily"]}
    rows = [(day, daily.get(day, ""), rolling.get(day, "")) for day in sorted(set(daily) | set(rolling))]
    chart_id = "chart-" + measure
    return {
        "id": chart_id,
        "title": f"{title} ({scale})",
        "summary": summary,
        "svg": _svg(chart_id, f"{title} with 7-day mean", desc, body),
        "columns": ("Date", title, "7-day mean"),
        "rows": rows,
    }


def side_effect_chart(report, days):
    """Return the side-effect timeline: one row per side effect, a mark per day reported."""
    period = report["period"]
    names = list(report["side_effects"])
    row_h = 16
    height = TOP + BOTTOM + row_h * max(1, len(names))
    axis = _Axis(period["from"], period["days"], 0, 1, height)
    parts = [_date_ticks(axis, period)]
    steps = (report["regimen"] or {}).get("steps") or []
    parts.append(_step_marks(axis, period, steps))
    width = max(1.0, axis.step - 0.6)
    for i, name in enumerate(names):
        y0 = TOP + i * row_h
        parts.append(
            f'<text x="{LEFT - 4}" y="{y0 + row_h - 4}" text-anchor="end" class="tick">'
            f"{escape(name.replace('_', ' '))}</text>"
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y0 + row_h - 1}" y2="{y0 + row_h - 1}" '
            f'stroke="#e5e7eb"/>'
        )
    rows_of = {name: i for i, name in enumerate(names)}
    for day in days:
        for effect in day["side_effects"]:
            i = rows_of.get(effect["name"])
            if i is None:
                continue
            severity = effect["severity"]
            h = (row_h - 3) * SEVERITY_HEIGHT.get(severity, 0.45)
            x = axis.x(day["date"]) - width / 2
            y = TOP + i * row_h + row_h - 1 - h
            parts.append(
                f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(width)}" height="{_fmt(h)}" '
                f'fill="{SEVERITY_COLOURS.get(severity, DAILY_COLOUR)}"/>'
            )
    if names:
        summary = (
            "; ".join(
                f"{name.replace('_', ' ')}: {s['days_reported']} days from {s['first_date']} to {s['last_date']}, "
                f"worst {s['max_severity']}, {s['status']}"
                for name, s in report["side_effects"].items()
            )
            + "."
        )
    else:
        summary = "No side effects reported in this period."
    rows = [
        (
            name,
            s["days_reported"],
            s["first_date"],
            s["last_date"],
            s["max_severity"],
            "" if s["onset_days_after_dose_change"] is None else s["onset_days_after_dose_change"],
            s["status"],
        )
        for name, s in report["side_effects"].items()
    ]
    return {
        "id": "chart-side-effects",
        "title": "Side effects (mark height: mild, moderate, severe)",
        "summary": summary,
        "svg": _svg("chart-side-effects", "Side-effect timeline", summary, "".join(parts), height),
        "columns": (
            "Side effect",
            "Days reported",
            "First",
            "Last",
            "Worst",
            "Onset (days after dose change)",
            "Status",
        ),
        "rows": rows,
    }


def adherence_chart(report, days):
    """Return the adherence strip: taken and missed planned days, with weekly counts."""
    period = report["period"]
    height = TOP + BOTTOM + 24
    axis = _Axis(period["from"], period["days"], 0, 1, height)
    parts = [
        _date_ticks(axis, period),
        _step_marks(axis, period, (report["regimen"] or {}).get("steps") or []),
    ]
    width = max(1.0, axis.step - 0.6)
    weeks = {}
    for day in days:
        if day["planned_dose_mg"] is None:
            continue
        status = day.get("dose_status")  # absent from snapshots stored before it existed
        if status is None and "dose_status" in day:
            continue  # today, before its dose is due
        taken = day["dose_taken_mg"] is not None
        colour, tall = DOSE_MARKS.get(status, ("#15803d", True) if taken else ("#dc2626", False))
        x = _fmt(axis.x(day["date"]) - width / 2)
        y, h = (TOP, 22) if tall else (TOP + 14, 8)
        parts.append(f'<rect x="{x}" y="{y}" width="{_fmt(width)}" height="{h}" fill="{colour}"/>')
        monday = date.fromordinal(
            date.fromisoformat(day["date"]).toordinal() - date.fromisoformat(day["date"]).weekday()
        ).isoformat()
        week = weeks.setdefault(monday, [0, 0])
        week[0] += 1
        week[1] += taken
    adherence = report["doses"]["adherence"]
    if adherence["planned_days"]:
        summary = (
            f"Doses taken on {adherence['taken_days']} of {adherence['planned_days']} planned days "
            f"({round(adherence['fraction'] * 100)}%); longest run of missed days "
            f"{adherence['longest_missed_streak']}. Tall marks: taken (green at the planned amount, "
            "amber at another); short marks: red skipped or missed, grey nothing recorded."
        )
    else:
        summary = "No planned doses in this period (no regimen step in force)."
    rows = [(monday, planned, taken) for monday, (planned, taken) in sorted(weeks.items())]
    return {
        "id": "chart-adherence",
        "title": "Dose adherence",
        "summary": summary,
        "svg": _svg("chart-adherence", "Dose adherence", summary, "".join(parts), height),
        "columns": ("Week starting", "Planned days", "Taken days"),
        "rows": rows,
    }


def _cell(value):
    # Numbers and dates need no escaping; any text is escaped.
    return html.escape(value) if isinstance(value, str) else str(value)


def table_body(rows):
    """Render table rows as escaped HTML in one pass (cheaper than a template loop per cell)."""
    return Markup(
        "".join("<tr><td>" + "</td><td>".join(_cell(cell) for cell in row) + "</td></tr>" for row in rows)
    )


def all_charts(report, days):
    """Return every chart of the report page, in page order, each with its table body rendered."""
    charts = [line_chart(report, *spec) for spec in LINE_CHARTS]
    charts.append(side_effect_chart(report, days))
    charts.append(adherence_chart(report, days))
    for chart in charts:
        chart["body"] = table_body(chart["rows"])
    return charts
