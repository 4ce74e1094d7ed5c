"""Render a report's per-day rows as CSV: one row per day of the period.

Columns, named like the API fields:
``date, pain, pain_worst, fatigue, mood, sleep_quality, function, sleep_hours,
dose_taken_mg, planned_dose_mg, side_effects, notes``.
- A day without an entry has empty measure cells (missing, never zero).
- ``dose_taken_mg``: total taken of the regimen's medication that local day; empty when none.
- ``planned_dose_mg``: the regimen step in force that day; empty before the first step.
- ``side_effects``: ``name:severity`` pairs joined by ``;`` (``headache:mild;vivid_dreams:moderate``).
- ``notes``: the patient's free text; a note starting with ``= + - @`` (after any spaces,
  tabs or line breaks) gets a leading apostrophe so a spreadsheet shows it as text
  instead of running it as a formula (OWASP "CSV Injection").
Comma separated, RFC 4180 quoting, UTF-8 without BOM, CRLF line ends.
"""

import csv
import io

from diary.reports.analysis import MEASURES

COLUMNS = ("date",) + MEASURES + ("dose_taken_mg", "planned_dose_mg", "side_effects", "notes")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
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
        effects = ";".join(f"{s['name']}:{s['severity']}" for s in day["side_effects"])
        writer.writerow(
            [day["date"]]
            + [_cell(day[m]) for m in MEASURES]
            + [
                _cell(day["dose_taken_mg"]),
                _cell(day["planned_dose_mg"]),
                effects,
                _cell(_safe_text(day["notes"])),
            ]
        )
    return out.getvalue()
