"""Hand-built diary rows for the analysis tests: days counted from a fixed first day."""

from datetime import date, timedelta

from diary.measures import MEASURES


class Days:
    """Day numbers from ``first`` as diary dates and entries."""

    def __init__(self, first: date):
        self.first = first

    def day(self, n):
        """Return the date text of day ``n``."""
        return (self.first + timedelta(days=n)).isoformat()

    def entry(self, n, **values):
        """Return an entry row for day ``n``: every measure missing unless given."""
        row = dict.fromkeys(MEASURES)
        row.update(date=self.day(n), side_effects=[], notes=None)
        row.update(values)
        return row


def effect(name, severity="mild", note=None):
    """Return a side-effect report."""
    return {"name": name, "severity": severity, "note": note}


def codes(report):
    """Return the report's flag codes in order."""
    return [f["code"] for f in report["flags"]]
