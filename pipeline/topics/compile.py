"""Compile validated topics into one Aho-Corasick automaton plus small rule trees.

Every distinct word pattern of every alias of every topic becomes one automaton key, so
a document is scanned once whatever the number of topics; rules are then evaluated
only for topics one of whose aliases fired (see matcher.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import ahocorasick

from pipeline.topics.model import Condition, Near, TermsSpec, TopicDef, TopicsFile
from pipeline.topics.terms import WordPattern, parse_alias


@dataclass(frozen=True, slots=True)
class Variant:
    """One spelled-out form of an alias: its word patterns as automaton ids."""

    alias: int
    pids: tuple[int, ...]
    acronyms: tuple[bool, ...]
    any_acronym: bool


@dataclass(frozen=True, slots=True)
class CTerms:
    """Fires when the aliases have at least ``at_least`` hits."""

    aliases: tuple[int, ...]
    at_least: int = 1


@dataclass(frozen=True, slots=True)
class CNear:
    """Fires when an ``a`` hit and a ``b`` hit are at most ``within`` words apart."""

    a: tuple[int, ...]
    b: tuple[int, ...]
    within: int


@dataclass(frozen=True, slots=True)
class CGroup:
    """``any``/``all``/``none`` of the children, or all of them inside one ``sentence``."""

    kind: str
    children: tuple[CCond, ...]
    # For ``sentence``: every alias below, negated ones included (hits are split by sentence).
    every: frozenset[int] = frozenset()


CCond = CTerms | CNear | CGroup


@dataclass(frozen=True, slots=True)
class CTopic:
    """A topic ready to evaluate."""

    id: str
    name: str
    any: tuple[CCond, ...]
    all: tuple[CCond, ...]
    none: tuple[CCond, ...]
    languages: frozenset[str] | None
    sources: frozenset[str] | None
    source_types: frozenset[str] | None
    substantive: bool = False
    # Aliases that only ever serve as context in this topic (never anchor a mention).
    context_aliases: frozenset[int] = frozenset()


@dataclass
class Compiled:
    """Everything the matcher needs, built once per topics file."""

    automaton: ahocorasick.Automaton
    patterns: list[WordPattern] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)  # alias id -> the alias as written
    alias_langs: list[frozenset[str]] = field(default_factory=list)  # languages it is listed in
    # First word pattern id -> variants starting with it.
    starts: dict[int, list[Variant]] = field(default_factory=dict)
    topics: list[CTopic] = field(default_factory=list)
    # Alias id -> indexes of topics where it can make a rule true (any/all, not none).
    alias_topics: dict[int, list[int]] = field(default_factory=dict)


class _Builder:
    """Accumulates patterns and aliases while walking the topics."""

    def __init__(self, sets: dict[str, dict[str, list[str]]]) -> None:
        self.sets = sets
        self.pattern_ids: dict[WordPattern, int] = {}
        self.patterns: list[WordPattern] = []
        self.alias_ids: dict[str, int] = {}
        self.aliases: list[str] = []
        self.alias_langs: list[set[str]] = []
        self.starts: dict[int, list[Variant]] = defaultdict(list)
        self.spec_cache: dict[str, tuple[int, ...]] = {}

    def pattern(self, pat: WordPattern) -> int:
        """Id of a word pattern (acronym-ness is checked per variant, not in the key)."""
        plain = WordPattern(pat.mode, pat.text, pat.stem, False)
        pid = self.pattern_ids.get(plain)
        if pid is None:
            pid = self.pattern_ids[plain] = len(self.patterns)
            self.patterns.append(plain)
        return pid

    def alias(self, text: str, lang: str) -> int:
        """Id of an alias, registering its variants on first sight."""
        aid = self.alias_ids.get(text)
        if aid is not None:
            self.alias_langs[aid].add(lang)
            return aid
        aid = self.alias_ids[text] = len(self.aliases)
        self.aliases.append(text)
        self.alias_langs.append({lang})
        for words in parse_alias(text):
            acronyms = tuple(w.acronym for w in words)
            variant = Variant(aid, tuple(self.pattern(w) for w in words), acronyms, any(acronyms))
            self.starts[variant.pids[0]].append(variant)
        return aid

    def spec(self, spec: TermsSpec) -> tuple[int, ...]:
        """Alias ids of inline terms or a named set."""
        if isinstance(spec, str):
            if spec not in self.spec_cache:
                self.spec_cache[spec] = self.spec(self.sets[spec])
            return self.spec_cache[spec]
        ids: list[int] = []
        for lang, aliases in spec.items():
            for alias in aliases:
                aid = self.alias(alias, lang)
                if aid not in ids:
                    ids.append(aid)
        return tuple(ids)

    def cond(self, cond: Condition, context: set[int] | None = None) -> CCond:
        """Compile one condition; aliases of ``context: true`` conditions go to ``context``."""
        compiled = self._cond(cond, context)
        if cond.context and context is not None:
            positive_aliases(compiled, context)
        return compiled

    def _cond(self, cond: Condition, context: set[int] | None) -> CCond:
        """Compile one condition of any kind."""
        kind = cond.kind
        if kind == "terms":
            assert cond.terms is not None
            return CTerms(self.spec(cond.terms), cond.at_least)
        if kind == "near":
            near: Near = cond.near  # type: ignore[assignment]
            return CNear(self.spec(near.a), self.spec(near.b), near.within)
        children: list[Condition] = getattr(cond, kind)
        compiled = tuple(self.cond(c, context) for c in children)
        every = frozenset(_every_alias(compiled)) if kind == "sentence" else frozenset()
        return CGroup(kind, compiled, every)


def _every_alias(conds: tuple[CCond, ...]) -> set[int]:
    """Every alias under the conditions, negated ones included."""
    out: set[int] = set()
    for cond in conds:
        if isinstance(cond, CTerms):
            out.update(cond.aliases)
        elif isinstance(cond, CNear):
            out.update(cond.a)
            out.update(cond.b)
        else:
            out |= _every_alias(cond.children)
    return out


def positive_aliases(cond: CCond, out: set[int], *, negated: bool = False) -> None:
    """Aliases whose hits can help make ``cond`` true (skips anything under ``none``)."""
    if isinstance(cond, CTerms):
        if not negated:
            out.update(cond.aliases)
    elif isinstance(cond, CNear):
        if not negated:
            out.update(cond.a)
            out.update(cond.b)
    else:
        for child in cond.children:
            positive_aliases(child, out, negated=negated or cond.kind == "none")


def compile_topics(cfg: TopicsFile) -> Compiled:
    """Build the automaton and the rule trees for the enabled topics of ``cfg``."""
    b = _Builder(cfg.sets)
    topics: list[CTopic] = []
    alias_topics: dict[int, list[int]] = defaultdict(list)
    for t in (t for t in cfg.topics if t.enabled):
        ct = _topic(b, t)
        positive: set[int] = set()
        for c in (*ct.any, *ct.all):
            positive_aliases(c, positive)
        for aid in positive:
            alias_topics[aid].append(len(topics))
        topics.append(ct)
    automaton = ahocorasick.Automaton()
    for pid, pat in enumerate(b.patterns):
        automaton.add_word(pat.needle, (pid, len(pat.needle)))
    if b.patterns:
        automaton.make_automaton()
    return Compiled(
        automaton=automaton,
        patterns=b.patterns,
        aliases=b.aliases,
        alias_langs=[frozenset(x) for x in b.alias_langs],
        starts=dict(b.starts),
        topics=topics,
        alias_topics=dict(alias_topics),
    )


def _anchor_aliases(cond: Condition, b: _Builder, out: set[int]) -> None:
    """Aliases of the positive, non-context conditions under ``cond``."""
    if cond.context:
        return
    compiled = b._cond(cond, None)
    if isinstance(compiled, CGroup):
        if compiled.kind == "none":
            return
        for child in getattr(cond, cond.kind):
            _anchor_aliases(child, b, out)
    else:
        positive_aliases(compiled, out)


def _topic(b: _Builder, t: TopicDef) -> CTopic:
    """Compile one topic."""
    context: set[int] = set()
    anchors: set[int] = set()
    for c in (*t.any, *t.all):
        _anchor_aliases(c, b, anchors)
    return CTopic(
        id=t.id,
        name=t.name,
        any=tuple(b.cond(c, context) for c in t.any),
        all=tuple(b.cond(c, context) for c in t.all),
        none=tuple(b.cond(c) for c in t.none),
        languages=frozenset(t.languages) if t.languages else None,
        sources=frozenset(t.sources) if t.sources else None,
        source_types=frozenset(t.source_types) if t.source_types else None,
        substantive=t.substantive,
        context_aliases=frozenset(context - anchors),
    )
