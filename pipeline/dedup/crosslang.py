"""Cross-language linking: a translation or a re-report joins the story of its source.

Shingles cannot meet across scripts, so versions of one statement in other languages are
linked on language-independent evidence, as the Europe Media Monitor links its
per-language clusters:

- *names*: capitalised words that do not open a sentence, reduced to the first
  NAME_PREFIX letters of the matching normaliser's transliteration key (Zangezur,
  Зангезур, Զանգեզուր, Zəngəzur share one key; the prefix absorbs case endings);
- *numbers* written with digits (19 000 = 19,000 = 19000);
- *dates* read in every language (9 ноября 2020 = November 9, 2020 = 9 նոյեմբերի 2020);
- *concepts*: a small bilingual word list of our own (ceasefire, border, condolences...),
  so that two statements with the same names on different subjects differ.

The feature set gets a MinHash; its 2-row bands (``xl_bands``) are looked up with the
day of arrival within XL_WINDOW_DAYS, so the lookup is one indexed
range per band whatever the size of the archive. A candidate is a version when the
languages differ, the feature sets agree (:func:`related`), no date conflicts and, when
both carry a publication time, they came out within XL_HOURS of each other. Versions in
the same language are left to the shingle verification, which sees their words.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, Literal

from pipeline.dedup import attribution, sketch
from pipeline.dedup.lexicon import COMMON_NAMES, CONCEPTS, LEADERS, MONTHS
from pipeline.text.normalize import WORD, word_key

# First letters of a name's key: long enough to keep names apart, short enough to
# absorb case endings (Зангезурского, Զանգեզուրի) and spelling drift in the tail.
NAME_PREFIX = 5
# Rows per band of the feature MinHash: translations share 15-50 % of their features,
# so bands must be short (J=0.15 -> 0.80 per pair, 0.25 -> 0.99 with 72 bands).
XL_ROWS = 2
XL_BANDS = sketch.NUM_PERM // XL_ROWS
# Share of the union two versions must have in common, and how many features at least.
# On crosslang-dev (scripts/eval_dedup.py --crosslang) translations share >= 0.13 in 95 %
# of pairs, different articles of the same weeks share <= 0.12. Raised from 0.16 to 0.19 once
# the bilingual concept list grew: unrelated same-day texts dense in names and everyday
# diplomatic concepts (the synthetic corpus) reached 0.16-0.18; crosslang-dev recall 0.96 -> 0.95.
XL_JACCARD = 0.19
XL_MIN_SHARED = 4
# Shared names, numbers or dates beyond the region's everyday names and the subjects.
XL_MIN_DISTINCTIVE = 2
# Fewer features than this carry too little evidence to link anything.
XL_MIN_FEATURES = 5
# A ministry publishes its language versions within hours, an agency re-reports within a
# day: dated versions further apart than this are different statements.
XL_HOURS = 36
# One publisher puts out its language versions of an item within hours (the Kremlin's en/ru
# readouts, a ministry's en/ru/hy pages), and its versions agree on their subjects.
XL_PUBLISHER_HOURS = 6
XL_PUBLISHER_CONCEPTS = 0.5
# A re-report that names its source comes out within a day after the source's document (an
# hour of slack for clocks and pages that print only the day).
XL_ATTRIBUTED_HOURS = 24
XL_ATTRIBUTED_SLACK_HOURS = 1
# The lookup window around the day a document arrived.
XL_WINDOW_DAYS = 3
_BUCKET_MASK = (1 << 63) - 1

_NUMBER = re.compile(r"\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+(?![\d])|\d+(?:[.,]\d+)?")
_THOUSANDS = re.compile(r"[ \u00a0\u202f.,]")
_SENTENCE_END = frozenset(".!?։:;…")

# Weights of the evidence kinds in the weighted Jaccard (distinctive names, numbers and
# dates count fully).
_WEIGHT_COMMON = 0.2
_WEIGHT_CONCEPT = 0.5
_WEIGHT_YEAR = 0.3
_YEAR = re.compile(r"d:(?:19|20)\d\d")


def _fold(text: str) -> str:
    """NFKC and casefold (the script is kept)."""
    return unicodedata.normalize("NFKC", text).casefold()


@cache
def _concept_automaton() -> Any:
    """One Aho-Corasick automaton over every concept's folded stems: one pass per text.

    Each key maps to ``(length, concepts)``; a stem counts where it starts a word.
    """
    import ahocorasick

    table: dict[str, set[str]] = {}
    for concept, stems in CONCEPTS.items():
        for stem in stems:
            table.setdefault(_fold(stem), set()).add(concept)
    automaton = ahocorasick.Automaton()
    for key, concepts in table.items():
        automaton.add_word(key, (len(key), tuple(sorted(concepts))))
    automaton.make_automaton()
    return automaton


def _is_word_char(ch: str) -> bool:
    """What ``\\w`` matches in a str pattern: letters, digits and the underscore."""
    return ch.isalnum() or ch == "_"


def concepts(folded: str) -> set[str]:
    """Concepts whose stems start a word of the folded text."""
    found: set[str] = set()
    for end, (length, names) in _concept_automaton().iter(folded):
        start = end - length + 1
        if start == 0 or not _is_word_char(folded[start - 1]):
            found.update(names)
    return found


_MONTH_STEMS = [(tuple(_fold(s) for s in stems), n) for n, stems in enumerate(MONTHS, start=1)]
_DAY_MONTH = re.compile(r"(?<!\d)(\d{1,2})\s*(?:-?(?:го|ին|i|ci|cı|cu|cü|th|st|nd|rd))?\s+(\w+)")
_MONTH_DAY = re.compile(r"\b(\w+)\s+(\d{1,2})(?!\d)")  # \b: tried at word starts only
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})[./](\d{1,2})[./](?:\d{2}){1,2}(?!\d)")
_ISO_DATE = re.compile(r"(?<!\d)\d{4}-(\d{2})-(\d{2})(?!\d)")
_YEAR_IN = re.compile(r"\d{4}")


@lru_cache(maxsize=1 << 16)
def _month(word: str) -> int | None:
    """The month a (folded) word names, if any; three-letter stems must be the whole word.

    Cached: every "word number" pair of a text is asked about, most words are not months, and
    the same words recur across documents; the stem loop is the costly part of date finding."""
    for stems, number in _MONTH_STEMS:
        for stem in stems:
            if word.startswith(stem) and (len(stem) > 3 or word == stem):
                return number
    return None


def dates(text: str) -> set[str]:
    """Day-and-month mentions ("9-11") in en/ru/hy/az wording and numeric forms."""
    folded = _fold(text)
    found = set()
    for m in _DAY_MONTH.finditer(folded):
        month = _month(m.group(2))
        if month and 1 <= int(m.group(1)) <= 31:
            found.add(f"{int(m.group(1))}-{month}")
    for m in _MONTH_DAY.finditer(folded):
        month = _month(m.group(1))
        if month and 1 <= int(m.group(2)) <= 31:
            found.add(f"{int(m.group(2))}-{month}")
    for m in _NUMERIC_DATE.finditer(folded):
        day, month = int(m.group(1)), int(m.group(2))
        if 1 <= day <= 31 and 1 <= month <= 12:
            found.add(f"{day}-{month}")
    for m in _ISO_DATE.finditer(folded):
        found.add(f"{int(m.group(2))}-{int(m.group(1))}")
    return found


def _without_dates(folded: str) -> str:
    """The folded text with its day-and-month mentions blanked (a numeric date keeps its year).

    The day of "9 November 2020" is a date, not also the number 9: counted twice, one shared
    date would pass for two pieces of distinctive evidence.
    """

    def day_month(m: re.Match[str]) -> str:
        ok = _month(m.group(2)) and 1 <= int(m.group(1)) <= 31
        return " " if ok else m.group(0)

    def month_day(m: re.Match[str]) -> str:
        ok = _month(m.group(1)) and 1 <= int(m.group(2)) <= 31
        return " " if ok else m.group(0)

    def keep_year(m: re.Match[str]) -> str:
        year = _YEAR_IN.search(m.group(0))
        return f" {year.group(0)} " if year else " "

    out = _DAY_MONTH.sub(day_month, folded)
    out = _MONTH_DAY.sub(month_day, out)
    out = _NUMERIC_DATE.sub(keep_year, out)
    return _ISO_DATE.sub(keep_year, out)


def _names(text: str) -> set[str]:
    """Keys of capitalised words that do not open a sentence (names, not grammar)."""
    out = set()
    opens = True
    for chunk in text.split():
        # Most chunks are lower-case words, which can hold no name: no regex for them.
        if not chunk.islower():
            for i, word in enumerate(WORD.findall(chunk)):
                # The first word of a chunk that opens a sentence is grammar, not a name.
                if (i or not opens) and word[:1].isupper() and len(word) >= 3:
                    key = word_key(word)[0]
                    if len(key) >= 3 and not any(c.isdigit() for c in key):
                        out.add("n:" + key[:NAME_PREFIX])
        opens = chunk.rstrip("\"'»”’)]")[-1:] in _SENTENCE_END
    return out


def _numbers(text: str) -> set[str]:
    """Numbers written with digits, thousands separators removed."""
    out = set()
    for m in _NUMBER.finditer(text):
        value = m.group(0)
        grouped = re.fullmatch(r"\d{1,3}(?:\D\d{3})+", value)
        if _THOUSANDS.search(value) and len(value) > 4 and grouped:
            value = _THOUSANDS.sub("", value)
        out.add("d:" + value.replace(",", "."))
    return out


# How the publishers of two documents are tied: one organisation ("publisher"), or one
# names the other's publisher as its source ("attributed").
Tie = Literal["publisher", "attributed"]


@dataclass(frozen=True)
class Evidence:
    """The language-independent features of one document."""

    features: frozenset[str]
    dates: frozenset[str]
    # Organisations the text names (pipeline.dedup.attribution): its sources, as it says.
    named: frozenset[str] = frozenset()


def evidence(title: str, text: str) -> Evidence:
    """Names, numbers, dates and concepts of a document's title and body."""
    body = f"{title}\n{text}"
    folded = _fold(body)
    found = _names(text) | _numbers(_without_dates(folded))
    day_months = dates(body)
    found |= {"t:" + d for d in day_months}
    found |= {"c:" + concept for concept in concepts(folded)}
    return Evidence(frozenset(found), frozenset(day_months), attribution.named(body))


