"""Cut explanation passages (the sentences around hits) out of the original title or text."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

# Sentence ends: . ! ? … and the Armenian full stop ։ (U+0589) or the one-dot leader ․
# (U+2024) that Armenian machine translation leaves in English text; closing quotes and
# brackets stay with their sentence. A line break always ends a sentence.
_END = re.compile(
    r"[.!?…։․。](?:[\"'»”’)\]]+)?\s+|\s*\n\s*"
    # Scraped copy often loses the space between sentences ("relations.Academician"):
    # a stop directly followed by a capitalised word still ends a sentence.
    r"|[.!?](?=[A-ZА-ЯЁԱ-Ֆ][a-zа-яёա-ֆ])"
)
# A passage longer than this is cut to a window around its hits (at spaces).
MAX_PASSAGE = 400
MAX_PASSAGES = 3


@dataclass(frozen=True, slots=True)
class Passage:
    """A span of the original field: ``field_text[start:end] == text``."""

    field: str
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the CLI contract."""
        return {"field": self.field, "start": self.start, "end": self.end, "text": self.text}


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, stripped of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _END.finditer(text):
        end = m.start() + len(m.group(0).rstrip())
        _add(text, pos, end, spans)
        pos = m.end()
    _add(text, pos, len(text), spans)
    return spans


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    """Append a stripped non-empty span."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def _window(text: str, start: int, end: int, lo: int, hi: int) -> tuple[int, int]:
    """Shrink a long sentence [start, end) to about MAX_PASSAGE chars around hits [lo, hi)."""
    if end - start <= MAX_PASSAGE:
        return start, end
    pad = max(0, (MAX_PASSAGE - (hi - lo)) // 2)
    a, b = max(start, lo - pad), min(end, hi + pad)
    if a > start:
        space = text.find(" ", a, lo)
        a = space + 1 if space != -1 else a
    if b < end:
        space = text.rfind(" ", hi, b)
        b = space if space != -1 else b
    return a, b


def choose(
    fields: dict[str, str],
    hits: list[tuple[str, int, int]],
    cache: dict[str, list[tuple[int, int]]] | None = None,
    limit: int = MAX_PASSAGES,
) -> list[Passage]:
    """Up to ``limit`` passages: the sentences holding the most hits, in reading order.

    ``hits`` are (field, char_start, char_end) in the original field strings; ``cache``
    keeps each field's sentence spans between calls for the same document.
    """
    spans_of = cache if cache is not None else {}
    for name in {h[0] for h in hits}:
        if name not in spans_of:
            spans_of[name] = sentence_spans(fields[name])
    starts_of = {name: [s for s, _ in spans_of[name]] for name in {h[0] for h in hits}}
    counts: Counter[tuple[str, int]] = Counter()
    ranges: dict[tuple[str, int], tuple[int, int]] = {}
    for name, lo, hi in hits:
        spans = spans_of.get(name)
        if not spans:
            continue
        i = max(0, bisect.bisect_right(starts_of[name], lo) - 1)
        key = (name, i)
        counts[key] += 1
        old = ranges.get(key, (lo, hi))
        ranges[key] = (min(old[0], lo), max(old[1], hi))
    order = {"title": 0, "text": 1}
    best = sorted(counts, key=lambda k: (-counts[k], order.get(k[0], 2), k[1]))[:limit]
    out = []
    for name, i in sorted(best, key=lambda k: (order.get(k[0], 2), k[1])):
        s, e = spans_of[name][i]
        lo, hi = ranges[(name, i)]
        s, e = _window(fields[name], s, e, lo, hi)
        out.append(Passage(name, s, e, fields[name][s:e]))
    return out
