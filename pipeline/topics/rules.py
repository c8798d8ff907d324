"""Topic rules over a document's alias hits: all/any/none, near, same-sentence, substantive.

:mod:`pipeline.topics.matcher` finds where each alias fires (one automaton pass) and hands the
hits here; these functions decide which topics' rules are true and which hits are the evidence.
"""

from __future__ import annotations

import bisect
import re

from pipeline.text.normalize import Token
from pipeline.topics.compile import CCond, CGroup, CNear, CTerms, CTopic
from pipeline.topics.passages import sentence_spans

FIELDS = ("title", "text")
# (alias id, field index, first word, last word)
Hit = tuple[int, int, int, int]
# Pairs one near condition keeps as evidence: plenty for the terms and the 1-3 passages shown,
# and a bound on the work a hostile page repeating the words can cause.
MAX_NEAR_PAIRS = 50
# Substantive mention (topics with ``substantive: true``): a mention in the title, in the
# lead (the first LEAD_SENTENCES sentences of the text, or its first LEAD_CHARS characters:
# wire copy often opens with a dateline "sentence"), or in at least SUBSTANTIVE_SENTENCES
# sentences. A topic named once deep inside an unrelated text is only mentioned in passing.
LEAD_SENTENCES = 2
LEAD_CHARS = 300
# ...but a "sentence" that runs on for this long is a paragraph the splitter could not cut.
LEAD_MAX_CHARS = 600
SUBSTANTIVE_SENTENCES = 2


class Doc:
    """The fields of one document and, computed on first use, the sentence of each word."""

    def __init__(self, fields: list[str], toks: list[list[Token]]) -> None:
        self.fields = fields
        self.toks = toks
        self.spans: dict[str, list[tuple[int, int]]] = {}  # shared with passages.choose
        self._word_sentence: list[list[int] | None] = [None] * len(fields)

    def sentence(self, hit: Hit) -> tuple[int, int]:
        """(field, sentence index) of a hit's first word."""
        f = hit[1]
        index = self._word_sentence[f]
        if index is None:
            name = FIELDS[f]
            if name not in self.spans:
                self.spans[name] = sentence_spans(self.fields[f])
            starts = [s for s, _ in self.spans[name]]
            index = [max(0, bisect.bisect_right(starts, t.start) - 1) for t in self.toks[f]]
            self._word_sentence[f] = index
        return f, index[hit[2]]

    def substantive(self, anchors: list[Hit]) -> bool:
        """True when the anchor hits make the topic the subject, not a passing mention.

        Substantive: a hit in the title or the lead, hits in several sentences, or one
        sentence holding several distinct hits (a sentence with content) that is not an
        item of a numbered or bulleted list.
        """
        places: dict[int, set[tuple[int, int]]] = {}
        for hit in anchors:
            f, i = self.sentence(hit)
            start = self.toks[f][hit[2]].start
            if f == 0 or start < LEAD_CHARS or (i < LEAD_SENTENCES and start < LEAD_MAX_CHARS):
                return True
            places.setdefault(i, set()).add((hit[2], hit[3]))
        if len(places) >= SUBSTANTIVE_SENTENCES:
            return True
        return any(_distinct(spans) >= 2 and not self._list_item(i) for i, spans in places.items())

    def _list_item(self, i: int) -> bool:
        """True when text sentence ``i`` opens a line with a list marker ("3.", "-", "•")."""
        text = self.fields[1]
        start = self.spans["text"][i][0]
        line = text[text.rfind("\n", 0, start) + 1 : start]
        return bool(_LIST_MARK.fullmatch(line)) or bool(_LIST_MARK.match(text, start))


# A list marker at the start of a line: "3.", "3)", "-", "*", "•", "–".
_LIST_MARK = re.compile(r"\s*(?:\d{1,3}[.)]|[-*•·–])\s*")


def _distinct(spans: set[tuple[int, int]]) -> int:
    """Number of non-overlapping word spans (one place firing several aliases is one)."""
    count, reach = 0, -1
    for first, last in sorted(spans):
        if first > reach:
            count += 1
        reach = max(reach, last)
    return count