def xl_buckets(ev: Evidence) -> list[int]:
    """One 63-bit bucket per 2-row band of the feature MinHash (empty when too little evidence)."""
    if len(ev.features) < XL_MIN_FEATURES:
        return []
    mh = sketch.signature(sorted(ev.features))
    if mh is None:
        return []
    values = mh.hashvalues.astype("<u4")
    out = []
    for band in range(XL_BANDS):
        chunk = values[band * XL_ROWS : (band + 1) * XL_ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8, person=b"newsmon-xl").digest()
        out.append(int.from_bytes(digest, "big") & _BUCKET_MASK)
    return out


_ARMENIAN = re.compile(r"[\u0531-\u0587]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[a-zA-Z\u00c0-\u024f]")


def script_language(text: str) -> str:
    """hy, ru or az when the script says so, else "latin" or "other" (not told apart)."""
    sample = text[:2000]
    counts = {
        "hy": len(_ARMENIAN.findall(sample)),
        "ru": len(_CYRILLIC.findall(sample)),
        "latin": len(_LATIN.findall(sample)),
    }
    best = max(counts, key=lambda k: counts[k])
    if counts[best] == 0:
        return "other"  # another script (Arabic, Georgian...): never "the same as" these
    if best == "latin" and "ə" in sample.casefold():
        return "az"
    return best


