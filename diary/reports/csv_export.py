"""Render a report's per-day rows as CSV: one row per day of the period.

Columns, named like the API fields:
``date, pain, pain_worst, fatigue, mood, sleep_quality, function, sleep_hours,
dose_taken_mg, doses_taken, planned_dose_mg, dose_status, window, comparable,
side_effects, side_effect_episodes, peg_score, pgic, notes`` (notes, the free text, last).
- A day without an entry has empty measure cells (missing, never zero).
- ``dose_taken_mg``: total taken of the regimen's medication for that planned day
  (a bedtime dose taken after midnight counts for the evening before); empty when none.
  ``doses_taken``: how many taken doses (more than 1: an extra dose).
- ``planned_dose_mg``: the regimen step in force that day; empty before the first step.
- ``dose_status`` on planned days: ``on_plan`` (the planned amount), ``off_plan``
  (another amount), ``skipped``, ``missed`` (the day was recorded, no dose) or
  ``unrecorded`` (nothing at all logged); empty on other days and for today
  before its dose.
- ``window``: ``baseline`` or ``current`` for the days of the report's comparison
  windows; ``comparable``: ``true``/``false`` on those days (false: the windows
  cannot be compared, see the report's ``baseline_comparison.reason``).
- ``side_effects``: ``name:severity`` pairs joined by ``;``
  (``headache:mild;other: itching:moderate``; an ``other`` side effect is named
  by its note, as in the report); ``side_effect_episodes``: ``name:episode``
  pairs, the episode's number in the report's ``side_effects[name].episodes``.
- ``notes``: the patient's free text; a note starting with ``= + - @`` (after any spaces,
  tabs or line breaks) gets a leading apostrophe so a spreadsheet shows it as text
  instead of running it as a formula (OWASP "CSV Injection").
- ``peg_score``: the PEG score answered that day (mean of its 3 items; empty when not
  answered or incomplete); ``pgic``: the PGIC answer that day (1 very much improved ...
  7 very much worse).
Comma separated, RFC 4180 quoting, UTF-8 without BOM, CRLF line ends.
"""

import csv
import io

from diary.measures import MEASURES

COLUMNS = (
    ("date",)
    + MEASURES
    + ("dose_taken_mg", "doses_taken", "planned_dose_mg", "dose_status", "window", "comparable")
    + ("side_effects", "side_effect_episodes", "peg_score", "pgic", "notes")
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _safe_text(text):
    # Spreadsheets skip leading spaces and line breaks before reading a formula.
    if text and (text.startswith(FORMULA_STARTS) or text.lstrip(" \n\r\t").startswith(FORMULA_STARTS)):
        return "'" + text
    return text


def render_csv(days):
    """Return the CSV text for the per-day rows of a report."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for day in days:
        # A ';' inside an other side effect's note would split the pair.
        named = [(s["name"].replace(";", ","), s) for s in day["side_effects"]]
        effects = ";".join(f"{name}:{s['severity']}" for name, s in named)
        episodes = ";".join(f"{name}:{s['episode']}" for name, s in named if s.get("episode"))
        writer.writerow(
            [day["date"]]
            + [_cell(day[m]) for m in MEASURES]
            + [
                _cell(day["dose_taken_mg"]),
                _cell(day["doses_taken"] or None),
                _cell(day["planned_dose_mg"]),
                _cell(day["dose_status"]),
                _cell(day["window"]),
                _cell(day["comparable"]),
                effects,
                episodes,
                # A snapshot made before the questionnaires has no such keys.
                _cell(day.get("peg_score")),
                _cell(day.get("pgic")),
                _cell(_safe_text(day["notes"])),
            ]
        )
    return out.getvalue()
