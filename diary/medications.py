"""Medication identity: what a patient or clinician typed -> the substances it holds.

Pure: the vocabulary (``diary/data/medications.json``, with its sources) is read
once; every function takes plain text. Adherence, the opioid check, FHIR and
the dose reminder compare substances resolved here, never strings.
"""

import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

DATA_FILE: Final = Path(__file__).resolve().parent / "data" / "medications.json"
NALTREXONE: Final = "naltrexone"
RXNORM_SYSTEM: Final = "http://www.nlm.nih.gov/research/umls/rxnorm"

# Words, numbers (with a decimal point) and "#" (as in Tylenol #3).
_TOKEN_RE: Final = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+|#")
# Commas, semicolons and line breaks end a phrase: "Tylenol, 3 times daily" is not Tylenol #3.
_PHRASE_RE: Final = re.compile(r"[,;\n\r]+")
_DECIMAL_COMMA_RE: Final = re.compile(r"(?<=\d),(?=\d)")


@dataclass(frozen=True)
class Substance:
    """One substance of the vocabulary."""

    name: str
    opioid: bool
    kind: str
    rxnorm: str | None
    atc: str | None


@dataclass(frozen=True)
class Vocabulary:
    """The loaded vocabulary: names as token tuples -> substance names, and the matching words."""

    substances: dict[str, Substance]
    names: dict[tuple[str, ...], frozenset[str]]
    longest: int
    negations_before: frozenset[str]
    negations_after: frozenset[str]
    count_words: frozenset[str]


@dataclass(frozen=True)
class Resolved:
    """A medication as written and the substances it resolved to (empty: unrecognised)."""

    text: str
    substances: frozenset[str]

    @property
    def recognised(self) -> bool:
        """Say whether any substance was found."""
        return bool(self.substances)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def phrases(text: str) -> list[list[str]]:
    """Cut text into phrases of lower-case, accent-free words and numbers."""
    folded = _DECIMAL_COMMA_RE.sub(".", _fold(text))
    out = []
    for phrase in _PHRASE_RE.split(folded):
        tokens = _TOKEN_RE.findall(phrase)
        if tokens:
            out.append(tokens)
    return out


def _name_tokens(name: str) -> tuple[str, ...]:
    return tuple(token for phrase in phrases(name) for token in phrase)


def build_vocabulary(data: dict[str, Any]) -> Vocabulary:
    """Build a vocabulary from the parsed data file."""
    substances: dict[str, Substance] = {}
    names: dict[tuple[str, ...], frozenset[str]] = {}

    def add(name: str, contains: frozenset[str]) -> None:
        key = _name_tokens(name)
        if not key:
            raise ValueError(f"medication name {name!r} has no words")
        if key in names and names[key] != contains:
            raise ValueError(f"medication name {name!r} is listed twice with different substances")
        names[key] = contains

    for item in data["substances"]:
        substance = Substance(item["name"], bool(item["opioid"]), item["kind"], item["rxnorm"], item["atc"])
        substances[substance.name] = substance
        for name in [item["name"], *item["names"]]:
            add(name, frozenset([substance.name]))
    for product in data["products"]:
        contains = frozenset(product["contains"])
        unknown = contains - substances.keys()
        if unknown:
            raise ValueError(f"product names unknown substances {sorted(unknown)}")
        for name in product["names"]:
            add(name, contains)
    matching = data["matching"]
    return Vocabulary(
        substances=substances,
        names=names,
        longest=max(len(key) for key in names),
        negations_before=frozenset(matching["negations_before"]),
        negations_after=frozenset(matching["negations_after"]),
        count_words=frozenset(matching["count_words"]),
    )


@functools.lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """Load the packaged vocabulary once."""
    return build_vocabulary(json.loads(DATA_FILE.read_text(encoding="utf-8")))


def _is_number(token: str) -> bool:
    return token[0].isdigit()


def _match_at(tokens: Sequence[str], i: int, vocab: Vocabulary) -> tuple[int, frozenset[str]] | None:
    for k in range(min(vocab.longest, len(tokens) - i), 0, -1):
        key = tuple(tokens[i : i + k])
        found = vocab.names.get(key)
        if found is None:
            continue
        after = tokens[i + k] if i + k < len(tokens) else None
        # "Tylenol 3 times daily": the number is a count, so try the shorter name
        # ("Tylenol #3" and "Tylenol No. 3" say outright that the number is part of the name).
        bare_number = k > 1 and _is_number(key[-1]) and key[-2] not in ("#", "no") and not _is_number(key[-2])
        if bare_number and after in vocab.count_words:
            continue
        return k, found
    return None


def _resolve_tokens(tokens: Sequence[str], vocab: Vocabulary) -> set[str]:
    found: set[str] = set()
    i = 0
    while i < len(tokens):
        match = _match_at(tokens, i, vocab)
        if match is None:
            i += 1
            continue
        length, substances = match
        before = tokens[i - 1] if i else None
        after = tokens[i + length] if i + length < len(tokens) else None
        if before not in vocab.negations_before and after not in vocab.negations_after:
            found |= substances
        i += length
    return found


@functools.lru_cache(maxsize=4096)
def resolve(text: str | None) -> Resolved:
    """Resolve a medication as written to the substances it holds."""
    vocab = vocabulary()
    found: set[str] = set()
    for tokens in phrases(text or ""):
        found |= _resolve_tokens(tokens, vocab)
    return Resolved(text or "", frozenset(found))


def substance(name: str) -> Substance:
    """Return a substance of the vocabulary by name."""
    return vocabulary().substances[name]


def opioids_in(resolved: Resolved) -> list[str]:
    """Return the opioid substances a resolved medication holds, sorted."""
    substances = vocabulary().substances
    return sorted(s for s in resolved.substances if substances[s].opioid)


def is_opioid(text: str | None) -> bool:
    """Say whether a medication as written holds an opioid."""
    return bool(opioids_in(resolve(text)))


@functools.lru_cache(maxsize=4096)
def words(text: str | None) -> str:
    """Return a name's folded words and numbers, single-spaced (how two spellings compare)."""
    return " ".join(token for phrase in phrases(text or "") for token in phrase)


@functools.lru_cache(maxsize=4096)
def identity(text: str | None) -> frozenset[str] | str:
    """Return what two medications must share to be the same: their substances, else their folded words.

    An unrecognised name falls back to its own words, so a medication missing
    from the vocabulary still matches itself however it is capitalised.
    """
    resolved = resolve(text)
    if resolved.recognised:
        return resolved.substances
    return words(text)


def same_medication(a: str | None, b: str | None) -> bool:
    """Say whether two medications as written are the same medication."""
    return identity(a) == identity(b)


def rxnorm_codings(resolved: Resolved) -> list[dict[str, str]]:
    """Return FHIR codings (RxNorm ingredient codes) for the substances that have one."""
    substances = vocabulary().substances
    return [
        {"system": RXNORM_SYSTEM, "code": code, "display": name}
        for name in sorted(resolved.substances)
        if (code := substances[name].rxnorm) is not None
    ]


def unrecognised(texts: Iterable[str | None]) -> list[str]:
    """Return the texts that resolve to no substance, as written, first spelling of each kept."""
    seen: set[str] = set()
    out = []
    for text in texts:
        if not text or resolve(text).recognised:
            continue
        key = words(text) or text.strip()
        if key not in seen:
            seen.add(key)
            out.append(text)
    return out