def evaluate(topic: CTopic, hits: dict[int, list[Hit]], doc: Doc) -> list[Hit] | None:
    """The hits that make the topic's rule true, or None when it does not match."""
    evidence: list[Hit] = []
    for cond in topic.all:
        got = _cond(cond, hits, doc)
        if got is None:
            return None
        evidence.extend(got)
    if topic.any:
        fired = [got for got in (_cond(c, hits, doc) for c in topic.any) if got is not None]
        if not fired:
            return None
        for got in fired:
            evidence.extend(got)
    for cond in topic.none:
        if _cond(cond, hits, doc) is not None:
            return None
    return evidence


def _cond(cond: CCond, hits: dict[int, list[Hit]], doc: Doc) -> list[Hit] | None:
    """Evaluate one condition: its supporting hits (maybe []) or None when false."""
    if isinstance(cond, CTerms):
        found = [h for a in cond.aliases for h in hits.get(a, ())]
        return found if len(found) >= cond.at_least else None
    if isinstance(cond, CNear):
        return _near(cond, hits)
    if cond.kind == "sentence":
        return _sentence(cond, hits, doc)
    return _group(cond, hits, doc)


def _sentence(cond: CGroup, hits: dict[int, list[Hit]], doc: Doc) -> list[Hit] | None:
    """Every child true inside one sentence; the evidence of every sentence where they are."""
    by_sentence: dict[tuple[int, int], dict[int, list[Hit]]] = {}
    for aid in cond.every:
        for h in hits.get(aid, ()):
            by_sentence.setdefault(doc.sentence(h), {}).setdefault(aid, []).append(h)
    found: list[Hit] = []
    for key in sorted(by_sentence):
        got = _group(CGroup("all", cond.children), by_sentence[key], doc)
        if got is not None:
            found.extend(got)
    return found or None


def _near(cond: CNear, hits: dict[int, list[Hit]]) -> list[Hit] | None:
    """Pairs of a/b hits in the same field with at most ``within`` words between them.

    Each a-hit looks only at the b-hits that start close enough (a bisect on sorted starts),
    and at most :data:`MAX_NEAR_PAIRS` pairs are kept as evidence, so a page that repeats the
    words thousands of times costs time linear in its hits, not quadratic.
    """
    a_hits = [h for a in cond.a for h in hits.get(a, ())]
    if not a_hits:
        return None
    by_field: dict[int, list[Hit]] = {}
    for b in cond.b:
        for hb in hits.get(b, ()):
            by_field.setdefault(hb[1], []).append(hb)
    if not by_field:
        return None
    starts: dict[int, list[int]] = {}
    longest: dict[int, int] = {}
    for f, found_b in by_field.items():
        found_b.sort(key=lambda h: h[2])
        starts[f] = [h[2] for h in found_b]
        longest[f] = max(h[3] - h[2] for h in found_b)
    found: list[Hit] = []
    for ha in a_hits:
        b_hits = by_field.get(ha[1])
        if b_hits is None:
            continue
        # A b-hit before ha ends at most `within` words before it (and is at most `longest`
        # words long); one after it starts at most `within` words after it.
        lo = bisect.bisect_left(starts[ha[1]], ha[2] - cond.within - 1 - longest[ha[1]])
        hi = bisect.bisect_right(starts[ha[1]], ha[3] + cond.within + 1)
        for hb in b_hits[lo:hi]:
            if hb[2] > ha[3]:
                gap = hb[2] - ha[3] - 1
            elif ha[2] > hb[3]:
                gap = ha[2] - hb[3] - 1
            else:
                continue  # overlapping words are one mention, not two near each other
            if gap <= cond.within:
                found.extend((ha, hb))
                if len(found) >= 2 * MAX_NEAR_PAIRS:
                    return found
    return found or None


def _group(cond: CGroup, hits: dict[int, list[Hit]], doc: Doc) -> list[Hit] | None:
    """any / all / none over child conditions."""
    results = [_cond(c, hits, doc) for c in cond.children]
    if cond.kind == "none":
        return [] if all(r is None for r in results) else None
    if cond.kind == "all" and any(r is None for r in results):
        return None
    fired = [r for r in results if r is not None]
    if not fired:
        return None
    return [h for r in fired for h in r]
