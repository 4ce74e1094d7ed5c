"""The patient's own words in a report period: diary notes and notes on `other` side effects."""


def period_notes(days):
    """Return [{date, kind, text}] of a report's per-day rows, newest first.

    ``kind`` is ``diary`` for the entry's note and ``other side effect`` for the
    note on an ``other`` side effect. Snapshots stored before per-day rows
    carried ``other_notes`` read it from the side effect's shown name.
    """
    out = []
    for day in reversed(days):
        if "other_notes" in day:
            others = day["other_notes"]
        else:
            others = [
                s["name"][len("other: ") :]
                for s in day.get("side_effects") or ()
                if s["name"].startswith("other: ")
            ]
        if (day.get("notes") or "").strip():
            out.append({"date": day["date"], "kind": "diary", "text": day["notes"]})
        out.extend({"date": day["date"], "kind": "other side effect", "text": text} for text in others)
    return out


def header(regimen, patient):
    """Return what the report page's header shows beyond the report: reference, dose time, other medications."""
    return {
        "external_ref": patient.get("external_ref"),
        "dose_time": (regimen or {}).get("dose_time"),
        "other_medications": list((regimen or {}).get("other_medications") or []),
    }
