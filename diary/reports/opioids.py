"""The opioid screening list (diary/data/opioids.json) as a set of match terms."""

import functools
import json
from pathlib import Path

from diary.reports.analysis import normalize_name

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "opioids.json"


@functools.lru_cache(maxsize=1)
def opioid_terms(path=DATA_FILE):
    """Load the opioid names and their brand names as normalised whole-word terms."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    terms = set()
    for item in data["opioids"]:
        terms.add(normalize_name(item["name"]))
        terms.update(normalize_name(alias) for alias in item["also"])
    terms.discard("")
    return frozenset(terms)