def base_language(code: str | None, text: str) -> str:
    """The declared language's base code ("ru-RU" -> "ru"), else the script's guess."""
    if code:
        return code.split("-")[0].split("_")[0].casefold()
    return script_language(text)


@cache
def _common_keys() -> frozenset[str]:
    """Name features of :data:`COMMON_NAMES` and :data:`LEADERS`."""
    words = f"{COMMON_NAMES} {LEADERS}".split()
    return frozenset("n:" + word_key(w)[0][:NAME_PREFIX] for w in words if word_key(w)[0])


def weight(feature: str) -> float:
    """How much a shared feature says that two documents are one statement."""
    if feature.startswith("c:"):
        return _WEIGHT_CONCEPT
    if feature in _common_keys():
        return _WEIGHT_COMMON
    if _YEAR.fullmatch(feature):
        return _WEIGHT_YEAR
    return 1.0


def distinctive(feature: str) -> bool:
    """Whether the feature names something particular (a person, a place, a figure, a day)."""
    return weight(feature) == 1.0


@cache
def _leader_keys() -> frozenset[str]:
    """Name features of :data:`LEADERS`."""
    return frozenset("n:" + word_key(w)[0][:NAME_PREFIX] for w in LEADERS.split())


def concept_agreement(a: Evidence, b: Evidence) -> float:
    """Jaccard of the two documents' concepts (0 when either has fewer than two)."""
    ca = {f for f in a.features if f.startswith("c:")}
    cb = {f for f in b.features if f.startswith("c:")}
    if len(ca) < 2 or len(cb) < 2:
        return 0.0
    return len(ca & cb) / len(ca | cb)


