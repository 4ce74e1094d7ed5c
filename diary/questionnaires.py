"""Validated weekly questionnaires (PEG, PGIC): one general model, each instrument a data file.

Pure: the instruments are read once from ``diary/data/questionnaires/<id>.json``
(items with their exact text, answer options, scoring rule, licence, citation and
codes); checking answers, scoring and the due rules are functions of plain values.
"""

import json
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

DATA_DIR: Final = Path(__file__).resolve().parent / "data" / "questionnaires"
# Order of the instruments everywhere (API, report, FHIR).
IDS: Final = ("peg", "pgic")


def _load(ident: str) -> dict[str, Any]:
    with open(DATA_DIR / f"{ident}.json", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    if data["id"] != ident:
        raise ValueError(f"{ident}.json names itself {data['id']!r}")
    return data


INSTRUMENTS: Final[dict[str, dict[str, Any]]] = {i: _load(i) for i in IDS}


def items(ident: str) -> dict[str, dict[str, Any]]:
    """Return an instrument's items by id, in order."""
    return {item["id"]: item for item in INSTRUMENTS[ident]["items"]}


def allowed_values(item: Mapping[str, Any]) -> list[int]:
    """Return the answers an item takes: its options' values, or its integer range."""
    if item["type"] == "choice":
        return [int(o["value"]) for o in item["options"]]
    return list(range(int(item["min"]), int(item["max"]) + 1))


def score(ident: str, answers: Mapping[str, int]) -> float | int | None:
    """Return the instrument's score from its scoring rule; None when an item it needs is missing.

    ``mean``: the mean of the items (PEG), rounded to the rule's places;
    ``value``: the one item's answer (PGIC).
    """
    rule = INSTRUMENTS[ident]["scoring"]
    needed = rule["items"]
    if any(answers.get(i) is None for i in needed):
        return None
    if rule["method"] == "mean":
        mean = Fraction(sum(int(answers[i]) for i in needed), len(needed))
        return round(float(mean), int(rule["places"]))
    if rule["method"] == "value":
        return int(answers[needed[0]])
    raise ValueError(f"unknown scoring method {rule['method']!r}")


# -- when a questionnaire is due ---------------------------------------------------------------------


def is_due(
    ident: str,
    today: date,
    last_answered: date | None,
    treatment_start: date | None,
    appointment_days: Iterable[date] = (),
) -> bool:
    """Say whether an instrument is due for a patient on their local ``today``.

    PEG: every 7 days (due when never answered, or last answered 7 or more days ago).
    PGIC: only once treatment has started (the first regimen step on or before today);
    then every 7 days, and also in the 3 days before an appointment unless already
    answered within those days.
    """
    instrument = INSTRUMENTS[ident]
    if instrument.get("starts") == "treatment" and (treatment_start is None or treatment_start > today):
        return False
    interval = int(instrument["interval_days"])
    if last_answered is None or (today - last_answered).days >= interval:
        return True
    before = instrument.get("before_appointment_days")
    if before:
        for visit in appointment_days:
            window_start = visit - timedelta(days=int(before))
            if window_start <= today < visit and last_answered < window_start:
                return True
    return False
