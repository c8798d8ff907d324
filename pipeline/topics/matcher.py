"""Match a document's title and text against all compiled topics in one automaton pass.

Per field, the words of the ORIGINAL string are turned into a key text
``" <key>/<skeleton> <key>/<skeleton> ... "``. A full-key word pattern is searched as
``" key/"`` (``" key"`` for a stem) and a skeleton pattern as ``"/skel "`` (``"/skel"``),
so every automaton hit starts and ends on word boundaries by construction ("Baku" never
fires inside "Bakuriani"). Hits are mapped back to word indexes, word indexes to the
character spans of the original field, and those to sentences for the passages.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.text.normalize import Token, tokens
from pipeline.topics.compile import Compiled, CTopic, compile_topics
from pipeline.topics.model import TopicDef, TopicsFile, definition, definition_hash
from pipeline.topics.passages import Passage, choose
from pipeline.topics.rules import FIELDS, Doc, Hit, evaluate

# Evidence weights for the score: a mention in the title counts double; repeated
# mentions of one alias add less each and are capped, so one word repeated cannot dominate.
TITLE_WEIGHT = 2.0
REPEAT_WEIGHT = 0.5
ALIAS_CAP = 3.0
# Characters of a title and a text that matching reads. Statements and wire stories run to a
# few thousand characters, long speeches and transcripts to some tens of thousands.
MAX_TITLE_CHARS = 1_000
MAX_TEXT_CHARS = 100_000


@dataclass(frozen=True)
class TopicMatch:
    """One topic a document matched, with the evidence an alert shows."""

    topic: str
    score: float
    terms: list[str]
    passages: list[Passage] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the ``newsmon topics match`` contract."""
        return {
            "topic": self.topic,
            "score": self.score,
            "terms": list(self.terms),
            "passages": [p.to_dict() for p in self.passages],
        }


def key_text(toks: list[Token]) -> tuple[str, list[int]]:
    """The searchable key text of a field and the offset of each word in it."""
    starts: list[int] = []
    parts: list[str] = []
    pos = 0
    for t in toks:
        starts.append(pos)
        part = f" {t.key}/{t.skeleton}"
        parts.append(part)
        pos += len(part)
    parts.append(" ")
    return "".join(parts), starts


@dataclass(frozen=True)
class Precomputed:
    """Matches computed where a document was extracted, with what they were computed from.

    The writer uses them only when its own matcher has the same ``version`` and the document's
    source is the same one; otherwise it matches again.
    """

    version: str
    source: str | None
    source_type: str | None
    results: tuple[TopicMatch, ...]

    def fits(self, version: str, source: str | None, source_type: str | None) -> bool:
        """True when these results are what the given matcher and source would give."""
        return (self.version, self.source, self.source_type) == (version, source, source_type)


