"""The diary's measures: one home for their names, scales and direction.

The entry schema, the report analysis, the CSV, FHIR and the charts all take
the measure list from here, so a measure is added, renamed or re-scaled in one
place.
"""

from dataclasses import dataclass
from typing import Final, Literal

Direction = Literal["lower_is_better", "higher_is_better"]


@dataclass(frozen=True)
class Measure:
    """One diary measure: its API name, label, scale and which way is better."""

    name: str
    label: str
    asks: str  # what the patient rates, as the API documents it
    # None for sleep hours: more sleep is not simply better, so no direction is assumed.
    direction: Direction | None
    low_word: str
    high_word: str
    minimum: int
    maximum: int
    unit: str  # "score" for the 0-10 ratings, "h" for hours
    # The code of the report flag raised when the measure gets clinically worse (named by
    # issue 8, so worst pain's is worst_pain_worsening); None without a direction.
    worsening_flag: str | None = None

    @property
    def description(self) -> str:
        """Return the API description: what is rated and on which scale."""
        return f"{self.asks}, {self.scale}."

    @property
    def scale(self) -> str:
        """Describe the scale in words, as the schema and the charts say it."""
        if self.unit == "h":
            return "hours"
        text = f"{self.minimum} {self.low_word} - {self.maximum} {self.high_word}"
        if self.direction == "lower_is_better":
            return text + "; higher is worse"
        if self.direction == "higher_is_better":
            return text + "; higher is better"
        return text


ALL: Final[tuple[Measure, ...]] = (
    Measure(
        "pain",
        "Pain",
        "Average pain today",
        "lower_is_better",
        "none",
        "worst imaginable",
        0,
        10,
        "score",
        worsening_flag="pain_worsening",
    ),
    Measure(
        "pain_worst",
        "Worst pain",
        "Worst pain today",
        "lower_is_better",
        "none",
        "worst imaginable",
        0,
        10,
        "score",
        worsening_flag="worst_pain_worsening",
    ),
    Measure(
        "fatigue",
        "Fatigue",
        "Fatigue today",
        "lower_is_better",
        "none",
        "exhausted",
        0,
        10,
        "score",
        worsening_flag="fatigue_worsening",
    ),
    Measure(
        "mood",
        "Mood",
        "Mood today",
        "higher_is_better",
        "very low",
        "very good",
        0,
        10,
        "score",
        worsening_flag="mood_worsening",
    ),
    Measure(
        "sleep_quality",
        "Sleep quality",
        "Last night's sleep quality",
        "higher_is_better",
        "very poor",
        "very good",
        0,
        10,
        "score",
        worsening_flag="sleep_quality_worsening",
    ),
    Measure(
        "function",
        "Function",
        "Daily function today",
        "higher_is_better",
        "unable",
        "fully able",
        0,
        10,
        "score",
        worsening_flag="function_worsening",
    ),
    Measure("sleep_hours", "Sleep (hours)", "Hours slept last night", None, "", "", 0, 24, "h"),
)
BY_NAME: Final[dict[str, Measure]] = {m.name: m for m in ALL}
MEASURES: Final[tuple[str, ...]] = tuple(m.name for m in ALL)
# The 0-10 self-ratings (stored as integers); sleep hours is the one measure in hours.
SCORES: Final[tuple[str, ...]] = tuple(m.name for m in ALL if m.unit == "score")
# Measures whose change has a good and a bad direction, so the report can classify it.
DIRECTED: Final[tuple[str, ...]] = tuple(m.name for m in ALL if m.direction is not None)
DIRECTIONS: Final[dict[str, Direction | None]] = {m.name: m.direction for m in ALL}
WORSENING_FLAGS: Final[tuple[str, ...]] = tuple(m.worsening_flag for m in ALL if m.worsening_flag)