def tie_support(a: Evidence, b: Evidence, tie: Tie | None) -> int:
    """How many pieces of distinctive evidence the publishers' tie is worth.

    A re-report naming the publisher of the other document as its source is one. One
    publisher's two documents in two languages within hours are translations when they agree
    on their subjects and name the same leaders: then the tie is worth two, since the names
    a translation shares with its original may all be the region's everyday ones (a Kremlin
    readout of a call with Pashinyan). Two statements of one ministry on one day differ in
    subjects or people, and the tie is worth nothing.
    """
    if tie == "attributed":
        return 1
    if tie == "publisher":
        leaders_a, leaders_b = a.features & _leader_keys(), b.features & _leader_keys()
        # Both must name leaders: naming none is no agreement (two bulletins of one day).
        agree = leaders_a and leaders_a == leaders_b
        if agree and concept_agreement(a, b) >= XL_PUBLISHER_CONCEPTS:
            return 2
    return 0


def related(
    a: Evidence,
    b: Evidence,
    *,
    when_a: datetime | None = None,
    when_b: datetime | None = None,
    tie: Tie | None = None,
) -> float | None:
    """Feature Jaccard when ``a`` and ``b`` are versions of one statement, else None.

    ``tie`` is what the caller knows of the publishers (see :func:`tie_support`); it has
    checked that their times fit it (XL_PUBLISHER_HOURS, XL_ATTRIBUTED_HOURS).
    """
    if len(a.features) < XL_MIN_FEATURES or len(b.features) < XL_MIN_FEATURES:
        return None
    if a.dates and b.dates and not a.dates & b.dates:
        return None  # the readouts of 27 and 29 September
    apart = abs((when_a - when_b).total_seconds()) if when_a and when_b else 0.0
    if apart > XL_HOURS * 3600:
        return None
    common = a.features & b.features
    support = sum(1 for f in common if distinctive(f)) + tie_support(a, b, tie)
    if support < XL_MIN_DISTINCTIVE:
        return None
    union = sum(weight(f) for f in a.features | b.features)
    jaccard = sum(weight(f) for f in common) / union
    if len(common) < XL_MIN_SHARED or jaccard < XL_JACCARD:
        return None
    return jaccard
