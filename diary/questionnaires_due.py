"""Which weekly questionnaires are due for a patient today: the rows the pure rule needs, read once.

The rule itself is ``questionnaires.is_due`` (pure); the patient app's list
(``GET /me/questionnaires``) and the questionnaire reminder both ask here.
"""

from datetime import date

from diary import people, questionnaires, records
from diary.reports.fetch import appointment_days


def due_today(conn, patient_id, timezone, today):
    """Return ``({instrument: due}, {instrument: last answered day text or None})`` on local ``today``."""
    regimen = people.get_regimen(conn, patient_id)
    steps = (regimen or {}).get("steps") or []
    start = date.fromisoformat(steps[0]["start_date"]) if steps else None
    visits = [d for d in appointment_days(conn, patient_id, timezone) if d > today]
    last = records.last_answered(conn, patient_id)
    due = {
        ident: questionnaires.is_due(
            ident, today, date.fromisoformat(last[ident]) if ident in last else None, start, visits
        )
        for ident in questionnaires.IDS
    }
    return due, {ident: last.get(ident) for ident in questionnaires.IDS}