class Matcher:
    """All topics of one file, compiled once; :meth:`match` is safe to call concurrently."""

    def __init__(self, cfg: TopicsFile, path: Path | None = None) -> None:
        self.config = cfg
        self.path = path
        # The whole validated file, hashed: equal versions in two processes match alike.
        self.version = hashlib.sha256(cfg.model_dump_json().encode()).hexdigest()[:16]
        self.compiled: Compiled = compile_topics(cfg)
        self.topics: dict[str, TopicDef] = {t.id: t for t in cfg.topics if t.enabled}
        self.definitions = {tid: definition(t, cfg.sets) for tid, t in self.topics.items()}
        self.hashes = {tid: definition_hash(d) for tid, d in self.definitions.items()}

    def _scan(self, text: str, toks: list[Token]) -> dict[int, set[int]]:
        """Word index -> ids of the word patterns that fired on it."""
        fired: dict[int, set[int]] = {}
        if not toks or not self.compiled.patterns:
            return fired
        ktext, starts = key_text(toks)
        for end, (pid, n) in self.compiled.automaton.iter(ktext):
            w = bisect.bisect_right(starts, end - n + 1) - 1
            fired.setdefault(w, set()).add(pid)
        return fired

    def _alias_hits(self, fields: list[str], toks: list[list[Token]]) -> dict[int, list[Hit]]:
        """Alias id -> hits (phrases assembled from consecutive word hits)."""
        hits: dict[int, list[Hit]] = {}
        seen: set[Hit] = set()
        starts = self.compiled.starts
        empty: set[int] = set()
        for f, (text, ftoks) in enumerate(zip(fields, toks, strict=True)):
            fired = self._scan(text, ftoks)
            count = len(ftoks)
            for w in sorted(fired):
                for pid in fired[w]:
                    for v in starts.get(pid, ()):
                        pids = v.pids
                        last = w + len(pids) - 1
                        if last != w and (last >= count or not _follows(pids, fired, w, empty)):
                            continue
                        if v.any_acronym and not all(
                            _upper(text, ftoks[w + k]) for k, acro in enumerate(v.acronyms) if acro
                        ):
                            continue
                        hit = (v.alias, f, w, last)
                        if hit not in seen:
                            seen.add(hit)
                            hits.setdefault(v.alias, []).append(hit)
        return hits

    def match(
        self,
        title: str,
        text: str,
        *,
        language: str | None = None,
        source: str | None = None,
        source_type: str | None = None,
        topics: Collection[str] | None = None,
    ) -> list[TopicMatch]:
        """Topics the document matches, best score first (``topics`` limits which are tried).

        A topic's language/source/source-type filter excludes a document only when the
        document's value is known and outside the filter.
        """
        # Only the start of a very long field is read: the cost per document stays bounded
        # whatever a hostile (or broken) page holds. Passage offsets stay valid: a prefix.
        fields = [(title or "")[:MAX_TITLE_CHARS], (text or "")[:MAX_TEXT_CHARS]]
        toks = [tokens(fields[0]), tokens(fields[1])]
        hits = self._alias_hits(fields, toks)
        candidates: set[int] = set()
        for aid in hits:
            candidates.update(self.compiled.alias_topics.get(aid, ()))
        out: list[TopicMatch] = []
        doc = Doc(fields, toks)
        for ti in sorted(candidates):
            topic = self.compiled.topics[ti]
            if topics is not None and topic.id not in topics:
                continue
            if not _passes(topic, language, source, source_type):
                continue
            evidence = evaluate(topic, hits, doc)
            if evidence is None:
                continue
            if topic.substantive:
                ctx = topic.context_aliases
                anchors = [h for h in evidence if h[0] not in ctx] or evidence
                if not doc.substantive(anchors):
                    continue
            out.append(self._explain(topic, evidence, fields, toks, language, doc.spans))
        out.sort(key=lambda m: (-m.score, m.topic))
        return out

    def precompute(
        self,
        title: str,
        text: str,
        *,
        language: str | None,
        source: str | None,
        source_type: str | None,
    ) -> Precomputed:
        """Every topic's matches, labelled with this matcher's version and the source."""
        found = self.match(title, text, language=language, source=source, source_type=source_type)
        return Precomputed(self.version, source, source_type, tuple(found))

    def _explain(
        self,
        topic: CTopic,
        evidence: list[Hit],
        fields: list[str],
        toks: list[list[Token]],
        language: str | None,
        sentences: dict[str, list[tuple[int, int]]],
    ) -> TopicMatch:
        """Score, fired terms and passages of one match.

        One place in the text can fire several aliases (the same name listed in four
        languages, or "коридор*" inside "Зангезурск* коридор*"): each place is reported
        once, under the longest phrase covering it and, among equals, the alias listed
        for the document's language.
        """
        spans: dict[tuple[int, int, int], list[int]] = {}
        for aid, f, first, last in evidence:
            spans.setdefault((f, first, last), []).append(aid)
        kept: list[tuple[int, int, int]] = []
        field_of, reach = -1, -1
        # Sorted by start, longest first: a place is inside an earlier kept one exactly
        # when it ends before the furthest end reached so far in its field.
        for place in sorted(spans, key=lambda k: (k[0], k[1], -k[2])):
            if place[0] != field_of:
                field_of, reach = place[0], -1
            if place[2] <= reach:
                continue  # inside a longer phrase already reported
            kept.append(place)
            reach = place[2]
        langs = self.compiled.alias_langs
        terms: list[str] = []
        per_alias: dict[str, float] = {}
        cuts: list[tuple[str, int, int]] = []
        for f, first, last in kept:
            options = spans[(f, first, last)]
            aid = (
                options[0]
                if len(options) == 1
                else min(options, key=lambda a: (language not in langs[a], a))
            )
            label = self.compiled.aliases[aid]
            if label not in terms:
                terms.append(label)
            weight = TITLE_WEIGHT if f == 0 else 1.0
            got = per_alias.get(label)
            per_alias[label] = weight if got is None else min(ALIAS_CAP, got + REPEAT_WEIGHT)
            cuts.append((FIELDS[f], toks[f][first].start, toks[f][last].end))
        score = round(1.0 - 0.5 ** sum(per_alias.values()), 3)
        passages = choose({"title": fields[0], "text": fields[1]}, cuts, sentences)
        return TopicMatch(topic.id, score, terms, passages)


def _follows(pids: tuple[int, ...], fired: dict[int, set[int]], w: int, empty: set[int]) -> bool:
    """True when the words after ``w`` fired the rest of a phrase's patterns."""
    return all(pids[k] in fired.get(w + k, empty) for k in range(1, len(pids)))


def _upper(text: str, tok: Token) -> bool:
    """True when the original word is written in capitals (acronym check)."""
    return text[tok.start : tok.end].isupper()


def _passes(t: CTopic, language: str | None, source: str | None, stype: str | None) -> bool:
    """Topic filters: only a known value outside the filter excludes."""
    if t.languages is not None and language and language not in t.languages:
        return False
    if t.sources is not None and source and source not in t.sources:
        return False
    return not (t.source_types is not None and stype and stype not in t.source_types)
